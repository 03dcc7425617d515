//! Loading `geodata/`: files, validation, opening hours, coordinate systems, generation.

pub mod cities;
pub mod r#gen;
pub mod coords;
mod load;

pub use load::{CALENDAR_FILE, Dataset, FeatureRef, LoadError, Problem, load_dir};
