//! A bot that answers every renegotiation the far end starts, printing one JSON line for each.
//!
//! It creates an application (`--applications URL`) or opens one (`--application URL`), reads
//! its event channel, and answers each incoming renegotiation with an SDP answer, or dismisses
//! it with a reason. With neither flag it starts the crate's embedded fake UCWA server, which
//! starts three renegotiations from the far end, so `cargo run --example answer_bot` works
//! anywhere and exits once it has answered them. Run with `--help` for the flags.

mod common;

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use common::Target;
use futures::StreamExt;
use serde_json::{Value, json};
use ucwa::{
    ChannelEvent, Client, DeclineReason, Direction, Error, EventChannel, Format,
    IncomingRenegotiation,
};

const USAGE: &str = "\
usage: answer_bot [--application URL | --applications URL] [--token TOKEN]
                  [--allow-http] [--format json|xml]
                  [--timeout SECS] [--answer FILE | --dismiss REASON] [--count N]

  --application URL   an existing application, whose event channel is read
  --applications URL  the applications URL, where a new application is created;
                      the URL's origin is the client's origin; with neither flag,
                      the embedded fake UCWA server is used and starts three
                      renegotiations
  --token TOKEN       bearer token (else the UCWA_TOKEN environment variable)
  --format FORMAT     json or xml: what to ask the server for (default json)
  --allow-http        permit plain http (for loopback servers)
  --timeout SECS      per request, default 30
  --answer FILE       answer each renegotiation with this SDP (default: a built-in
                      sample answer)
  --dismiss REASON    dismiss each renegotiation with this reason (Unknown,
                      MediaAllocationFailure, EncryptionMismatch, IPv6NotSupported,
                      UnsupportedMedia, InvalidMediaOffer, InsufficientBandwidth, Conflict)
  --count N           exit after N renegotiations (default: run until Ctrl-C, or 3
                      with the embedded server)

Prints one JSON line per renegotiation on stdout; exit 0 after --count renegotiations or on
Ctrl-C, 1 on failure, 2 on bad arguments.";

/// A sample audio answer, with CRLF line ends as SDP requires.
const SAMPLE_ANSWER: &str = "v=0\r\n\
o=- 3 1 IN IP4 127.0.0.1\r\n\
s=ucwa answer bot example\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 5006 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n";

/// The offer the embedded server's far end sends.
const FAR_END_OFFER: &str = "v=0\r\n\
o=- 7 2 IN IP4 127.0.0.1\r\n\
s=far end\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 7000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=sendrecv\r\n";

/// The renegotiations the embedded server starts: operation id, and whether the event embeds
/// the entity (without, the bot reads it from the event's link).
const FAR_END_RENEGOTIATIONS: [(&str, bool); 3] = [
    ("incoming-1", false),
    ("incoming-2", true),
    ("incoming-3", false),
];

#[derive(Debug, Default)]
struct Args {
    target: Option<Target>,
    token: Option<String>,
    allow_http: bool,
    timeout: Option<Duration>,
    format: Format,
    response: Option<Response>,
    count: Option<u64>,
}

#[derive(Debug)]
enum Response {
    Answer(String),
    Dismiss(DeclineReason),
}

/// What to do to each renegotiation, once the answer file is read.
#[derive(Debug)]
enum Reply {
    Answer(Bytes),
    Dismiss(DeclineReason),
}

/// Checked arguments: everything `run` needs, with no error left that is the caller's.
#[derive(Debug)]
struct Plan {
    /// The real server to talk to, with its token; `None` for the embedded server.
    server: Option<(Target, String)>,
    allow_http: bool,
    timeout: Option<Duration>,
    format: Format,
    reply: Reply,
    count: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    common::init_logging();

    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("answer_bot: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let plan = match plan(args) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("answer_bot: {message}");
            return ExitCode::from(2);
        }
    };

    match run(plan).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::debug!(error = ?error, "the bot stopped");
            println!("{}", common::error_json(&error));
            ExitCode::from(1)
        }
    }
}

