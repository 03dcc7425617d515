//! The feature types and the small validated values they are built from.
//!
//! - [`layer`]: the four layers and their names in Chinese and English.
//! - [`amenity`]: the closed amenity vocabulary and a bit set of it.
//! - [`position`]: a validated WGS-84 position ([`LonLat`]) and position accuracy.
//! - [`facility`] and [`park`]: the two kinds of feature.
//! - [`hours`]: opening hours and China's holiday calendar.
//! - [`Shared`]: strings many records repeat, stored once.
//! - [`field`]: input fields that keep every problem ([`Field`]), for validation
//!   that names all fields at fault at once.

mod amenity;
mod facility;
pub mod field;
pub mod hours;
mod layer;
mod park;
mod position;
mod shared;

pub use amenity::{Amenity, AmenitySet, UnknownAmenity};
pub use facility::{Facility, FacilityText, Grade, TextFields};
pub use field::Field;
pub use layer::{Layer, LayerSet, UnknownLayer};
pub use park::{Park, ParkCounts, ParkType, UnionStatus};
pub use position::{CoordError, LonLat, PositionAccuracy, Provenance};
pub use shared::Shared;
