//! Parsing cost of the payloads a bot reads most: the renegotiation entity (with real SDPs of
//! about 2 KB in both data URIs) and a 100-event batch, in JSON and in XML.
//!
//! Run with `cargo bench --bench parse`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ucwa::{Client, DataUri, Event, Format, Renegotiation, Resource};
use url::Url;

#[path = "support/server.rs"]
#[allow(dead_code, reason = "only the SDP generator is used here")]
mod server;

use server::{ERROR_BODY, sdp};

const CONVERSATION: &str = "/ucwa/v1/applications/192/communication/conversations/137";
const SESSION: &str =
    "/ucwa/v1/applications/192/communication/conversations/137/audioVideo/audioVideoSession";
const ENTITY_PATH: &str = concat!(
    "/ucwa/v1/applications/192/communication/conversations/137/audioVideo/audioVideoSession",
    "/renegotiations/1"
);
const PEOPLE: &str = "/ucwa/v1/applications/192/people";

fn entity_json() -> String {
    let offer = DataUri::encode_base64("application/sdp", sdp(1).as_bytes());
    let answer = DataUri::encode_base64("application/sdp", sdp(2).as_bytes());
    serde_json::json!({
        "rel": "audioVideoRenegotiation",
        "direction": "Outgoing",
        "operationId": "0ea59ceb-56eb-4d25-87e0-aeca2e7f74d2",
        "_links": {
            "self": { "href": ENTITY_PATH },
            "mediaOffer": { "href": offer },
            "mediaAnswer": { "href": answer },
            "answer": { "href": format!("{ENTITY_PATH}/answer") },
            "dismiss": { "href": format!("{ENTITY_PATH}/dismiss") },
            "audioVideoSession": { "href": SESSION },
            "conversation": { "href": CONVERSATION },
        }
    })
    .to_string()
}

fn entity_xml() -> String {
    let offer = DataUri::encode_base64("application/sdp", sdp(1).as_bytes());
    let answer = DataUri::encode_base64("application/sdp", sdp(2).as_bytes());
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<resource rel="audioVideoRenegotiation" href="{ENTITY_PATH}" xmlns="http://schemas.microsoft.com/rtc/2012/03/ucwa">
  <link rel="mediaOffer" href="{offer}" />
  <link rel="mediaAnswer" href="{answer}" />
  <link rel="answer" href="{ENTITY_PATH}/answer" />
  <link rel="dismiss" href="{ENTITY_PATH}/dismiss" />
  <link rel="audioVideoSession" href="{SESSION}" />
  <link rel="conversation" href="{CONVERSATION}" />
  <property name="direction">Outgoing</property>
  <property name="operationId">0ea59ceb-56eb-4d25-87e0-aeca2e7f74d2</property>
</resource>"#
    )
}

/// A batch of 100 events from five senders, every fifth one with an embedded resource.
fn batch_json() -> String {
    let senders: Vec<_> = (0..5)
        .map(|sender| {
            let events: Vec<_> = (0..20)
                .map(|i| {
                    let href = format!("{PEOPLE}/{sender}/contacts/{i}");
                    let mut event = serde_json::json!({
                        "link": { "rel": "contact", "href": href },
                        "type": if i % 2 == 0 { "added" } else { "updated" },
                        "in": { "rel": "myContacts", "href": format!("{PEOPLE}/contacts") },
                    });
                    if i % 5 == 0 {
                        event["_embedded"] = serde_json::json!({ "contact": {
                            "rel": "contact", "name": format!("Contact {i}"),
                            "uri": format!("sip:c{i}@contoso.com"),
                            "emailAddresses": [format!("c{i}@contoso.com")],
                            "_links": { "self": { "href": href } }
                        }});
                    }
                    event
                })
                .collect();
            serde_json::json!({
                "rel": "people",
                "href": format!("{PEOPLE}/{sender}"),
                "events": events
            })
        })
        .collect();
    serde_json::json!({
        "_links": {
            "self": { "href": "/ucwa/v1/applications/192/events?ack=7" },
            "next": { "href": "/ucwa/v1/applications/192/events?ack=8" }
        },
        "sender": senders
    })
    .to_string()
}

