//! The feature types and the small validated values they are built from.
//!
//! - [`layer`]: the four layers and their names in Chinese and English.
//! - [`amenity`]: the closed amenity vocabulary and a bit set of it.
//! - [`position`]: a validated WGS-84 position ([`LonLat`]) and position accuracy.
//! - [`facility`] and [`park`]: the two kinds of feature.
//! - [`hours`]: opening hours and China's holiday calendar.
//! - [`Shared`]: strings many records repeat, stored once.
//! - [`properties`]: the GeoJSON properties of each kind, their one list of
//!   fields, and the one validation of a feature as given.
//! - [`field`]: input fields that keep every problem ([`Field`]), for validation
//!   that names all fields at fault at once.

mod amenity;
mod facility;
pub mod field;
pub mod hours;
mod layer;
mod park;
mod position;
pub mod properties;
mod shared;

pub use amenity::{Amenity, AmenitySet, UnknownAmenity};
pub use facility::{Facility, FacilityText, Grade, TextFields};
pub use field::Field;
pub use layer::{Layer, LayerSet, UnknownLayer};
pub use park::{Park, ParkCounts, ParkType, UnionStatus};
pub use position::{CoordError, LonLat, PositionAccuracy, Provenance};
pub use properties::{
    Context, FacilityInput, FacilityProperties, FeatureInput, FieldProblem, ParkInput,
    ParkProperties,
};
pub use shared::Shared;
