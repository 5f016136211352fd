//! What the command-line examples share: logging to stderr, the error object they print, and
//! the flags whose values they parse alike, and finding the application.

#![allow(dead_code, reason = "each example uses part of this module")]

use std::time::Duration;

use serde_json::{Value, json};
use ucwa::testing::FakeUcwa;
use ucwa::{Application, ApplicationSpec, Client, Error, Format};

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

/// Where an example finds its application.
#[derive(Debug, Clone)]
pub enum Target {
    /// An existing application, read with a GET.
    Application(String),
    /// The `applications` URL, where a new application is created.
    Applications(String),
}

/// How to reach the server: a real one with its token, or the embedded fake when `None`.
pub struct Connection {
    pub server: Option<(Target, String)>,
    pub allow_http: bool,
    pub timeout: Option<Duration>,
    pub format: Format,
}

/// Builds the client and creates or opens the application. The fake server, when one is
/// started, is returned too: it must outlive every request.
pub async fn open_application(
    connection: Connection,
    user_agent: &str,
) -> Result<(Option<FakeUcwa>, Client, Application), Error> {
    let (fake, builder, target) = match connection.server {
        Some((target, token)) => {
            let url = match &target {
                Target::Application(url) | Target::Applications(url) => url.clone(),
            };
            let builder = Client::builder()
                .origin(url)
                .token(token)
                .allow_http(connection.allow_http);
            (None, builder, target)
        }
        None => {
            let fake = FakeUcwa::start().await;
            let builder = fake.client_builder();
            let target = Target::Applications(fake.applications_url());
            (Some(fake), builder, target)
        }
    };
    let builder = match connection.timeout {
        Some(timeout) => builder.timeout(timeout),
        None => builder,
    }
    .format(connection.format);

    let client = builder.build()?;
    let application = match &target {
        Target::Application(url) => Application::from_url(&client, url).await?,
        Target::Applications(url) => {
            let spec = ApplicationSpec::new(user_agent, uuid::Uuid::new_v4().to_string(), "en-US");
            Application::create(&client, url, spec).await?
        }
    };
    Ok((fake, client, application))
}
