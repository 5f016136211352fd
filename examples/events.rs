//! Prints every event of an application's event channel as one JSON line.
//!
//! It creates an application (`--applications URL`) or opens one (`--application URL`) and
//! reads its event channel. With neither flag it starts the crate's embedded fake UCWA server
//! with a few events queued, so `cargo run --example events` works anywhere and exits once it
//! has printed them. Run with `--help` for the flags.

mod common;

use std::process::ExitCode;
use std::time::Duration;

use common::Target;
use futures::StreamExt;
use serde_json::{Value, json};
use ucwa::testing::FakeUcwa;
use ucwa::{ChannelEvent, Error, Event, EventChannel, Format};

const USAGE: &str = "\
usage: events [--application URL | --applications URL] [--token TOKEN]
              [--allow-http] [--format json|xml]
              [--timeout SECS] [--count N]

  --application URL   an existing application, whose event channel is read
  --applications URL  the applications URL, where a new application is created;
                      the URL's origin is the client's origin; with neither flag,
                      the embedded fake UCWA server is used, with a few events queued
  --token TOKEN       bearer token (else the UCWA_TOKEN environment variable)
  --format FORMAT     json or xml: what to ask the server for (default json)
  --allow-http        permit plain http (for loopback servers)
  --timeout SECS      per request, default 30
  --count N           exit after N events (default: run until Ctrl-C, or every queued
                      event with the embedded server)

Prints one JSON line per event on stdout; exit 0 after --count events or on Ctrl-C, 1 on
failure, 2 on bad arguments.";

#[derive(Debug, Default)]
struct Args {
    target: Option<Target>,
    token: Option<String>,
    allow_http: bool,
    timeout: Option<Duration>,
    format: Format,
    count: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();

    let mut args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("events: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let server = match server(&mut args) {
        Ok(server) => server,
        Err(message) => {
            eprintln!("events: {message}");
            return ExitCode::from(2);
        }
    };

    match run(server, args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::debug!(error = ?error, "the event channel failed");
            println!("{}", common::error_json(&error));
            ExitCode::from(1)
        }
    }
}

/// The real server to talk to, with its token; `None` for the embedded server.
fn server(args: &mut Args) -> Result<Option<(Target, String)>, String> {
    let Some(target) = args.target.take() else {
        return Ok(None);
    };
    match args
        .token
        .take()
        .or_else(|| std::env::var("UCWA_TOKEN").ok())
    {
        Some(token) => Ok(Some((target, token))),
        None => Err(
            "--application and --applications need --token or the UCWA_TOKEN environment variable"
                .into(),
        ),
    }
}

/// Reads the events of the application at `server` (a target and its token), or of the
/// embedded server's when it is `None`.
async fn run(server: Option<(Target, String)>, args: Args) -> Result<(), Error> {
    let connection = common::Connection {
        server,
        allow_http: args.allow_http,
        timeout: args.timeout,
        format: args.format,
    };
    let agent = concat!("ucwa-events/", env!("CARGO_PKG_VERSION"));
    // The fake server must outlive every request, so it is held here.
    let (fake, _client, application) = common::open_application(connection, agent).await?;
    let mut count = args.count;
    if let Some(fake) = &fake {
        count = count.or(Some(queue_sample_events(fake)));
    }

    let mut channel = EventChannel::builder(&application).start()?;
    let outcome = print_all(&mut channel, count).await;
    channel.close().await;
    drop(fake);
    outcome
}

/// Prints the channel's events until `count` of them or Ctrl-C.
async fn print_all(channel: &mut EventChannel, count: Option<u64>) -> Result<(), Error> {
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_err() {
            tracing::warn!("cannot listen for ctrl-c; running until --count or an error");
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(interrupted);

    let mut printed: u64 = 0;
    while count.is_none_or(|count| printed < count) {
        let item = tokio::select! {
            biased;
            () = &mut interrupted => {
                tracing::debug!("interrupted; closing the event channel");
                return Ok(());
            }
            item = channel.next() => item,
        };
        match item {
            Some(Ok(ChannelEvent::Event(event))) => {
                println!("{}", event_json(&event));
                printed += 1;
            }
            Some(Ok(marker)) => tracing::debug!(?marker, "the event channel carries on"),
            Some(Err(error)) => return Err(error),
            None => return Err(Error::ChannelClosed),
        }
    }
    Ok(())
}

fn event_json(event: &Event) -> Value {
    json!({
        "sender": event.sender.rel,
        "type": event.event_type.as_str(),
        "rel": event.link.rel,
        "href": event.link.href.as_str(),
        "embedded": event.resource.is_some(),
    })
}

/// Queues a few events of several types on the embedded server, with a `resume` among them,
/// and returns how many events it queued.
fn queue_sample_events(fake: &FakeUcwa) -> u64 {
    let application = fake.application_url();
    let application = application
        .strip_prefix(&fake.origin())
        .unwrap_or(&application);
    let me = format!("{application}/me");
    let communication = format!("{application}/communication");
    let conversation = format!("{communication}/conversations/7");
    let invitation = format!("{communication}/audioVideoInvitations/3");

    let before_resume = [
        (
            "me",
            &me,
            json!({
                "link": { "rel": "presence", "href": format!("{me}/presence") },
                "in": { "rel": "me", "href": me },
                "type": "added",
            }),
        ),
        (
            "communication",
            &communication,
            json!({
                "link": { "rel": "conversation", "href": conversation },
                "type": "added",
            }),
        ),
        (
            "communication",
            &communication,
            json!({
                "link": { "rel": "audioVideoInvitation", "href": invitation },
                "type": "started",
                "_embedded": {
                    "audioVideoInvitation": {
                        "rel": "audioVideoInvitation",
                        "direction": "Incoming",
                        "state": "Connecting",
                        "operationId": "invitation-1",
                        "_links": { "self": { "href": invitation } },
                    },
                },
            }),
        ),
    ];
    let after_resume = [
        (
            "conversation",
            &conversation,
            json!({
                "link": { "rel": "audioVideo", "href": format!("{conversation}/audioVideo") },
                "type": "updated",
            }),
        ),
        (
            "communication",
            &communication,
            json!({
                "link": { "rel": "audioVideoInvitation", "href": invitation },
                "type": "completed",
                "status": "Success",
            }),
        ),
    ];

    for (sender_rel, sender_href, event) in before_resume.iter().cloned() {
        fake.queue_event(sender_rel, sender_href, event);
    }
    fake.queue_resume();
    for (sender_rel, sender_href, event) in after_resume.iter().cloned() {
        fake.queue_event(sender_rel, sender_href, event);
    }
    (before_resume.len() + after_resume.len()) as u64
}

/// Parses the flags; `Ok(None)` asks for the usage text.
fn parse_args(mut raw: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args::default();
    while let Some(flag) = raw.next() {
        let mut value = || raw.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--application" | "--applications" if args.target.is_some() => {
                return Err("--application and --applications exclude each other".into());
            }
            "--application" => args.target = Some(Target::Application(value()?)),
            "--applications" => args.target = Some(Target::Applications(value()?)),
            "--token" => args.token = Some(value()?),
            "--format" => {
                args.format = value()?.parse().map_err(|error: Error| error.to_string())?;
            }
            "--allow-http" => args.allow_http = true,
            "--timeout" => args.timeout = Some(common::timeout(&value()?)?),
            "--count" => {
                let text = value()?;
                let count = text
                    .parse()
                    .ok()
                    .filter(|count| *count > 0)
                    .ok_or_else(|| {
                        format!("--count wants a positive whole number, not {text:?}")
                    })?;
                args.count = Some(count);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(args))
}
