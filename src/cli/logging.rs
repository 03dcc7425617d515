//! Log lines on stderr, at `RUST_LOG`'s level (default info), as text or JSON.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The target of `serve`'s own log lines (listening, loaded, snapshot written):
/// `waystation`, as when they were written in `src/main.rs`, so that log queries
/// and `RUST_LOG` directives that name it still match.
pub(super) const LOG_TARGET: &str = "waystation";

/// Installs the process's subscriber; once per process.
pub(super) fn init(format: LogFormat) {
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
