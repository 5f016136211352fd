//! A minimal UCWA server on loopback for measurements: plain hyper, precomputed bodies, no
//! state, so that it costs little and the same for every client measured against it.
//!
//! It serves any number of sessions at `/s/<n>`, their `renegotiations` (201 with the entity,
//! the client's `operationId` echoed) and an event channel at `/events?ack=<n>` whose every
//! reply carries 100 events.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// An SDP offer of about 2 KB, with the attributes a Skype for Business offer carries.
pub fn sdp(seed: u32) -> String {
    let mut sdp = format!(
        "v=0\r\no=- {seed} 1 IN IP4 10.0.0.{}\r\ns=session\r\nc=IN IP4 10.0.0.1\r\nb=CT:99980\r\n\
         t=0 0\r\n",
        seed % 250
    );
    sdp.push_str("m=audio 50020 RTP/SAVP 117 104 114 9 112 111 0 103 8 116 115 97 13 118 101\r\n");
    sdp.push_str("a=x-ssrc-range:3485408512-3485408512\r\n");
    sdp.push_str("a=rtcp-fb:* x-message app send:dsh recv:dsh\r\n");
    for payload in 0..24 {
        sdp.push_str(&format!(
            "a=rtpmap:{} codec{payload}/16000\r\n",
            96 + payload
        ));
    }
    for candidate in 0..10 {
        sdp.push_str(&format!(
            "a=candidate:{candidate} 1 UDP 2130706431 10.0.0.{candidate} 500{candidate} \
             typ host\r\n"
        ));
    }
    sdp.push_str(
        "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShp|2^31\r\n",
    );
    sdp.push_str("a=sendrecv\r\n");
    sdp
}

/// A UCWA error body, as a 409 carries it.
#[allow(
    dead_code,
    reason = "each program that includes this file uses part of it"
)]
pub const ERROR_BODY: &[u8] = concat!(
    r#"{"code":"Conflict","subcode":"AlreadyExists","#,
    r#""message":"The requested resource already exists. Please wait and try again.","#,
    r#""debugInfo":{"errorReportId":"7f0c2a5e4b1d4c3e9a8b6d5f4e3c2b1a"}}"#
)
.as_bytes();

/// The token the server expects.
pub const TOKEN: &str = "cwt=bench-token";

/// The bodies the server sends, computed once.
struct Bodies {
    /// The entity, split around the place of the operation id.
    entity: (String, String),
    session_prefix: String,
    events: (String, String, String),
}

/// A running server; it stops with the runtime that started it.
#[allow(
    dead_code,
    reason = "each program that includes this file uses part of it"
)]
pub struct BenchServer {
    pub address: SocketAddr,
}

#[allow(
    dead_code,
    reason = "each program that includes this file uses part of it"
)]
impl BenchServer {
    /// Starts the server on a free loopback port of the current runtime.
    pub async fn start() -> BenchServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let bodies = Arc::new(bodies());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let bodies = Arc::clone(&bodies);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&bodies), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        BenchServer { address }
    }

    /// The origin, `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The URL of session `n`.
    pub fn session_url(&self, n: usize) -> String {
        format!("{}/s/{n}", self.origin())
    }

    /// The URL where session `n`'s renegotiations are posted.
    pub fn renegotiations_url(&self, n: usize) -> String {
        format!("{}/s/{n}/renegotiations", self.origin())
    }

    /// The URL where the event channel starts.
    pub fn events_url(&self) -> String {
        format!("{}/events?ack=1", self.origin())
    }
}

fn bodies() -> Bodies {
    let encode = |sdp: String| {
        format!(
            "data:application/sdp;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(sdp)
        )
    };
    let entity = serde_json::json!({
        "rel": "audioVideoRenegotiation",
        "direction": "Outgoing",
        "operationId": "@ID@",
        "_links": {
            "self": { "href": "/s/0/renegotiations/1" },
            "mediaOffer": { "href": encode(sdp(1)) },
            "mediaAnswer": { "href": encode(sdp(2)) },
            "answer": { "href": "/s/0/renegotiations/1/answer" },
            "dismiss": { "href": "/s/0/renegotiations/1/dismiss" },
            "audioVideoSession": { "href": "/s/0" },
            "conversation": { "href": "/c/0" },
        }
    })
    .to_string();
    let (before, after) = entity.split_once("@ID@").unwrap();

    let events: Vec<_> = (0..100)
        .map(|i| {
            serde_json::json!({
                "link": { "rel": "contact", "href": format!("/people/contacts/{i}") },
                "type": if i % 2 == 0 { "added" } else { "updated" },
            })
        })
        .collect();
    let senders = serde_json::json!([{ "rel": "people", "href": "/people", "events": events }]);
    let head = r#"{"_links":{"self":{"href":"/events?ack="#;
    let middle = r#""},"next":{"href":"/events?ack="#;
    let tail = format!(r#""}}}},"sender":{senders}}}"#);

    Bodies {
        entity: (before.to_owned(), after.to_owned()),
        session_prefix: concat!(
            r#"{"rel":"audioVideoSession","state":"Established","#,
            r#""_links":{"renegotiations":{"href":"/s/"#
        )
        .to_owned(),
        events: (head.to_owned(), middle.to_owned(), tail),
    }
}

fn reply(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

async fn answer(
    bodies: Arc<Bodies>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let authorized = request
        .headers()
        .get("authorization")
        .is_some_and(|value| value.as_bytes() == format!("Bearer {TOKEN}").as_bytes());
    if !authorized {
        return Ok(reply(
            StatusCode::UNAUTHORIZED,
            r#"{"code":"Unauthorized"}"#.to_owned(),
        ));
    }
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let method = request.method().clone();
    // Read the whole request body, as a server must before it answers.
    let _ = request.into_body().collect().await;

    let response = match (method.as_str(), path.strip_prefix("/s/")) {
        ("GET", Some(session)) if !session.contains('/') => {
            let body = format!("{}{session}/renegotiations\"}}}}}}", bodies.session_prefix);
            reply(StatusCode::OK, body)
        }
        ("POST", Some(rest)) if rest.ends_with("/renegotiations") => {
            let id = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("operationId="))
                .unwrap_or_default();
            let (before, after) = &bodies.entity;
            reply(StatusCode::CREATED, format!("{before}{id}{after}"))
        }
        ("GET", None) if path == "/events" => {
            let ack: u64 = query
                .split('&')
                .find_map(|pair| pair.strip_prefix("ack="))
                .and_then(|ack| ack.parse().ok())
                .unwrap_or(1);
            let (head, middle, tail) = &bodies.events;
            reply(
                StatusCode::OK,
                format!("{head}{ack}{middle}{}{tail}", ack + 1),
            )
        }
        _ => reply(StatusCode::NOT_FOUND, r#"{"code":"NotFound"}"#.to_owned()),
    };
    Ok(response)
}