fn batch_xml() -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="utf-8"?><events href="/ucwa/v1/applications/192/events?ack=7" xmlns="http://schemas.microsoft.com/rtc/2012/03/ucwa"><link rel="next" href="/ucwa/v1/applications/192/events?ack=8" />"#,
    );
    for sender in 0..5 {
        xml.push_str(&format!(
            r#"<sender rel="people" href="/ucwa/v1/applications/192/people/{sender}">"#
        ));
        for i in 0..20 {
            let kind = if i % 2 == 0 { "added" } else { "updated" };
            let href = format!("{PEOPLE}/{sender}/contacts/{i}");
            xml.push_str(&format!(r#"<{kind} rel="contact" href="{href}">"#));
            xml.push_str(&format!(
                r#"<in rel="myContacts" href="{PEOPLE}/contacts" />"#
            ));
            if i % 5 == 0 {
                xml.push_str(&format!(
                    concat!(
                        r#"<resource rel="contact" href="{href}">"#,
                        r#"<property name="name">Contact {i}</property>"#,
                        r#"<property name="uri">sip:c{i}@contoso.com</property>"#,
                        r#"<propertyList name="emailAddresses"><item>c{i}@contoso.com</item>"#,
                        r#"</propertyList></resource>"#
                    ),
                    href = href,
                    i = i
                ));
            }
            xml.push_str(&format!("</{kind}>"));
        }
        xml.push_str("</sender>");
    }
    xml.push_str("</events>");
    xml
}

/// What a caller would write by hand: a `serde_json::Value`, the links pulled out, and the two
/// data URIs base64-decoded.
fn parse_entity_by_hand(body: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use base64::Engine;

    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    let links = value["_links"].as_object().unwrap();
    let decode = |rel: &str| {
        let href = links[rel]["href"].as_str().unwrap();
        let (_, data) = href.split_once(";base64,").unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap()
    };
    let _direction = value["direction"].as_str();
    let _operation_id = value["operationId"].as_str();
    for rel in [
        "self",
        "answer",
        "dismiss",
        "audioVideoSession",
        "conversation",
    ] {
        black_box(links[rel]["href"].as_str());
    }
    (decode("mediaOffer"), decode("mediaAnswer"))
}

fn parse_error(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_error");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());
    group.bench_function("typed", |b| {
        b.iter(|| {
            let error = ucwa::ServiceError::parse(
                ucwa::StatusCode::CONFLICT,
                black_box(&headers),
                bytes::Bytes::from_static(ERROR_BODY),
            );
            assert_eq!(error.kind(), ucwa::ErrorKind::RenegotiationInProgress);
        })
    });
    group.bench_function("value", |b| {
        b.iter(|| {
            let value: serde_json::Value = serde_json::from_slice(black_box(ERROR_BODY)).unwrap();
            assert_eq!(value["subcode"].as_str(), Some("AlreadyExists"));
            black_box((&value["code"], &value["message"], &value["debugInfo"]));
        })
    });
    group.finish();
}

fn parse_entity(c: &mut Criterion) {
    let client = Client::builder()
        .origin("https://fe1.contoso.com")
        .token("cwt=bench")
        .build()
        .unwrap();
    let mut group = c.benchmark_group("parse_entity");
    for (format, body) in [(Format::Json, entity_json()), (Format::Xml, entity_xml())] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(format!("{format:?}").to_lowercase(), |b| {
            b.iter(|| {
                let resource = Resource::parse(black_box(body.as_bytes()), format).unwrap();
                let renegotiation = Renegotiation::from_resource(&client, resource);
                black_box(renegotiation.media_offer().unwrap());
                black_box(renegotiation.media_answer().unwrap());
            })
        });
    }
    let body = entity_json();
    group.bench_function("value_by_hand_json", |b| {
        b.iter(|| black_box(parse_entity_by_hand(black_box(body.as_bytes()))))
    });
    group.finish();
}

fn events_batch(c: &mut Criterion) {
    let origin = Url::parse("https://fe1.contoso.com/").unwrap();
    let mut group = c.benchmark_group("events_batch_100");
    for (format, body) in [(Format::Json, batch_json()), (Format::Xml, batch_xml())] {
        group.throughput(Throughput::Elements(100));
        group.bench_function(format!("{format:?}").to_lowercase(), |b| {
            b.iter(|| {
                let batch = Event::parse_batch_as(black_box(body.as_bytes()), format, &origin);
                assert_eq!(batch.unwrap().events.len(), 100);
            })
        });
    }
    group.finish();
}

/// Each typed parse against its `Value` twin in A-B-B-A pairs of 200 runs each, reporting the
/// median of the per-pair ratios: on a shared machine speed drifts between criterion's groups.
fn interleaved(_: &mut Criterion) {
    use std::time::Instant;

    let client = Client::builder()
        .origin("https://fe1.contoso.com")
        .token("cwt=bench")
        .build()
        .unwrap();
    let entity = entity_json();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("content-type", "application/json".parse().unwrap());

    let typed_entity = || {
        let resource = Resource::parse(black_box(entity.as_bytes()), Format::Json).unwrap();
        let renegotiation = Renegotiation::from_resource(&client, resource);
        black_box((
            renegotiation.media_offer().ok(),
            renegotiation.media_answer().ok(),
        ));
    };
    let value_entity = || {
        black_box(parse_entity_by_hand(black_box(entity.as_bytes())));
    };
    let typed_error = || {
        black_box(ucwa::ServiceError::parse(
            ucwa::StatusCode::CONFLICT,
            &headers,
            bytes::Bytes::from_static(ERROR_BODY),
        ));
    };
    let value_error = || {
        let value: serde_json::Value = serde_json::from_slice(ERROR_BODY).unwrap();
        black_box((
            &value["code"],
            &value["subcode"],
            &value["message"],
            &value["debugInfo"],
        ));
    };

    let ratio = |typed: &dyn Fn(), value: &dyn Fn()| {
        let time = |work: &dyn Fn()| {
            let started = Instant::now();
            for _ in 0..200 {
                work();
            }
            started.elapsed().as_secs_f64()
        };
        let mut ratios: Vec<f64> = (0..400)
            .map(|pair| {
                if pair % 2 == 0 {
                    let t = time(typed);
                    t / time(value)
                } else {
                    let v = time(value);
                    time(typed) / v
                }
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    };
    println!(
        "interleaved parse_entity: median time ratio typed/value {:.3}",
        ratio(&typed_entity, &value_entity)
    );
    println!(
        "interleaved parse_error: median time ratio typed/value {:.3}",
        ratio(&typed_error, &value_error)
    );
}

criterion_group!(
    benches,
    interleaved,
    parse_entity,
    parse_error,
    events_batch
);
criterion_main!(benches);
