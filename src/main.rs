//! The `waystation` command line: `serve` (the default), `import`, `token`,
//! `export`, `backup`, `purge`, `gen`, `validate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use waystation::config::{BasemapKind, Flags, LogFormat, Settings};
use waystation::geodata::{self, generate::GenOptions, snapshot};
use waystation::http::{self, AppState, ServeOptions};
use waystation::index::Atlas;
use waystation::registry::{self, Registry};
use waystation::store::{Role, Store};

/// mimalloc: hands freed pages back to the system (the loader's temporaries would
/// otherwise stay resident) and is quicker than glibc for the many small buffers of
/// a response.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 驿站地图: union facilities and industrial parks on a map.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
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

#[derive(clap::Args)]
struct DbArg {
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
    fn settings(&self, data: Option<PathBuf>) -> Result<Settings, String> {
        let flags = Flags {
            db: self.path.clone(),
            data,
            ..Flags::default()
        };
        Settings::load(self.config.as_deref(), &flags)
    }

    /// The database: `--db`, else the settings' `db`, else `waystation.db`.
    fn path(&self) -> Result<PathBuf, String> {
        Ok(Self::database(&self.settings(None)?))
    }

    /// The settings' `db`, else `waystation.db`.
    fn database(settings: &Settings) -> PathBuf {
        settings
            .db
            .clone()
            .unwrap_or_else(|| PathBuf::from("waystation.db"))
    }
}

#[derive(clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    db: DbArg,
    /// Seed directory, used only if the database does not exist yet [default: `data`
    /// of the settings, else geodata].
    #[arg(long)]
    data: Option<PathBuf>,
    /// The layer the rows belong to.
    #[arg(long)]
    layer: String,
    /// The coordinate system of the file: wgs84, cgcs2000, gcj02 (Amap, Tencent), bd09 (Baidu).
    #[arg(long)]
    crs: String,
    /// The `source` given to the imported features (default: import).
    #[arg(long)]
    source: Option<String>,
    /// The sheet of an .xlsx file (default: the first).
    #[arg(long)]
    sheet: Option<String>,
    /// Column names, overriding the recognised headers: 'name=站点名称,lon=东经,…'.
    #[arg(long)]
    map: Option<String>,
    /// Report what would happen; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The file.
    file: PathBuf,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (only it, on the last line; it is not stored).
    Create {
        #[command(flatten)]
        db: DbArg,
        /// Who holds it (written in the audit log).
        #[arg(long)]
        name: String,
        /// editor or admin.
        #[arg(long)]
        role: String,
        /// Limit an editor to one city (e.g. 临沂市).
        #[arg(long)]
        city: Option<String>,
    },
    /// List tokens (names, roles, cities; never the tokens).
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Revoke a token by name.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        /// The token's name.
        #[arg(long)]
        name: String,
    },
}

/// `serve`'s flags: each overrides `waystation.toml` and the environment (see
/// `waystation::config`); an absent flag leaves them alone.
#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Settings file (default: `waystation.toml` in the working directory, if any).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The database (the store of record), created from `--data` when missing. The
    /// default when neither --db nor --data is given: `waystation.db`.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Data directory: the seed of a new database, or, without --db, the data served
    /// read-only.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    bind: Option<String>,
    /// Directory of the web map's files [default: web].
    #[arg(long)]
    web: Option<PathBuf>,
    /// External basemap (opt-in; `none` keeps every request on this server).
    #[arg(long, value_enum)]
    basemap: Option<BasemapKind>,
    /// Who may frame the public map and embeds: a CSP `frame-ancestors` source list
    /// (`*`: any site; `'self'`; or sites such as `https://www.acftu.org`). The
    /// editor's pages may be framed by this server only. [default: *]
    #[arg(long)]
    frame_ancestors: Option<String>,
    /// Tianditu key, required with `--basemap tianditu`.
    #[arg(long)]
    tianditu_key: Option<String>,
    /// Log lines as text or as JSON (one object a line) [default: text].
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
}

impl ServeArgs {
    /// The settings: defaults < file < environment < these flags.
    fn settings(self) -> Result<Settings, String> {
        let flags = Flags {
            bind: self.bind,
            db: self.db,
            data: self.data,
            web: self.web,
            basemap: self.basemap,
            tianditu_key: self.tianditu_key,
            frame_ancestors: self.frame_ancestors,
            log_format: self.log_format,
        };
        Settings::load(self.config.as_deref(), &flags)
    }
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the effective settings (defaults, file, environment, flags) as TOML;
    /// exit non-zero, naming the line and key, on a bad file.
    Check(ServeArgs),
}

