//! The `waystation` command line: `serve` (the default), `gen`, `validate`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;
use waystation::geodata::{self, generate::GenOptions, snapshot};
use waystation::http::{self, AppState, Basemap};
use waystation::index::Atlas;

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
}

#[derive(Parser)]
struct ServeArgs {
    /// Data directory.
    #[arg(long, default_value = "geodata", env = "WAYSTATION_DATA")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "WAYSTATION_BIND")]
    bind: String,
    /// Directory of the web map's files.
    #[arg(long, default_value = "web", env = "WAYSTATION_WEB")]
    web: PathBuf,
    /// External basemap (opt-in; `none` keeps every request on this server).
    #[arg(long, value_enum, default_value_t = BasemapKind::None, env = "WAYSTATION_BASEMAP")]
    basemap: BasemapKind,
    /// Tianditu key, required with `--basemap tianditu`.
    #[arg(long, env = "WAYSTATION_TIANDITU_KEY")]
    tianditu_key: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum BasemapKind {
    None,
    Tianditu,
    Amap,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serve(args)) => serve(args),
        None => serve(ServeArgs::parse_from(["serve"])),
        Some(Command::Gen {
            facilities,
            parks,
            seed,
            out,
        }) => gen_data(
            &GenOptions {
                facilities,
                parks,
                seed,
            },
            &out,
        ),
        Some(Command::Validate { dir }) => validate(&dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
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

fn serve(args: ServeArgs) -> Result<(), String> {
    let basemap = match (args.basemap, args.tianditu_key) {
        (BasemapKind::None, _) => Basemap::None,
        (BasemapKind::Amap, _) => Basemap::Amap,
        (BasemapKind::Tianditu, Some(key)) if !key.trim().is_empty() => Basemap::Tianditu { key },
        (BasemapKind::Tianditu, _) => {
            return Err(
                "--basemap tianditu needs --tianditu-key (or WAYSTATION_TIANDITU_KEY)".into(),
            );
        }
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&args.bind)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
        let state = AppState::loading(basemap);
        let app = http::router(state.clone(), args.web);
        tracing::info!("listening on http://{}", args.bind);

        // Load in the background: /healthz answers now, /readyz once indexed.
        let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<String>();
        let data_dir = args.data.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            // Before anything is read: a file changed during the load then makes the
            // snapshot stale instead of wrong.
            let key = snapshot::current_key(&data_dir);
            let fall_back = |why: &dyn std::fmt::Display| {
                tracing::warn!("{why}; reading the GeoJSON");
                None
            };
            let restored = match key.as_ref().map(|key| snapshot::read(&data_dir, *key)) {
                Ok(Ok(data)) => Some(data),
                Ok(Err(snapshot::SnapshotError::Stale)) => None,
                Ok(Err(why)) => fall_back(&why),
                Err(why) => fall_back(why),
            };
            let from_snapshot = restored.is_some();
            let loaded = restored.map_or_else(|| geodata::load_dir(&data_dir), Ok);
            match loaded {
                Ok(data) => {
                    let counts = (data.facilities.len(), data.parks.len());
                    let atlas = state.set_atlas(Atlas::new(data));
                    let from = if from_snapshot { "snapshot" } else { "GeoJSON" };
                    tracing::info!(
                        facilities = counts.0,
                        parks = counts.1,
                        seconds = started.elapsed().as_secs_f64(),
                        "data loaded from {} ({from}); ready",
                        data_dir.display()
                    );
                    if let (false, Ok(key)) = (from_snapshot, key) {
                        match snapshot::write(&data_dir, atlas.data(), key) {
                            Ok(path) => tracing::info!("wrote {}", path.display()),
                            Err(e) => tracing::warn!(
                                "no snapshot written (next start reads the GeoJSON again): {e}"
                            ),
                        }
                    }
                }
                Err(e) => {
                    let _ =
                        failed_tx.send(format!("refusing to serve {}: {e}", data_dir.display()));
                }
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
        match failure.lock().ok().and_then(|mut f| f.take()) {
            Some(message) => Err(message),
            None => Ok(()),
        }
    })
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
