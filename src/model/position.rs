//! A validated WGS-84 position and the provenance every feature carries.

use super::Shared;
use std::fmt;
use std::str::FromStr;

/// Why a pair of numbers is not a WGS-84 position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoordError {
    /// NaN or infinite.
    #[error("{axis} must be a finite number")]
    NotFinite {
        /// `lon` or `lat`.
        axis: &'static str,
    },
    /// Latitude beyond ±90°; when the longitude would be a valid latitude the pair was likely swapped.
    #[error("latitude {lat} is outside -90..90{}", if *.swapped { " (longitude and latitude look swapped: GeoJSON order is [lon, lat])" } else { "" })]
    LatOutOfRange {
        /// The latitude given.
        lat: f64,
        /// Whether swapping the pair would make it valid.
        swapped: bool,
    },
    /// Longitude beyond ±180°.
    #[error("longitude {lon} is outside -180..180")]
    LonOutOfRange {
        /// The longitude given.
        lon: f64,
    },
}

impl CoordError {
    /// The coordinate at fault: `lon` or `lat`.
    pub fn axis(&self) -> &'static str {
        match self {
            CoordError::NotFinite { axis } => axis,
            CoordError::LatOutOfRange { .. } => "lat",
            CoordError::LonOutOfRange { .. } => "lon",
        }
    }
}

/// A WGS-84 position in degrees: finite, latitude in [-90, 90], longitude in [-180, 180].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

impl LonLat {
    /// Validates a longitude/latitude pair.
    pub fn new(lon: f64, lat: f64) -> Result<Self, CoordError> {
        if !lon.is_finite() {
            return Err(CoordError::NotFinite { axis: "lon" });
        }
        if !lat.is_finite() {
            return Err(CoordError::NotFinite { axis: "lat" });
        }
        if !(-90.0..=90.0).contains(&lat) {
            let swapped = (-90.0..=90.0).contains(&lon) && (-180.0..=180.0).contains(&lat);
            return Err(CoordError::LatOutOfRange { lat, swapped });
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(CoordError::LonOutOfRange { lon });
        }
        Ok(LonLat { lon, lat })
    }
    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }
    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }
}

/// How exact a feature's position is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PositionAccuracy {
    /// Measured on site.
    Surveyed,
    /// Geocoded from a street address.
    Address,
    /// Somewhere in the named district.
    District,
    /// A rough placement (all generated data, and places whose reports give no coordinates).
    Approximate,
}

impl PositionAccuracy {
    /// Every accuracy, most exact first.
    pub const ALL: [PositionAccuracy; 4] = [
        PositionAccuracy::Surveyed,
        PositionAccuracy::Address,
        PositionAccuracy::District,
        PositionAccuracy::Approximate,
    ];

    /// The names in the data and the API, in the order of [`PositionAccuracy::ALL`].
    pub const IDS: [&'static str; 4] = ["surveyed", "address", "district", "approximate"];

    /// The name in the data and the API.
    pub fn id(self) -> &'static str {
        Self::IDS[self as usize]
    }
}

impl FromStr for PositionAccuracy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.id() == s)
            .ok_or_else(|| format!("unknown position_accuracy '{s}' ({})", Self::IDS.join(", ")))
    }
}

impl fmt::Display for PositionAccuracy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Where a feature came from: every feature has one, so a planner never mistakes a
/// generated park for a real one. Strings repeat across features, so they are shared.
#[derive(Clone, Debug, PartialEq)]
pub struct Provenance {
    /// The report, import file or edit the feature comes from.
    pub source: Shared,
    /// How exact the position is.
    pub position_accuracy: PositionAccuracy,
    /// Generated demo data.
    pub synthetic: bool,
    /// When the record was last updated (`YYYY-MM-DD`).
    pub updated: Option<Shared>,
    /// Free-text notes (the reported facts).
    pub notes: Option<Box<str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_globe_and_rejects_the_rest() {
        assert!(LonLat::new(180.0, -90.0).is_ok());
        assert!(LonLat::new(-180.0, 90.0).is_ok());
        assert_eq!(
            LonLat::new(f64::NAN, 0.0),
            Err(CoordError::NotFinite { axis: "lon" })
        );
        assert_eq!(
            LonLat::new(0.0, f64::INFINITY),
            Err(CoordError::NotFinite { axis: "lat" })
        );
        assert_eq!(
            LonLat::new(181.0, 0.0),
            Err(CoordError::LonOutOfRange { lon: 181.0 })
        );
    }

    #[test]
    fn swapped_pair_is_named() {
        // Beijing written [lat, lon]: 116 is no latitude, and 39.9 would be a fine one.
        let err = LonLat::new(39.9, 116.4).unwrap_err();
        assert_eq!(
            err,
            CoordError::LatOutOfRange {
                lat: 116.4,
                swapped: true
            }
        );
        assert!(err.to_string().contains("swapped"));
        assert_eq!(err.axis(), "lat");
    }
}
