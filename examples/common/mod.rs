//! What the command-line examples share: logging to stderr, the error object they print, and
//! the flags whose values they parse alike.

use std::time::Duration;

use serde_json::{Value, json};
use ucwa::Error;

/// Sends logs to stderr, at the level `RUST_LOG` sets (default `warn`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
}

/// The one JSON object printed for a failure.
pub fn error_json(error: &Error) -> Value {
    let service = error.service();
    json!({
        "error": {
            "kind": error.kind().as_str(),
            "status": error.status().map(|status| status.as_u16()),
            "code": service.and_then(|service| service.code.as_ref()).map(|code| code.as_str()),
            "subcode": service
                .and_then(|service| service.subcode.as_ref())
                .map(|subcode| subcode.as_str()),
            "message": match service {
                Some(service) => service.message.clone(),
                None => Some(error.to_string()),
            },
            "rel": error.rel(),
            "retry_after_secs": error.retry_after().map(|delay| delay.as_secs()),
        }
    })
}

/// A `--timeout` value: a positive number of seconds.
pub fn timeout(text: &str) -> Result<Duration, String> {
    text.parse()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .filter(|timeout| !timeout.is_zero())
        .ok_or_else(|| format!("--timeout wants a positive number, not {text:?}"))
}
