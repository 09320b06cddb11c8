//! Structured logs: JSON lines by default, human-readable on a terminal or
//! with `PAYHUB_LOG_FORMAT=pretty`. `RUST_LOG` sets the level (default `info`).
//! What is never logged is listed in `docs/LOGGING.md`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; logs go to stderr, leaving stdout to output.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let pretty = match std::env::var("PAYHUB_LOG_FORMAT").as_deref() {
        Ok("json") => false,
        Ok("pretty") => true,
        _ => std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if pretty {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
    // Already installed (tests start several apps in one process): keep the first.
    let _ = result;
}
