//! Coverage analyses for union planners: which parks are far from service, where the
//! gaps are on a hex grid, what each facility serves, and where the next ones should go.
//!
//! Every distance is a great-circle distance on the sphere (see [`crate::index::sphere`]),
//! answered by the facility trees of [`Atlas`](crate::index::Atlas); nothing here is
//! measured in degrees.
//!
//! # Layout
//! - this file: the small validated values every analysis takes: [`FacilityLayer`] (a
//!   layer that holds facilities), [`Radius`] (a service radius in metres),
//!   [`PerLayer`] (one value per facility layer) and the error type.
//! - [`park_coverage`]: per park, the distance to the nearest facility of each layer,
//!   how many lie within the layer's radius, the un-unionised counts and the gap score;
//!   filters and sort orders. The entry point is [`parks`].
//! - [`grid`]: the same figures aggregated on H3 cells (resolutions 4–8).
//! - [`kd`]: a static k-d tree for bulk nearest / count-within queries (subtrees
//!   inside the radius are counted without being opened).
//! - [`catchments`]: each facility's service area: its radius ring and its Voronoi cell
//!   clipped to the ring.
//! - [`summary`]: totals and shares per city or district.
//! - [`siting`]: the maximal covering location problem, greedy with lazy evaluation.
//! - [`export`]: the park table as CSV (with a UTF-8 BOM) and XLSX.
//!
//! # Service radii
//! A facility "serves" the places within its layer's radius. The defaults are what a
//! worker of that kind can reasonably reach in a break:
//!
//! | layer | default radius | why |
//! |---|---|---|
//! | `driver_home` (司机之家) | 20 km | a truck driver detours a few minutes off the route to rest |
//! | `courier_station` (工会驿站) | 3 km | a courier or rider has minutes between deliveries |
//! | `fitness_station` (职工健身驿站) | 5 km | a worker goes before or after a shift |
//!
//! Each is overridable per request (`radius_driver_home=15000`, …); a radius must be
//! more than 0 and at most [`Radius::MAX_M`] (500 km).
//!
//! # Gap score
//! For a park with `U` un-unionised workers (`workers − union_members`, when both are
//! known) and, for each facility layer `l`, the distance `d_l` to its nearest facility
//! and the layer's radius `r_l`:
//!
//! ```text
//! gap_score = U × (1/3) × Σ_l min(1, d_l / r_l)        (d_l = ∞ when the layer is empty)
//! ```
//!
//! Why this form:
//! - **workers left out × distance to service**: `U` is who the union has not reached;
//!   `min(1, d/r)` is the share of the service radius still to travel: 0 with a facility
//!   at the gate, 1 when the nearest one is out of reach.
//! - **capped at the radius**: past the radius a facility is out of reach whatever the
//!   distance, so a small remote park 300 km out does not outrank a large park 25 km
//!   from a driver home.
//! - **averaged over the layers, not the maximum**: with the maximum, a new facility of
//!   any layer but the worst would leave the score unchanged; with the mean every
//!   facility built moves it, and the score stays in `[0, U]`, readable as
//!   "un-unionised workers without service, averaged over the three kinds".
//!
//! The score is `null` when `U` is unknown (no worker or member count); such parks sort
//! last. Parks with `U = 0` score 0 however far they are.

pub mod catchments;
pub mod export;
pub mod grid;
pub mod kd;
pub mod park_coverage;
pub mod siting;
pub mod summary;
#[cfg(test)]
pub(crate) mod test_data;

use std::fmt;
use std::ops::{Index, IndexMut};
use std::str::FromStr;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::index::sphere;
use crate::model::{Layer, UnknownLayer};

pub use park_coverage::{Order, ParkCoverage, ParkFilter, SortKey, gap_score, parks, sort};

/// Why a coverage analysis refused its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CoverageError {
    /// The park layer where a facility layer is needed.
    #[error("{0} is not a facility layer (driver_home, courier_station, fitness_station)")]
    NotAFacilityLayer(Layer),
    /// A layer id that is not one of ours.
    #[error(transparent)]
    UnknownLayer(#[from] UnknownLayer),
    /// A radius that is not a positive number of metres up to [`Radius::MAX_M`].
    #[error("radius must be more than 0 and at most {max} metres, got {got}", max = Radius::MAX_M)]
    Radius {
        /// The value given.
        got: f64,
    },
    /// An H3 resolution outside what the grid offers.
    #[error("resolution must be between {min} and {max}, got {got}")]
    Resolution {
        /// The value given.
        got: i64,
        /// The finest allowed.
        min: u8,
        /// The coarsest allowed.
        max: u8,
    },
    /// A siting problem with more (candidate, demand) pairs in reach than allowed.
    #[error(
        "more than {cap} (candidate, demand point) pairs lie within the radius: \
         use a smaller radius, fewer candidates or a bbox"
    )]
    TooManyPairs {
        /// The limit.
        cap: u64,
    },
}

/// A layer that holds facilities (not the park layer): parsed once, so the per-layer
/// tables below can be indexed without a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FacilityLayer(Layer);

impl FacilityLayer {
    /// The three facility layers, in display order.
    pub const ALL: [FacilityLayer; 3] = [
        FacilityLayer(Layer::DriverHome),
        FacilityLayer(Layer::CourierStation),
        FacilityLayer(Layer::FitnessStation),
    ];

