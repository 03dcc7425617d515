//! Which database a command other than `serve` opens: `--db`, else the `db` of
//! the settings (`WAYSTATION_DB`, the settings file), else `waystation.db`; and
//! opening it only if it exists.

use std::path::{Path, PathBuf};

use crate::config::{Flags, Settings};
use crate::store::Store;

#[derive(clap::Args)]
pub(super) struct DbArg {
    /// The database file [default: `db` of the settings (`WAYSTATION_DB`, the settings
    /// file), else waystation.db].
    #[arg(long = "db")]
    path: Option<PathBuf>,
    /// Settings file (default: `waystation.toml` in the working directory, if any).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl DbArg {
    /// The settings as `serve` would read them, with `--db` and `data` as flags.
    pub(super) fn settings(&self, data: Option<PathBuf>) -> Result<Settings, String> {
        let flags = Flags {
            db: self.path.clone(),
            data,
            ..Flags::default()
        };
        Settings::load(self.config.as_deref(), &flags)
    }

    /// The database: `--db`, else the settings' `db`, else `waystation.db`.
    pub(super) fn path(&self) -> Result<PathBuf, String> {
        Ok(Self::database(&self.settings(None)?))
    }

    /// The settings' `db`, else `waystation.db`.
    pub(super) fn database(settings: &Settings) -> PathBuf {
        settings
            .db
            .clone()
            .unwrap_or_else(|| PathBuf::from("waystation.db"))
    }
}

/// Opens an existing database for a command other than `serve`: those never
/// create one, so a mistyped path is an error and not a new empty file.
pub(super) fn open_existing(db: &Path) -> Result<Store, String> {
    if !db.exists() {
        return Err(format!(
            "{}: no such database (`waystation serve --db {0}` creates one)",
            db.display()
        ));
    }
    Store::open(db).map_err(|e| e.to_string())
}
