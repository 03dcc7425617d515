//! The `waystation` command line: the clap types of every command, and [`run`],
//! which carries one out and gives the process's exit code. `src/main.rs` only
//! parses the arguments and calls it.
//!
//! One module a concern:
//! - `serve`: `serve` (the default) and `config check`: the settings from file,
//!   environment and flags, the runtime, shutdown on a signal or a failed load.
//! - `load`: what `serve` loads in the background: a database with edits on, or a
//!   data directory read-only, each through its snapshot when fresh.
//! - `import`: `import` of a sheet or GeoJSON file, exiting 0 / 3 / 2.
//! - `token`: `token create | list | revoke`.
//! - `data`: `gen`, `validate`, `export`, `backup`, `purge`.
//! - `db`: which database a command other than `serve` opens (`--db`, `--config`).
//! - `logging`: log lines on stderr, as text or JSON.
//!
//! Errors are the `String` messages the library's calls already give
//! (`Settings::load`, `Role`'s parser, the registry): each is printed once on
//! stderr, as it is, and the command exits 1 (`import`: 2).

mod data;
mod db;
mod import;
mod load;
mod logging;
mod serve;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::LogFormat;
use crate::geodata::generate::GenOptions;
use db::DbArg;
use import::ImportArgs;
use serve::ServeArgs;
use token::TokenCommand;

/// 驿站地图: union facilities and industrial parks on a map.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and the web map (the default).
    Serve(ServeArgs),
    /// Check the settings file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Generate a synthetic national demo/benchmark data set.
    Gen {
        /// Number of facilities (all three facility layers together).
        #[arg(long, default_value_t = 3000)]
        facilities: usize,
        /// Number of parks.
        #[arg(long, default_value_t = 600)]
        parks: usize,
        /// Seed: the same seed writes the same files.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Output directory (same layout as `geodata/`).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a data directory; prints one line per problem and exits non-zero on any.
    Validate {
        /// The data directory.
        dir: PathBuf,
    },
    /// Import a sheet (.xlsx, .csv) or a GeoJSON file into the database. Exits 0 when
    /// every row was accepted, 3 when some were rejected (the others applied), 2 on a
    /// usage or file error.
    Import(ImportArgs),
    /// Create, list or revoke editors' tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Write the database's features in the layout of `geodata/`.
    Export {
        #[command(flatten)]
        db: DbArg,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Copy the database with SQLite's online backup (safe while the server runs).
    Backup {
        #[command(flatten)]
        db: DbArg,
        /// The copy's file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Remove the generated demo features (audited).
    Purge {
        #[command(flatten)]
        db: DbArg,
        /// Remove every feature with `synthetic: true`.
        #[arg(long, required = true)]
        synthetic: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective settings (defaults, file, environment, flags) as TOML;
    /// exit non-zero, naming the line and key, on a bad file.
    Check(ServeArgs),
}

/// Carries out the parsed command line (`serve` when no command is given) and
/// gives the exit code: 0 on success, 1 with the message on stderr on failure;
/// `import` exits 0, 3 or 2 (see its help).
pub fn run(cli: Cli) -> ExitCode {
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    // `serve` logs as its settings say, once they are read.
    if !matches!(command, Command::Serve(_)) {
        logging::init(LogFormat::Text);
    }
    let result = match command {
        Command::Serve(args) => serve::serve(args),
        Command::Config {
            command: ConfigCommand::Check(args),
        } => serve::config_check(args),
        Command::Gen {
            facilities,
            parks,
            seed,
            out,
        } => data::generate(
            &GenOptions {
                facilities,
                parks,
                seed,
            },
            &out,
        ),
        Command::Validate { dir } => data::validate(&dir),
        Command::Import(args) => return import::import(&args),
        Command::Token { command } => token::token(command),
        Command::Export { db, out } => db.path().and_then(|db| data::export(&db, &out)),
        Command::Backup { db, out } => db.path().and_then(|db| data::backup(&db, &out)),
        Command::Purge { db, .. } => db.path().and_then(|db| data::purge(&db)),
    };
    exit(result)
}

/// 0, or the message on stderr and 1.
fn exit(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap's own checks of the definitions (duplicate flags, bad defaults), which
    /// it otherwise makes only when a command is parsed.
    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// No command is `serve` with every setting left to the file and environment.
    #[test]
    fn no_command_is_serve() {
        let cli = Cli::try_parse_from(["waystation"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["waystation", "serve", "--bind", "127.0.0.1:9"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Serve(_))));
    }

    /// `purge` removes nothing unless `--synthetic` says what.
    #[test]
    fn purge_requires_synthetic() {
        assert!(Cli::try_parse_from(["waystation", "purge", "--db", "x.db"]).is_err());
        let cli = Cli::try_parse_from(["waystation", "purge", "--db", "x.db", "--synthetic"]);
        assert!(matches!(
            cli,
            Ok(Cli {
                command: Some(Command::Purge { .. })
            })
        ));
    }

    /// `import` needs a layer, a coordinate system and a file.
    #[test]
    fn import_requires_layer_crs_and_file() {
        for args in [
            &["waystation", "import", "--crs", "wgs84", "a.csv"][..],
            &["waystation", "import", "--layer", "park", "a.csv"],
            &["waystation", "import", "--layer", "park", "--crs", "wgs84"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
        let cli = Cli::try_parse_from([
            "waystation",
            "import",
            "--layer",
            "park",
            "--crs",
            "gcj02",
            "--dry-run",
            "a.csv",
        ]);
        assert!(matches!(
            cli,
            Ok(Cli {
                command: Some(Command::Import(_))
            })
        ));
    }
}
