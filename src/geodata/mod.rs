//! Loading `geodata/`: files, validation, opening hours, coordinate systems, generation.

pub mod cities;
pub mod coords;
pub mod generate;
mod load;

pub use load::{CALENDAR_FILE, Dataset, FeatureRef, LoadError, Problem, load_dir};