    /// Accepts any layer but the park layer.
    pub fn new(layer: Layer) -> Result<Self, CoverageError> {
        if layer.is_facility() {
            Ok(FacilityLayer(layer))
        } else {
            Err(CoverageError::NotAFacilityLayer(layer))
        }
    }

    /// The layer.
    pub fn layer(self) -> Layer {
        self.0
    }

    /// Its id, e.g. `driver_home`.
    pub fn id(self) -> &'static str {
        self.0.id()
    }

    /// The default service radius (see the module documentation).
    pub fn default_radius(self) -> Radius {
        Radius(match self.0 {
            Layer::DriverHome => 20_000.0,
            Layer::CourierStation => 3_000.0,
            _ => 5_000.0,
        })
    }

    /// 0, 1 or 2: the position in [`Self::ALL`].
    fn slot(self) -> usize {
        match self.0 {
            Layer::DriverHome => 0,
            Layer::CourierStation => 1,
            _ => 2,
        }
    }
}

impl fmt::Display for FacilityLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for FacilityLayer {
    type Err = CoverageError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FacilityLayer::new(s.parse::<Layer>()?)
    }
}

/// A service radius in metres: finite, more than 0, at most [`Radius::MAX_M`].
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Radius(f64);

impl Radius {
    /// The largest radius accepted: 500 km, past which "within reach" means nothing.
    pub const MAX_M: f64 = 500_000.0;

    /// Validates a radius in metres.
    pub fn new(metres: f64) -> Result<Self, CoverageError> {
        if metres.is_finite() && metres > 0.0 && metres <= Self::MAX_M {
            Ok(Radius(metres))
        } else {
            Err(CoverageError::Radius { got: metres })
        }
    }

    /// Metres.
    pub fn metres(self) -> f64 {
        self.0
    }

    /// The squared chord of the radius, for the 3-D trees.
    pub fn chord2(self) -> f64 {
        sphere::metres_to_chord2(self.0)
    }
}

impl Serialize for Radius {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

/// One value per facility layer; serialised as an object keyed by layer id.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PerLayer<T>([T; 3]);

/// The service radius of each facility layer.
pub type Radii = PerLayer<Radius>;

impl<T> PerLayer<T> {
    /// Builds each layer's value.
    pub fn from_fn(mut f: impl FnMut(FacilityLayer) -> T) -> Self {
        PerLayer(FacilityLayer::ALL.map(&mut f))
    }

    /// The layers with their values, in display order.
    pub fn iter(&self) -> impl Iterator<Item = (FacilityLayer, &T)> {
        FacilityLayer::ALL.into_iter().zip(self.0.iter())
    }
}

impl PerLayer<Radius> {
    /// The default radii: driver_home 20 km, courier_station 3 km, fitness_station 5 km.
    pub fn defaults() -> Self {
        PerLayer::from_fn(FacilityLayer::default_radius)
    }
}

impl<T> Index<FacilityLayer> for PerLayer<T> {
    type Output = T;
    fn index(&self, l: FacilityLayer) -> &T {
        &self.0[l.slot()]
    }
}

impl<T> IndexMut<FacilityLayer> for PerLayer<T> {
    fn index_mut(&mut self, l: FacilityLayer) -> &mut T {
        &mut self.0[l.slot()]
    }
}

impl<T: Serialize> Serialize for PerLayer<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        for (l, v) in self.iter() {
            m.serialize_entry(l.id(), v)?;
        }
        m.end()
    }
}

/// `total − part` when both are known (a part larger than the total counts as all of it).
pub fn shortfall(total: Option<u32>, part: Option<u32>) -> Option<u32> {
    Some(total?.saturating_sub(part?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facility_layers_parse_and_refuse_parks() {
        for l in FacilityLayer::ALL {
            assert_eq!(l.id().parse::<FacilityLayer>(), Ok(l));
        }
        assert_eq!(
            "park".parse::<FacilityLayer>(),
            Err(CoverageError::NotAFacilityLayer(Layer::Park))
        );
        assert!(matches!(
            "parks".parse::<FacilityLayer>(),
            Err(CoverageError::UnknownLayer(_))
        ));
    }

    #[test]
    fn radii_are_bounded() {
        assert!(Radius::new(1.0).is_ok());
        assert!(Radius::new(Radius::MAX_M).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, Radius::MAX_M + 1.0] {
            assert!(Radius::new(bad).is_err(), "{bad}");
        }
        let d = Radii::defaults();
        let m: Vec<f64> = d.iter().map(|(_, r)| r.metres()).collect();
        assert_eq!(m, [20_000.0, 3_000.0, 5_000.0]);
        assert_eq!(
            serde_json::to_value(d).ok(),
            Some(
                serde_json::json!({"driver_home": 20000.0, "courier_station": 3000.0, "fitness_station": 5000.0})
            )
        );
    }

    #[test]
    fn shortfall_needs_both() {
        assert_eq!(shortfall(Some(10), Some(4)), Some(6));
        assert_eq!(shortfall(Some(4), Some(10)), Some(0));
        assert_eq!(shortfall(None, Some(1)), None);
        assert_eq!(shortfall(Some(1), None), None);
    }
}
