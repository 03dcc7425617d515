//! The frame a tile set is drawn in: WGS-84 (the stored positions) or GCJ-02 (the
//! frame of Amap's and Tencent's basemaps).
//!
//! A GCJ-02 basemap is WGS-84 shifted by some hundreds of metres in mainland China
//! (the identity outside it). Tiles for it are made from positions shifted the
//! same way *before* the tile index is built, so that selection, clustering and
//! clipping happen where the basemap draws things: a point near a tile edge lands
//! in the tile the basemap puts it in. Only the drawing moves: feature ids still
//! lead to the WGS-84 detail at `/api/v1/features/{id}`.

use std::fmt;
use std::str::FromStr;

use crate::geodata::coords::{self, Crs};
use crate::model::LonLat;

/// The coordinate frame of a tile set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Frame {
    /// WGS-84, as stored (OpenStreetMap-style and Tianditu basemaps).
    #[default]
    Wgs84,
    /// GCJ-02 (Amap, Tencent).
    Gcj02,
}

impl Frame {
    /// Both frames.
    pub const ALL: [Frame; 2] = [Frame::Wgs84, Frame::Gcj02];

    /// The id used in URLs (`?crs=`) and by `/api/v1/config`'s basemap `crs`.
    pub fn id(self) -> &'static str {
        match self {
            Frame::Wgs84 => "wgs84",
            Frame::Gcj02 => "gcj02",
        }
    }

    /// A stored (WGS-84) position in this frame, as (lon, lat).
    pub fn shift(self, p: LonLat) -> (f64, f64) {
        match self {
            Frame::Wgs84 => (p.lon(), p.lat()),
            Frame::Gcj02 => coords::from_wgs84(Crs::Gcj02, p),
        }
    }

    /// A stored (WGS-84) position in this frame, as a position.
    pub fn shift_point(self, p: LonLat) -> LonLat {
        match self {
            Frame::Wgs84 => p,
            Frame::Gcj02 => {
                let (lon, lat) = self.shift(p);
                LonLat::new(lon, lat).unwrap_or(p)
            }
        }
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Frame {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<Crs>() {
            Ok(Crs::Wgs84) => Ok(Frame::Wgs84),
            Ok(Crs::Gcj02) => Ok(Frame::Gcj02),
            // Baidu's maps use their own projection, not Web Mercator: no tile of
            // ours could line up with them.
            Ok(Crs::Bd09) => Err(
                "tiles are served in wgs84 or gcj02; Baidu's bd09 maps use their own projection"
                    .into(),
            ),
            Err(_) => Err(format!("'{s}' is not a tile frame (wgs84 or gcj02)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_shifts() {
        assert_eq!("gcj02".parse::<Frame>(), Ok(Frame::Gcj02));
        assert_eq!("WGS84".parse::<Frame>(), Ok(Frame::Wgs84));
        assert!("bd09".parse::<Frame>().unwrap_err().contains("bd09"));
        assert!("mars".parse::<Frame>().is_err());
        let beijing = LonLat::new(116.3975, 39.9087).unwrap();
        let (lon, lat) = Frame::Gcj02.shift(beijing);
        // Beijing moves about 0.006° east and 0.0013° north in GCJ-02.
        assert!((lon - beijing.lon() - 0.0062).abs() < 0.001, "{lon}");
        assert!((lat - beijing.lat() - 0.0013).abs() < 0.001, "{lat}");
        assert_eq!(Frame::Wgs84.shift(beijing), (beijing.lon(), beijing.lat()));
        // Outside China the shift is the identity.
        let paris = LonLat::new(2.35, 48.85).unwrap();
        assert_eq!(Frame::Gcj02.shift(paris), (2.35, 48.85));
    }
}