/// Reads the answer file and finds the token: the argument errors that need the environment.
fn plan(args: Args) -> Result<Plan, String> {
    let reply = match args.response {
        Some(Response::Answer(path)) => {
            let sdp =
                std::fs::read(&path).map_err(|error| format!("cannot read {path}: {error}"))?;
            if sdp.is_empty() {
                return Err(format!("{path} is empty: an sdp answer needs content"));
            }
            Reply::Answer(Bytes::from(sdp))
        }
        Some(Response::Dismiss(reason)) => Reply::Dismiss(reason),
        None => Reply::Answer(Bytes::from_static(SAMPLE_ANSWER.as_bytes())),
    };
    let server = match args.target {
        Some(target) => match args.token.or_else(|| std::env::var("UCWA_TOKEN").ok()) {
            Some(token) => Some((target, token)),
            None => {
                return Err(
                    "--application and --applications need --token or the UCWA_TOKEN \
                     environment variable"
                        .into(),
                );
            }
        },
        None => None,
    };
    Ok(Plan {
        server,
        allow_http: args.allow_http,
        timeout: args.timeout,
        format: args.format,
        reply,
        count: args.count,
    })
}

async fn run(plan: Plan) -> Result<(), Error> {
    let connection = common::Connection {
        server: plan.server,
        allow_http: plan.allow_http,
        timeout: plan.timeout,
        format: plan.format,
    };
    let agent = concat!("ucwa-answer-bot/", env!("CARGO_PKG_VERSION"));
    // The fake server must outlive every request, so it is held here.
    let (fake, client, application) = common::open_application(connection, agent).await?;
    let mut count = plan.count;
    if let Some(fake) = &fake {
        for (operation_id, embed) in FAR_END_RENEGOTIATIONS {
            fake.incoming_renegotiation(operation_id, FAR_END_OFFER, embed);
        }
        count = count.or(Some(FAR_END_RENEGOTIATIONS.len() as u64));
    }

    let mut channel = EventChannel::builder(&application).start()?;
    let outcome = answer_all(&client, &mut channel, &plan.reply, count).await;
    channel.close().await;
    drop(fake);
    outcome
}

/// Reads the channel and replies to each incoming renegotiation, until `count` of them or
/// Ctrl-C.
async fn answer_all(
    client: &Client,
    channel: &mut EventChannel,
    reply: &Reply,
    count: Option<u64>,
) -> Result<(), Error> {
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_err() {
            tracing::warn!("cannot listen for ctrl-c; running until --count or an error");
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(interrupted);

    let mut handled: u64 = 0;
    while count.is_none_or(|count| handled < count) {
        let item = tokio::select! {
            biased;
            () = &mut interrupted => {
                tracing::debug!("interrupted; closing the event channel");
                return Ok(());
            }
            item = channel.next() => item,
        };
        let event = match item {
            Some(Ok(ChannelEvent::Event(event))) => event,
            Some(Ok(marker)) => {
                tracing::debug!(?marker, "the event channel carries on");
                continue;
            }
            Some(Err(error)) => return Err(error),
            None => return Err(Error::ChannelClosed),
        };
        let Some(incoming) = IncomingRenegotiation::from_event(client, &event) else {
            continue;
        };

        if let Some(line) = respond(&incoming, reply).await? {
            println!("{line}");
            handled += 1;
        }
    }
    Ok(())
}

/// Answers or dismisses one renegotiation, and describes what was done as a JSON line; `None`
/// for a renegotiation this side started, which is announced by the same kind of event.
async fn respond(incoming: &IncomingRenegotiation, reply: &Reply) -> Result<Option<Value>, Error> {
    let renegotiation = incoming.renegotiation().await?;
    if renegotiation.direction() == Some(&Direction::Outgoing) {
        tracing::debug!(
            ?renegotiation,
            "an outgoing renegotiation; not ours to reply to"
        );
        return Ok(None);
    }

    let action = match reply {
        Reply::Answer(sdp) if renegotiation.answer_link().is_some() => {
            renegotiation.answer_with(sdp.clone()).await?;
            "answered"
        }
        Reply::Dismiss(reason) if renegotiation.dismiss_link().is_some() => {
            renegotiation.dismiss(Some(*reason)).await?;
            "dismissed"
        }
        _ => {
            tracing::info!(?renegotiation, "no link for the reply; ignored");
            "ignored"
        }
    };

    let event = incoming.event();
    Ok(Some(json!({
        "event": event.event_type.as_str(),
        "rel": event.link.rel,
        "href": event.link.href.as_str(),
        "operation_id": renegotiation.operation_id().or(incoming.operation_id()),
        "action": action,
    })))
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
            "--answer" | "--dismiss" if args.response.is_some() => {
                return Err("--answer and --dismiss exclude each other".into());
            }
            "--answer" => args.response = Some(Response::Answer(value()?)),
            "--dismiss" => {
                let reason = value()?.parse().map_err(|error: Error| error.to_string())?;
                args.response = Some(Response::Dismiss(reason));
            }
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
