//! Loading `geodata/`: files, validation, opening hours, coordinate systems, generation.

pub mod cities;
pub mod coords;
pub mod generate;
mod ids;
mod load;
pub mod snapshot;

pub use load::{
    CALENDAR_FILE, Change, Collection, Dataset, FeatureRef, LoadError, Problem, load_collections,
    load_dir, read_calendar, validate_feature,
};
