//! Loading `geodata/`: files, validation, opening hours, coordinate systems, generation.

pub mod cities;
pub mod coords;
pub mod generate;
mod ids;
mod load;
pub mod snapshot;

pub use load::{CALENDAR_FILE, Dataset, FeatureRef, LoadError, Problem, load_dir};