fn main() -> ExitCode {
    let command = Cli::parse()
        .command
        .unwrap_or(Command::Serve(ServeArgs::default()));
    // `serve` logs as its settings say, once they are read.
    if !matches!(command, Command::Serve(_)) {
        init_logging(LogFormat::Text);
    }
    let result = match command {
        Command::Serve(args) => args.settings().and_then(|settings| {
            init_logging(settings.log_format);
            serve(settings)
        }),
        Command::Config {
            command: ConfigCommand::Check(args),
        } => config_check(args),
        Command::Gen {
            facilities,
            parks,
            seed,
            out,
        } => gen_data(
            &GenOptions {
                facilities,
                parks,
                seed,
            },
            &out,
        ),
        Command::Validate { dir } => validate(&dir),
        Command::Import(args) => return import(&args),
        Command::Token { command } => token(command),
        Command::Export { db, out } => db.path().and_then(|db| export(&db, &out)),
        Command::Backup { db, out } => db.path().and_then(|db| backup(&db, &out)),
        Command::Purge { db, .. } => db.path().and_then(|db| purge(&db)),
    };
    exit(result)
}

fn exit(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Log lines on stderr, at `RUST_LOG`'s level (default info), as text or JSON.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: in a file or a journal they are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

/// `waystation config check`: the effective settings, as TOML.
fn config_check(args: ServeArgs) -> Result<(), String> {
    let settings = args.settings()?;
    print!("{}", settings.to_toml()?);
    Ok(())
}

fn validate(dir: &Path) -> Result<(), String> {
    let data = geodata::load_dir(dir).map_err(|e| e.to_string())?;
    println!(
        "{}: {} facilities, {} parks, {} distinct opening-hours expressions: no problems",
        dir.display(),
        data.facilities.len(),
        data.parks.len(),
        data.schedules.len()
    );
    Ok(())
}

fn gen_data(opts: &GenOptions, out: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let summary = geodata::generate::generate(opts, out).map_err(|e| e.to_string())?;
    println!(
        "wrote {} facilities and {} parks to {} in {:.1} s",
        summary.facilities,
        summary.parks,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn serve(settings: Settings) -> Result<(), String> {
    let basemap = settings.basemap()?;
    let options = ServeOptions {
        radii: settings.radii()?,
        write_origins: settings.write_origins.clone(),
        max_uri_bytes: settings.limits.max_uri_bytes,
        max_feature_bytes: settings.limits.max_feature_bytes,
        max_import_bytes: settings.limits.max_import_bytes,
        max_siting_bytes: settings.limits.max_siting_bytes,
        failed_sign_ins_per_minute: settings.limits.failed_sign_ins_per_minute,
    };
    // Blocking-pool threads end 1 s after their last task (tokio's default is 10 s):
    // the allocator returns a thread's freed memory to the system when the thread
    // ends, and the loader frees about 200 MB of temporaries per million
    // facilities (measured: 688 MB resident 10 s after ready with the default,
    // 462 MB once the loader's thread had ended).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&settings.bind)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", settings.bind))?;
        let state = AppState::loading(basemap);
        state.set_frame_ancestors(&settings.frame_ancestors);
        state.set_options(options);
        let app = http::router(state.clone(), settings.web.clone());
        let at_shutdown = state.clone();
        tracing::info!("listening on http://{}", settings.bind);

        // Load in the background: /healthz answers now, /readyz once indexed.
        let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<String>();
        let db = settings.database();
        let data_dir = settings.data_dir();
        tokio::task::spawn_blocking(move || {
            let loaded = match &db {
                Some(db) => load_database(&state, db, &data_dir),
                None => load_directory(&state, &data_dir),
            };
            if let Err(message) = loaded {
                let _ = failed_tx.send(message);
            }
        });
        let failure = std::sync::Arc::new(std::sync::Mutex::new(None));
        let failure_slot = failure.clone();
        let shutdown = async move {
            tokio::select! {
                () = shutdown_signal() => {}
                Ok(message) = failed_rx => {
                    if let Ok(mut slot) = failure_slot.lock() {
                        *slot = Some(message);
                    }
                }
            }
        };
        http::serve(listener, app, shutdown)
            .await
            .map_err(|e| e.to_string())?;
        // The next start reads the snapshot instead of the whole database.
        if let Some(registry) = at_shutdown.registry() {
            let written = tokio::task::spawn_blocking(move || {
                registry.settle(std::time::Duration::from_secs(10));
                registry.write_snapshot()
            })
            .await;
            match written {
                Ok(Ok(Some(path))) => tracing::info!("wrote {}", path.display()),
                Ok(Ok(None)) => {
                    tracing::debug!("no new snapshot: unchanged, or edits still being published")
                }
                Ok(Err(e)) => tracing::warn!("no snapshot written: {e}"),
                Err(e) => tracing::warn!("no snapshot written: {e}"),
            }
        }
        match failure.lock().ok().and_then(|mut f| f.take()) {
            Some(message) => Err(message),
            None => Ok(()),
        }
    })
}

/// Serves the database `db` (created from `seed` when missing), with edits.
fn load_database(state: &AppState, db: &Path, seed: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let loaded =
        registry::load(db, seed).map_err(|e| format!("refusing to serve {}: {e}", db.display()))?;
    let (created, generation) = (loaded.created, loaded.generation);
    let counts = (loaded.atlas.facility_count(), loaded.atlas.park_count());
    state.set_atlas(loaded.atlas);
    let registry = Registry::new(loaded.store, state.published(), generation, seed);
    // A snapshot behind the data (none, or older than the replayed changes) is
    // written again in the background, so the next start replays little.
    registry.snapshot_loaded(loaded.snapshot);
    state.set_registry(registry);
    tracing::info!(
        facilities = counts.0,
        parks = counts.1,
        replayed = loaded.replayed,
        seconds = started.elapsed().as_secs_f64(),
        "data loaded from {}{}; ready (edits on)",
        db.display(),
        if created {
            " (created from the seed)"
        } else {
            ""
        }
    );
    Ok(())
}

/// Serves the data directory `data_dir` read-only, through its snapshot when fresh.
fn load_directory(state: &AppState, data_dir: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    // Before anything is read: a file changed during the load then makes the
    // snapshot stale instead of wrong.
    let key = snapshot::current_key(data_dir);
    let fall_back = |why: &dyn std::fmt::Display| {
        tracing::warn!("{why}; reading the GeoJSON");
        None
    };
    let restored = match key.as_ref().map(|key| snapshot::read(data_dir, *key)) {
        Ok(Ok(data)) => Some(data),
        Ok(Err(snapshot::SnapshotError::Stale)) => None,
        Ok(Err(why)) => fall_back(&why),
        Err(why) => fall_back(why),
    };
    let from_snapshot = restored.is_some();
    let data = restored
        .map_or_else(|| geodata::load_dir(data_dir), Ok)
        .map_err(|e| format!("refusing to serve {}: {e}", data_dir.display()))?;
    let counts = (data.facilities.len(), data.parks.len());
    let atlas = state.set_atlas(Atlas::new(data));
    let from = if from_snapshot { "snapshot" } else { "GeoJSON" };
    tracing::info!(
        facilities = counts.0,
        parks = counts.1,
        seconds = started.elapsed().as_secs_f64(),
        "data loaded from {} ({from}); ready (read-only)",
        data_dir.display()
    );
    if let (false, Ok(key)) = (from_snapshot, key) {
        match snapshot::write(data_dir, atlas.data(), key) {
            Ok(path) => tracing::info!("wrote {}", path.display()),
            Err(e) => {
                tracing::warn!("no snapshot written (next start reads the GeoJSON again): {e}")
            }
        }
    }
    Ok(())
}

/// Opens an existing database for a command other than `serve`.
fn open_existing(db: &Path) -> Result<Store, String> {
    if !db.exists() {
        return Err(format!(
            "{}: no such database (`waystation serve --db {0}` creates one)",
            db.display()
        ));
    }
    Store::open(db).map_err(|e| e.to_string())
}

fn token(command: TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create {
            db,
            name,
            role,
            city,
        } => {
            let role: Role = role.parse()?;
            if role == Role::Admin && city.is_some() {
                return Err("--city limits editors; an admin edits every city".into());
            }
            let mut store = open_existing(&db.path()?)?;
            let token = store
                .create_token(&name, role, city.as_deref())
                .map_err(|e| e.to_string())?;
            eprintln!("token '{name}' created; it is shown only now:");
            println!("{token}");
        }
        TokenCommand::List { db } => {
            let store = open_existing(&db.path()?)?;
            for t in store.tokens().map_err(|e| e.to_string())? {
                println!(
                    "{}\t{:?}\t{}\tcreated {}{}",
                    t.name,
                    t.role,
                    t.city.as_deref().unwrap_or("(all cities)"),
                    t.created,
                    t.revoked
                        .map(|r| format!("\trevoked {r}"))
                        .unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke { db, name } => {
            let mut store = open_existing(&db.path()?)?;
            store.revoke_token(&name).map_err(|e| e.to_string())?;
            println!("token '{name}' revoked");
        }
    }
    Ok(())
}

fn export(db: &Path, out: &Path) -> Result<(), String> {
    let store = open_existing(db)?;
    for (path, n) in registry::export(&store, out).map_err(|e| e.to_string())? {
        println!("{}: {n} features", path.display());
    }
    Ok(())
}

fn backup(db: &Path, out: &Path) -> Result<(), String> {
    if out.exists() {
        return Err(format!(
            "{}: exists already; give a new file",
            out.display()
        ));
    }
    let store = open_existing(db)?;
    store.backup(out).map_err(|e| e.to_string())?;
    println!("{} copied to {}", db.display(), out.display());
    Ok(())
}

fn purge(db: &Path) -> Result<(), String> {
    let store = open_existing(db)?;
    let generation = store.generation().map_err(|e| e.to_string())?;
    // Nothing is served here: the registry publishes to nobody.
    let registry = Registry::new(store, Default::default(), generation, Path::new("geodata"));
    let n = registry
        .purge_synthetic("waystation purge")
        .map_err(|e| e.to_string())?;
    println!("removed {n} generated demo features (each is in the audit log)");
    Ok(())
}

/// `waystation import`: exit 0 all accepted, 3 some rejected, 2 usage or file error.
fn import(args: &ImportArgs) -> ExitCode {
    match run_import(args) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(3),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

/// Runs an import; the number of rejected rows.
fn run_import(args: &ImportArgs) -> Result<usize, String> {
    use std::io::IsTerminal;
    use waystation::import::{Format, Options};

    let layer = args.layer.parse().map_err(|e| format!("--layer: {e}"))?;
    let crs = args.crs.parse().map_err(|e| format!("--crs: {e}"))?;
    let format = Format::from_path(&args.file)
        .ok_or_else(|| format!("{}: not .xlsx, .csv or .geojson", args.file.display()))?;
    let map = match &args.map {
        Some(m) => Options::parse_map(m).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let settings = args.db.settings(args.data.clone())?;
    let db = DbArg::database(&settings);
    let seed = settings.data_dir();
    let (store, data, _, generation) = registry::open(&db, &seed).map_err(|e| e.to_string())?;
    let published = waystation::registry::Published::default();
    published.store(Some(std::sync::Arc::new(Atlas::new(data))));
    let registry = Registry::new(store, published, generation, &seed);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let file_name = args.file.file_name().and_then(|n| n.to_str());
    let request = registry::ImportRequest {
        who: "waystation import",
        bytes: &bytes,
        format,
        file_name,
        options: Options {
            layer,
            crs,
            source: args.source.clone(),
            sheet: args.sheet.clone(),
            map,
            today: registry::today(),
        },
        crs_label: &args.crs,
        dry_run: args.dry_run,
        city: None,
    };
    let (summary, rows) = registry
        .import(&request, &mut |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        })
        .map_err(|e| e.to_string())?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    for r in rows
        .iter()
        .filter(|r| r.status == "rejected" || !r.warnings.is_empty())
    {
        if r.status == "rejected" {
            println!("row {}: rejected: {}", r.row, r.reason);
        }
        for w in &r.warnings {
            println!("row {}: warning: {w}", r.row);
        }
    }
    println!(
        "import {}{}: {} rows: {} accepted, {} updated, {} unchanged, {} rejected",
        summary.id,
        if summary.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        summary.rows,
        summary.accepted,
        summary.updated,
        summary.unchanged,
        summary.rejected
    );
    Ok(summary.rejected)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
