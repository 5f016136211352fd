//! Loops of one parse, to be counted under callgrind, whose instruction counts do not drift
//! with the load of a shared machine the way times do:
//!
//! ```text
//! cargo bench --bench instructions --no-run
//! valgrind --tool=callgrind target/release/deps/instructions-* typed_entity 10000
//! valgrind --tool=callgrind target/release/deps/instructions-* value_entity 10000
//! ```
//!
//! Cases: `typed_entity`, `value_entity`, `typed_error`, `value_error`, `none` (the program's
//! own start, to subtract). Run without a case, it runs each once and prints nothing.

use std::hint::black_box;

use base64::Engine;
use ucwa::{Client, DataUri, Format, Renegotiation, Resource, ServiceError, StatusCode};

#[path = "support/server.rs"]
#[allow(
    dead_code,
    reason = "only the SDP generator and the error body are used here"
)]
mod server;

use server::ERROR_BODY;

fn entity() -> String {
    let encode = |seed| DataUri::encode_base64("application/sdp", server::sdp(seed).as_bytes());
    serde_json::json!({
        "rel": "audioVideoRenegotiation",
        "direction": "Outgoing",
        "operationId": "0ea59ceb-56eb-4d25-87e0-aeca2e7f74d2",
        "_links": {
            "self": { "href": "/s/0/renegotiations/1" },
            "mediaOffer": { "href": encode(1) },
            "mediaAnswer": { "href": encode(2) },
            "answer": { "href": "/s/0/renegotiations/1/answer" },
            "dismiss": { "href": "/s/0/renegotiations/1/dismiss" },
            "audioVideoSession": { "href": "/s/0" },
            "conversation": { "href": "/c/0" },
        }
    })
    .to_string()
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"));
    let case = args.next();
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);

    let body = entity();
    let client = Client::builder()
        .origin("https://fe1.contoso.com")
        .token("cwt=bench")
        .build()
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());

    let typed_entity = || {
        let resource = Resource::parse(black_box(body.as_bytes()), Format::Json).unwrap();
        let renegotiation = Renegotiation::from_resource(&client, resource);
        black_box((
            renegotiation.media_offer().ok(),
            renegotiation.media_answer().ok(),
        ));
        black_box((renegotiation.direction(), renegotiation.operation_id()));
    };
    let value_entity = || {
        let value: serde_json::Value = serde_json::from_slice(black_box(body.as_bytes())).unwrap();
        let decode = |rel: &str| {
            let href = value["_links"][rel]["href"].as_str().unwrap();
            let (_, data) = href.split_once(";base64,").unwrap();
            base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap()
        };
        black_box((decode("mediaOffer"), decode("mediaAnswer")));
        black_box((value["direction"].as_str(), value["operationId"].as_str()));
    };
    let typed_error = || {
        let error = ServiceError::parse(
            StatusCode::CONFLICT,
            black_box(&headers),
            bytes::Bytes::from_static(ERROR_BODY),
        );
        black_box(error.kind());
    };
    let value_error = || {
        let value: serde_json::Value = serde_json::from_slice(black_box(ERROR_BODY)).unwrap();
        black_box((
            &value["code"],
            &value["subcode"],
            &value["message"],
            &value["debugInfo"],
        ));
    };

    let cases: [(&str, &dyn Fn()); 4] = [
        ("typed_entity", &typed_entity),
        ("value_entity", &value_entity),
        ("typed_error", &typed_error),
        ("value_error", &value_error),
    ];
    for (name, work) in cases {
        if case.is_none() || case.as_deref() == Some(name) {
            for _ in 0..runs {
                work();
            }
        }
    }
}
