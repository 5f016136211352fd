//! Renegotiates the media of an audio/video call and prints the result as one JSON object.
//!
//! With no `--session`, it starts the crate's embedded fake UCWA server and runs against it, so
//! `cargo run --example renegotiate` works anywhere. With `--session URL` it talks to a real
//! server. Run with `--help` for the flags.

mod common;

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use ucwa::testing::FakeUcwa;
use ucwa::{Client, DeclineReason, Error, Format, OperationId, Renegotiation};

const USAGE: &str = "\
usage: renegotiate [--session URL] [--token TOKEN] [--sdp FILE] [--operation-id ID]
                   [--timeout SECS] [--allow-http] [--format json|xml]
                   [--answer FILE | --dismiss REASON]

  --session URL      audioVideoSession URL (its origin is the client's origin);
                     without it, the embedded fake UCWA server is used
  --token TOKEN      bearer token (else the UCWA_TOKEN environment variable)
  --sdp FILE         the offer (default: a built-in sample offer)
  --operation-id ID  default: generated
  --timeout SECS     per request, default 30
  --format FORMAT    json or xml: what to ask the server for (default json)
  --allow-http       permit plain http (for loopback servers)
  --answer FILE      after the 201, answer the renegotiation with this SDP
  --dismiss REASON   after the 201, dismiss it with this reason (Unknown,
                     MediaAllocationFailure, EncryptionMismatch, IPv6NotSupported,
                     UnsupportedMedia, InvalidMediaOffer, InsufficientBandwidth, Conflict)

Prints one JSON object on stdout; exit 0 on success, 1 on failure, 2 on bad arguments.";

/// A sample audio offer, with CRLF line ends as SDP requires.
const SAMPLE_OFFER: &str = "v=0\r\n\
o=- 1 1 IN IP4 127.0.0.1\r\n\
s=ucwa renegotiate example\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 5004 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

#[derive(Debug, Default)]
struct Args {
    session: Option<String>,
    token: Option<String>,
    sdp: Option<String>,
    operation_id: Option<OperationId>,
    timeout: Option<Duration>,
    allow_http: bool,
    format: Format,
    follow_up: Option<FollowUp>,
}

#[derive(Debug)]
enum FollowUp {
    Answer(String),
    Dismiss(DeclineReason),
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
            eprintln!("renegotiate: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    match run(args).await {
        Ok(Outcome::Printed(value)) => {
            println!("{value}");
            ExitCode::SUCCESS
        }
        Ok(Outcome::BadArguments(message)) => {
            eprintln!("renegotiate: {message}");
            ExitCode::from(2)
        }
        Err(error) => {
            tracing::debug!(error = ?error, "renegotiation failed");
            println!("{}", common::error_json(&error));
            ExitCode::from(1)
        }
    }
}

enum Outcome {
    Printed(Value),
    BadArguments(String),
}

async fn run(args: Args) -> Result<Outcome, Error> {
    let offer = match &args.sdp {
        Some(path) => match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                return Ok(Outcome::BadArguments(format!(
                    "cannot read {path}: {error}"
                )));
            }
        },
        None => SAMPLE_OFFER.as_bytes().to_vec(),
    };
    let answer = match &args.follow_up {
        Some(FollowUp::Answer(path)) => match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                return Ok(Outcome::BadArguments(format!(
                    "cannot read {path}: {error}"
                )));
            }
        },
        _ => None,
    };

    // The fake server must outlive every request, so it is held here.
    let (fake, builder, session_url) = match &args.session {
        Some(url) => {
            let token = match args
                .token
                .clone()
                .or_else(|| std::env::var("UCWA_TOKEN").ok())
            {
                Some(token) => token,
                None => {
                    return Ok(Outcome::BadArguments(
                        "--session needs --token or the UCWA_TOKEN environment variable".into(),
                    ));
                }
            };
            let builder = Client::builder()
                .origin(url.as_str())
                .token(token)
                .allow_http(args.allow_http);
            (None, builder, url.clone())
        }
        None => {
            let fake = FakeUcwa::start().await;
            let builder = fake.client_builder();
            let url = fake.session_url();
            (Some(fake), builder, url)
        }
    };
    let builder = match args.timeout {
        Some(timeout) => builder.timeout(timeout),
        None => builder,
    }
    .format(args.format);

    let client = builder.build()?;
    let session = client.session(&session_url)?;
    let mut request = session.renegotiate(offer);
    if let Some(id) = args.operation_id {
        request = request.operation_id(id);
    }
    let renegotiation = request.await?;

    let followed_up = match (&args.follow_up, answer) {
        (Some(FollowUp::Answer(_)), Some(sdp)) => {
            renegotiation.answer_with(sdp).await?;
            Some("answered")
        }
        (Some(FollowUp::Dismiss(reason)), _) => {
            renegotiation.dismiss(Some(*reason)).await?;
            Some("dismissed")
        }
        _ => None,
    };
    let value = renegotiation_json(&client, &renegotiation, followed_up)?;
    drop(fake);
    Ok(Outcome::Printed(value))
}

fn renegotiation_json(
    client: &Client,
    renegotiation: &Renegotiation,
    followed_up: Option<&str>,
) -> Result<Value, Error> {
    let text =
        |sdp: Option<bytes::Bytes>| sdp.map(|sdp| String::from_utf8_lossy(&sdp).into_owned());
    let absolute = |link: Option<&ucwa::Link>| -> Result<Value, Error> {
        Ok(match link {
            Some(link) => json!(link.resolve(client.origin())?.as_str()),
            None => Value::Null,
        })
    };
    Ok(json!({
        "direction": renegotiation.direction().map(|direction| direction.as_str()),
        "operation_id": renegotiation.operation_id(),
        "media_offer": text(renegotiation.media_offer()?),
        "media_answer": text(renegotiation.media_answer()?),
        "links": {
            "self": absolute(renegotiation.self_link())?,
            "answer": absolute(renegotiation.answer_link())?,
            "dismiss": absolute(renegotiation.dismiss_link())?,
            "audio_video_session": absolute(renegotiation.audio_video_session_link())?,
            "conversation": absolute(renegotiation.conversation_link())?,
        },
        "followed_up": followed_up,
    }))
}

/// Parses the flags; `Ok(None)` asks for the usage text.
fn parse_args(mut raw: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args::default();
    while let Some(flag) = raw.next() {
        let mut value = || raw.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--session" => args.session = Some(value()?),
            "--token" => args.token = Some(value()?),
            "--sdp" => args.sdp = Some(value()?),
            "--operation-id" => {
                let id = OperationId::new(value()?).map_err(|error| error.to_string())?;
                args.operation_id = Some(id);
            }
            "--timeout" => args.timeout = Some(common::timeout(&value()?)?),
            "--format" => {
                args.format = value()?.parse().map_err(|error: Error| error.to_string())?;
            }
            "--allow-http" => args.allow_http = true,
            "--answer" | "--dismiss" if args.follow_up.is_some() => {
                return Err("--answer and --dismiss exclude each other".into());
            }
            "--answer" => args.follow_up = Some(FollowUp::Answer(value()?)),
            "--dismiss" => {
                let reason = value()?.parse().map_err(|error: Error| error.to_string())?;
                args.follow_up = Some(FollowUp::Dismiss(reason));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(args))
}
