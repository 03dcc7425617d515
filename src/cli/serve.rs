//! `waystation serve` (the default command) and `waystation config check`: the
//! settings from the defaults, `waystation.toml`, the environment and the flags;
//! the runtime; the listener; shutdown on ctrl-c or SIGTERM, or when the
//! background load fails; the snapshot written on the way out.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::load;
use super::logging::{self, LOG_TARGET};
use crate::config::{BasemapKind, Flags, LogFormat, Settings};
use crate::http::{self, AppState, ServeOptions};

/// `serve`'s flags: each overrides `waystation.toml` and the environment (see
/// `waystation::config`); an absent flag leaves them alone.
#[derive(clap::Args, Default)]
pub(super) struct ServeArgs {
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

/// `waystation config check`: the effective settings, as TOML.
pub(super) fn config_check(args: ServeArgs) -> Result<(), String> {
    let settings = args.settings()?;
    print!("{}", settings.to_toml()?);
    Ok(())
}

/// `waystation serve`: reads the settings, starts logging as they say, and serves
/// until a signal or a failed load; the failure's message is the error.
pub(super) fn serve(args: ServeArgs) -> Result<(), String> {
    let settings = args.settings()?;
    logging::init(settings.log_format);
    run(settings)
}

fn run(settings: Settings) -> Result<(), String> {
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
        .thread_keep_alive(Duration::from_secs(1))
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
        tracing::info!(target: LOG_TARGET, "listening on http://{}", settings.bind);

        // Load in the background: /healthz answers now, /readyz once indexed.
        let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<String>();
        let db = settings.database();
        let data_dir = settings.data_dir();
        tokio::task::spawn_blocking(move || {
            let loaded = match &db {
                Some(db) => load::database(&state, db, &data_dir),
                None => load::directory(&state, &data_dir),
            };
            if let Err(message) = loaded {
                let _ = failed_tx.send(message);
            }
        });
        let failure = Arc::new(Mutex::new(None));
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
                registry.settle(Duration::from_secs(10));
                registry.write_snapshot()
            })
            .await;
            match written {
                Ok(Ok(Some(path))) => tracing::info!(target: LOG_TARGET, "wrote {}", path.display()),
                Ok(Ok(None)) => {
                    tracing::debug!(target: LOG_TARGET, "no new snapshot: unchanged, or edits still being published")
                }
                Ok(Err(e)) => tracing::warn!(target: LOG_TARGET, "no snapshot written: {e}"),
                Err(e) => tracing::warn!(target: LOG_TARGET, "no snapshot written: {e}"),
            }
        }
        match failure.lock().ok().and_then(|mut f| f.take()) {
            Some(message) => Err(message),
            None => Ok(()),
        }
    })
}

/// Resolves on ctrl-c or, on Unix, SIGTERM (what systemd and `docker stop` send).
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
