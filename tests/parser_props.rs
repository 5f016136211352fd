//! Every public parser, fed arbitrary bytes, arbitrary text and structured documents: none
//! panics, and each round trip gives back what went in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use reqwest::header::{
    CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use serde_json::{Map, Value, json};
use ucwa::{
    Challenge, DataUri, ErrorCode, ErrorKind, ErrorSubcode, Event, EventBatch, EventType, Format,
    Link, OperationId, Resource, RetryAfter, ServiceError, StatusCode,
};
use url::Url;

const UCWA: &str = "http://schemas.microsoft.com/rtc/2012/03/ucwa";
const OTHER_NAMESPACE: &str = "urn:example:other";

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(512)
}

fn origin() -> Url {
    Url::parse("https://fe1.contoso.com/").unwrap()
}

// ---------------------------------------------------------------------------------------------
// Feeding every parser.
// ---------------------------------------------------------------------------------------------

/// Reads a service error with this `Content-Type` (none when `None`), with `text` also in the
/// headers a service error reads, and checks that the body is kept raw exactly when it is not
/// a UCWA error body.
fn service_error(content_type: Option<&str>, text: &str, body: &[u8]) {
    let mut headers = HeaderMap::new();
    if let Some(content_type) = content_type.and_then(|value| HeaderValue::from_str(value).ok()) {
        headers.insert(CONTENT_TYPE, content_type);
    }
    if let Ok(value) = HeaderValue::from_str(text) {
        headers.insert(RETRY_AFTER, value.clone());
        headers.insert(WWW_AUTHENTICATE, value.clone());
        headers.insert(HeaderName::from_static("x-ms-diagnostics"), value);
    }
    let status = StatusCode::CONFLICT;
    let error = ServiceError::parse(status, &headers, Bytes::copy_from_slice(body));
    assert_eq!(error.status, status);
    match &error.raw_body {
        Some(raw) => {
            assert!(error.code.is_none());
            assert_eq!(&raw[..], body);
        }
        None => assert!(error.code.is_some() || body.is_empty()),
    }
    let _ = (
        error.kind(),
        error.to_string(),
        error.retry_after.map(|r| r.delay()),
    );
}

/// Runs every public parser on the input: each may refuse it, none may panic.
fn feed_everything(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let origin = origin();

    let json = Resource::from_json(bytes);
    assert_eq!(
        Resource::parse(bytes, Format::Json).ok(),
        json.as_ref().ok().cloned()
    );
    let xml = Resource::from_xml(bytes);
    assert_eq!(
        Resource::parse(bytes, Format::Xml).ok(),
        xml.as_ref().ok().cloned()
    );
    for error in [json.err(), xml.err()].into_iter().flatten() {
        assert_eq!(error.kind(), ErrorKind::Decode);
    }

    for batch in [
        Event::parse_batch(bytes, &origin),
        Event::parse_batch_as(bytes, Format::Json, &origin),
        Event::parse_batch_as(bytes, Format::Xml, &origin),
    ] {
        if let Err(error) = batch {
            assert_eq!(error.kind(), ErrorKind::Decode);
        }
    }

    if let Ok(uri) = DataUri::parse(&text) {
        assert!(!uri.media_type.is_empty());
    }
    let _ = Challenge::parse_header(&text);
    if let Some(retry_after) = RetryAfter::parse(&text) {
        let _ = retry_after.delay();
    }
    let _ = OperationId::new(text.as_ref());
    let _ = Format::from_content_type(&text);

    for content_type in [
        Some("application/json"),
        Some("application/xml"),
        Some("application/vnd.microsoft.com.ucwa+xml; charset=utf-8"),
        Some("text/html"),
        None,
    ] {
        service_error(content_type, &text, bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// Byte-level inputs: random bytes, random bytes after a telling prefix, mutated fixtures.
// ---------------------------------------------------------------------------------------------

/// The bodies of the reference's payloads, from their first `{` or `<` on.
fn fixture_bodies() -> Vec<&'static [u8]> {
    let files: [&'static [u8]; 12] = [
        include_bytes!("fixtures/events.json"),
        include_bytes!("fixtures/events.xml"),
        include_bytes!("fixtures/error.json"),
        include_bytes!("fixtures/error.xml"),
        include_bytes!("fixtures/audioVideoRenegotiation.started.event.json"),
        include_bytes!("fixtures/operation.started.event.http"),
        include_bytes!("fixtures/audioVideoSession.get.json.http"),
        include_bytes!("fixtures/audioVideoSession.get.xml.http"),
        include_bytes!("fixtures/renegotiations.post.201.json.http"),
        include_bytes!("fixtures/renegotiations.post.201.xml.http"),
        include_bytes!("fixtures/audioVideoRenegotiation.get.200.xml.http"),
        include_bytes!("fixtures/application.create.201.http"),
    ];
    files
        .into_iter()
        .map(|file| {
            let start = file
                .iter()
                .position(|byte| matches!(byte, b'{' | b'<'))
                .unwrap_or(0);
            &file[start..]
        })
        .collect()
}

/// Beginnings that steer a parser past its first byte.
const PREFIXES: &[&[u8]] = &[
    b"{",
    b"<",
    b"\xEF\xBB\xBF<",
    b"{\"_links\":{",
    b"{\"_embedded\":{\"a\":",
    b"{\"sender\":[{\"rel\":\"a\",\"href\":\"/a\",\"events\":[",
    b"<resource xmlns=\"http://schemas.microsoft.com/rtc/2012/03/ucwa\">",
    b"<events href=\"/e\"><sender rel=\"a\" href=\"/a\">",
    b"<reason><code>",
    b"<?xml version=\"1.0\"?>",
    b"data:",
    b"data:application/sdp;base64,",
    b"Bearer ",
    b"MsRtcOAuth href=\"",
    b"Sun, 06 Nov 1994 ",
];

/// Pieces worth splicing into a document.
const SPLICES: &[&[u8]] = &[
    b"<",
    b">",
    b"/>",
    b"</",
    b"\"",
    b"'",
    b"&",
    b"&amp;",
    b"&#0;",
    b"&#x110000;",
    b"&#xD800;",
    b"&bogus;",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"<!DOCTYPE r [<!ENTITY a \"b\">]>",
    b"<?pi?>",
    b"xmlns=\"urn:x\"",
    b"xmlns:u=\"http://schemas.microsoft.com/rtc/2012/03/ucwa\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"_links\"",
    b"\"_embedded\"",
    b"\"href\"",
    b"\\u0000",
    b"\\ud800",
    b"1e999",
    b"-0.0",
    b"\xff",
    b"\x00",
    b"\xEF\xBB\xBF",
    b"%",
    b"%zz",
    b"=",
    b"\\",
];

#[derive(Debug, Clone)]
enum Mutation {
    Overwrite(Index, u8),
    Insert(Index, Vec<u8>),
    Splice(Index, &'static [u8]),
    Delete(Index, usize),
    Truncate(Index),
    Repeat(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Overwrite(at, byte)),
        (any::<Index>(), vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<Index>(), select(SPLICES)).prop_map(|(at, piece)| Mutation::Splice(at, piece)),
        (any::<Index>(), 1usize..16).prop_map(|(at, len)| Mutation::Delete(at, len)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<Index>()).prop_map(|(from, to)| Mutation::Repeat(from, to)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        let at = |index: &Index| if len == 0 { 0 } else { index.index(len + 1) };
        match mutation {
            Mutation::Overwrite(index, byte) => {
                if len > 0 {
                    let i = index.index(len);
                    bytes[i] = *byte;
                }
            }
            Mutation::Insert(index, inserted) => {
                let i = at(index);
                bytes.splice(i..i, inserted.iter().copied());
            }
            Mutation::Splice(index, piece) => {
                let i = at(index);
                bytes.splice(i..i, piece.iter().copied());
            }
            Mutation::Delete(index, count) => {
                let i = at(index).min(len);
                bytes.drain(i..(i + count).min(len));
            }
            Mutation::Truncate(index) => bytes.truncate(at(index)),
            Mutation::Repeat(from, to) => {
                if len > 0 {
                    let (a, b) = (from.index(len), to.index(len));
                    let (start, end) = (a.min(b), a.max(b) + 1);
                    let copy = bytes[start..end].to_vec();
                    bytes.splice(end..end, copy);
                }
            }
        }
    }
    bytes
}

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..256),
        (select(PREFIXES), vec(any::<u8>(), 0..128))
            .prop_map(|(prefix, rest)| [prefix, &rest[..]].concat()),
        (select(fixture_bodies()), vec(mutation(), 1..8))
            .prop_map(|(body, mutations)| mutate(body.to_vec(), &mutations)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in hostile_bytes()) {
        feed_everything(&bytes);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        feed_everything(text.as_bytes());
    }

    #[test]
    fn printable_strings_never_panic(text in "\\PC{0,64}") {
        feed_everything(text.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// JSON values and JSON resources.
// ---------------------------------------------------------------------------------------------

/// Keys the parsers give meaning to, so random objects hit them often.
const KEYS: &[&str] = &[
    "_links",
    "_embedded",
    "href",
    "title",
    "revision",
    "rel",
    "self",
    "next",
    "resume",
    "resync",
    "baseuri",
    "sender",
    "events",
    "link",
    "type",
    "in",
    "status",
    "reason",
    "code",
    "subcode",
    "message",
    "debugInfo",
    "operationId",
];

/// Strings the parsers give meaning to.
const TEXTS: &[&str] = &[
    "",
    " ",
    "/ucwa/v1/applications/192",
    "events?ack=2",
    "https://pool.contoso.com/ucwa/",
    "http://[::1",
    "//other.example/x",
    "data:application/sdp;base64,dj0wDQo=",
    "started",
    "completed",
    "Failure",
    "Conflict",
    "AlreadyExists",
    "None",
    "\u{0}",
    "é",
];

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(KEYS).prop_map(str::to_owned),
        1 => "\\PC{0,8}",
    ]
}

fn json_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => select(TEXTS).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
        1 => any::<String>(),
    ]
}

/// Floats of every magnitude, and short decimals.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        (any::<i32>(), 0i32..4).prop_map(|(n, k)| f64::from(n) / 10f64.powi(k)),
        any::<f64>().prop_filter("a finite float", |float| float.is_finite()),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        float().prop_map(Value::from),
        json_text().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((json_key(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

fn one_or_many(values: Vec<Value>, single: bool) -> Value {
    match values.as_slice() {
        [one] if single => one.clone(),
        _ => Value::Array(values),
    }
}

fn link_value() -> impl Strategy<Value = Value> {
    (
        json_text(),
        option::of(prop_oneof![
            json_text().prop_map(Value::from),
            Just(Value::Null)
        ]),
        option::of(prop_oneof![
            json_text().prop_map(Value::from),
            any::<u32>().prop_map(Value::from),
            float().prop_map(Value::from),
            Just(Value::Null),
        ]),
        vec((json_key(), json_leaf()), 0..3),
    )
        .prop_map(|(href, title, revision, extra)| {
            let mut link: Map<String, Value> = extra.into_iter().collect();
            link.insert("href".into(), href.into());
            link.remove("title");
            link.remove("revision");
            if let Some(title) = title {
                link.insert("title".into(), title);
            }
            if let Some(revision) = revision {
                link.insert("revision".into(), revision);
            }
            Value::Object(link)
        })
}

/// A JSON object of the resource shape: every part of it valid, every value random.
fn resource_value() -> impl Strategy<Value = Value> {
    let links = || vec((json_key(), vec(link_value(), 0..3), any::<bool>()), 0..4);
    let properties = || vec((json_key(), json_value()), 0..5);
    let leaf = (links(), properties())
        .prop_map(|(links, properties)| resource_object(links, properties, Vec::new()));
    leaf.prop_recursive(3, 24, 3, move |inner| {
        (
            links(),
            properties(),
            vec((json_key(), vec(inner, 0..3), any::<bool>()), 0..3),
        )
            .prop_map(|(links, properties, embedded)| resource_object(links, properties, embedded))
    })
}

type Grouped = Vec<(String, Vec<Value>, bool)>;

fn resource_object(links: Grouped, properties: Vec<(String, Value)>, embedded: Grouped) -> Value {
    let mut object: Map<String, Value> = properties.into_iter().collect();
    let group = |members: Grouped| -> Value {
        Value::Object(
            members
                .into_iter()
                .map(|(rel, values, single)| (rel, one_or_many(values, single)))
                .collect(),
        )
    };
    object.insert("_links".into(), group(links));
    if embedded.is_empty() {
        object.remove("_embedded");
    } else {
        object.insert("_embedded".into(), group(embedded));
    }
    Value::Object(object)
}

fn assert_json_round_trip(resource: &Resource) -> Result<(), TestCaseError> {
    let json = serde_json::to_vec(resource).unwrap();
    let again = Resource::from_json(&json).map_err(|error| {
        TestCaseError::fail(format!(
            "{error}: {:?} in {}",
            std::error::Error::source(&error).map(ToString::to_string),
            String::from_utf8_lossy(&json)
        ))
    })?;
    prop_assert_eq!(&again, resource);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_json_values_never_panic(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        feed_everything(&body);
        if let Ok(resource) = Resource::from_json(&body) {
            assert_json_round_trip(&resource)?;
        }
    }

    #[test]
    fn json_resources_round_trip(value in resource_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        let resource = Resource::from_json(&body).map_err(|error| {
            TestCaseError::fail(format!("{error:?}: {}", String::from_utf8_lossy(&body)))
        })?;
        assert_json_round_trip(&resource)?;
        // Every member that is neither `_links` nor `_embedded` is kept as a property.
        let object = value.as_object().unwrap();
        for (name, member) in object {
            if name != "_links" && name != "_embedded" {
                prop_assert_eq!(resource.property(name), Some(member));
            }
        }
        prop_assert_eq!(
            resource.properties().len(),
            object.keys().filter(|name| *name != "_links" && *name != "_embedded").count()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Event batches, rendered in JSON and in XML from one model.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct BatchModel {
    self_href: Option<String>,
    /// `next`, `resume` and `resync`, each present or not.
    follow: [Option<String>; 3],
    baseuri: Option<String>,
    senders: Vec<SenderModel>,
}

#[derive(Debug, Clone)]
struct SenderModel {
    rel: String,
    href: String,
    events: Vec<EventModel>,
}

#[derive(Debug, Clone)]
struct EventModel {
    kind: String,
    rel: String,
    href: String,
    title: Option<String>,
    in_link: Option<(String, String)>,
    status: Option<String>,
    reason: Option<(String, Option<String>, Option<String>)>,
    embedded: Option<(String, Vec<(String, String)>)>,
}

const FOLLOW_RELS: [&str; 3] = ["next", "resume", "resync"];

fn rel() -> impl Strategy<Value = String> {
    "[a-z][a-zA-Z0-9]{0,11}"
}

/// An href that resolves against any https base.
fn safe_href() -> impl Strategy<Value = String> {
    prop_oneof![
        "/ucwa/v1/[a-z0-9/]{1,20}(\\?ack=[0-9]{1,3})?",
        "[a-z]{1,8}(\\?ack=[0-9]{1,3})?",
        "https://pool\\.contoso\\.com(:[1-9][0-9]{0,3})?/[a-z0-9/]{0,12}",
        "data:application/sdp;base64,[A-Za-z0-9+/]{0,16}",
    ]
}

/// Text without surrounding whitespace or control characters, with characters XML escapes.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9&<>\"' ,.:/=?%é-]{0,20}".prop_map(|text| text.trim().to_owned())
}

fn event_model() -> impl Strategy<Value = EventModel> {
    (
        prop_oneof![
            select(
                &[
                    "added",
                    "updated",
                    "deleted",
                    "started",
                    "completed",
                    "Completed"
                ][..]
            )
            .prop_map(str::to_owned),
            "[a-z][a-zA-Z]{0,8}",
        ],
        rel(),
        safe_href(),
        option::of(text()),
        option::of((rel(), safe_href())),
        option::of(
            select(&["Success", "Failure", "success", "Pending"][..]).prop_map(str::to_owned),
        ),
        option::of((
            prop_oneof![
                select(&["Conflict", "ServiceFailure", "Gone"][..]).prop_map(str::to_owned),
                text()
            ],
            option::of(prop_oneof![
                select(&["None", "AlreadyExists", "CallTerminated"][..]).prop_map(str::to_owned),
                text()
            ]),
            option::of(text()),
        )),
        option::of((rel(), vec(("[a-q][a-zA-Z0-9]{0,7}", text()), 0..3))),
    )
        .prop_map(
            |(kind, rel, href, title, in_link, status, reason, embedded)| EventModel {
                kind,
                rel,
                href,
                title,
                in_link,
                status,
                reason,
                embedded: embedded.map(|(rel, properties)| (rel, unique(properties))),
            },
        )
}

fn unique(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    pairs
        .into_iter()
        .filter(|(name, _)| {
            let fresh = !seen.contains(name);
            seen.push(name.clone());
            fresh
        })
        .collect()
}

fn batch_model() -> impl Strategy<Value = BatchModel> {
    (
        option::of(safe_href()),
        [
            option::of(safe_href()),
            option::of(safe_href()),
            option::of(safe_href()),
        ],
        option::of(prop_oneof![
            Just("https://pool.contoso.com/".to_owned()),
            Just("/ucwa/oauth/".to_owned()),
            Just("https://fe2.contoso.com:4443/x/".to_owned()),
        ]),
        vec(
            (rel(), safe_href(), vec(event_model(), 0..4))
                .prop_map(|(rel, href, events)| SenderModel { rel, href, events }),
            0..4,
        ),
    )
        .prop_map(|(self_href, follow, baseuri, senders)| BatchModel {
            self_href,
            follow,
            baseuri,
            senders,
        })
}

fn batch_json(batch: &BatchModel) -> Value {
    let mut links = Map::new();
    if let Some(href) = &batch.self_href {
        links.insert("self".into(), json!({ "href": href }));
    }
    for (rel, href) in FOLLOW_RELS.iter().zip(&batch.follow) {
        if let Some(href) = href {
            links.insert((*rel).into(), json!({ "href": href }));
        }
    }
    let senders: Vec<Value> = batch
        .senders
        .iter()
        .map(|sender| {
            let events: Vec<Value> = sender.events.iter().map(event_json).collect();
            json!({ "rel": sender.rel, "href": sender.href, "events": events })
        })
        .collect();
    let mut object = json!({ "_links": links, "sender": senders });
    if let Some(baseuri) = &batch.baseuri {
        object["baseuri"] = json!(baseuri);
    }
    object
}

fn event_json(event: &EventModel) -> Value {
    let mut link = json!({ "rel": event.rel, "href": event.href });
    if let Some(title) = &event.title {
        link["title"] = json!(title);
    }
    let mut object = json!({ "link": link, "type": event.kind });
    if let Some((rel, href)) = &event.in_link {
        object["in"] = json!({ "rel": rel, "href": href });
    }
    if let Some(status) = &event.status {
        object["status"] = json!(status);
    }
    if let Some((code, subcode, message)) = &event.reason {
        let mut reason = json!({ "code": code });
        if let Some(subcode) = subcode {
            reason["subcode"] = json!(subcode);
        }
        if let Some(message) = message {
            reason["message"] = json!(message);
        }
        object["reason"] = reason;
    }
    if let Some((rel, properties)) = &event.embedded {
        let mut resource = json!({ "rel": rel });
        for (name, value) in properties {
            resource[name] = json!(value);
        }
        object["_embedded"] = Value::Object(Map::from_iter([(rel.clone(), resource)]));
    }
    object
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            other => escaped.push(other),
        }
    }
    escaped
}

fn batch_xml(batch: &BatchModel) -> String {
    let mut xml = format!(r#"<?xml version="1.0" encoding="utf-8"?><events xmlns="{UCWA}""#);
    if let Some(href) = &batch.self_href {
        xml.push_str(&format!(r#" href="{}""#, escape(href)));
    }
    if let Some(baseuri) = &batch.baseuri {
        xml.push_str(&format!(r#" baseuri="{}""#, escape(baseuri)));
    }
    xml.push('>');
    for (rel, href) in FOLLOW_RELS.iter().zip(&batch.follow) {
        if let Some(href) = href {
            xml.push_str(&format!(r#"<link rel="{rel}" href="{}"/>"#, escape(href)));
        }
    }
    for sender in &batch.senders {
        xml.push_str(&format!(
            r#"<sender rel="{}" href="{}">"#,
            sender.rel,
            escape(&sender.href)
        ));
        for event in &sender.events {
            event_xml(event, &mut xml);
        }
        xml.push_str("</sender>");
    }
    xml.push_str("</events>");
    xml
}

fn event_xml(event: &EventModel, xml: &mut String) {
    xml.push_str(&format!(
        r#"<{} rel="{}" href="{}""#,
        event.kind,
        event.rel,
        escape(&event.href)
    ));
    if let Some(title) = &event.title {
        xml.push_str(&format!(r#" title="{}""#, escape(title)));
    }
    xml.push('>');
    if let Some((rel, href)) = &event.in_link {
        xml.push_str(&format!(r#"<in rel="{rel}" href="{}"/>"#, escape(href)));
    }
    if let Some(status) = &event.status {
        xml.push_str(&format!("<status>{}</status>", escape(status)));
    }
    if let Some((code, subcode, message)) = &event.reason {
        xml.push_str(&format!("<reason><code>{}</code>", escape(code)));
        if let Some(subcode) = subcode {
            xml.push_str(&format!("<subcode>{}</subcode>", escape(subcode)));
        }
        if let Some(message) = message {
            xml.push_str(&format!("<message>{}</message>", escape(message)));
        }
        xml.push_str("</reason>");
    }
    if let Some((rel, properties)) = &event.embedded {
        xml.push_str(&format!(r#"<resource rel="{rel}">"#));
        for (name, value) in properties {
            xml.push_str(&format!(
                r#"<property name="{name}">{}</property>"#,
                escape(value)
            ));
        }
        xml.push_str("</resource>");
    }
    xml.push_str(&format!("</{}>", event.kind));
}

/// Checks a parsed batch against the model it was rendered from.
fn check_batch(batch: &EventBatch, model: &BatchModel) -> Result<(), TestCaseError> {
    let base = match &model.baseuri {
        Some(baseuri) => origin().join(baseuri).unwrap(),
        None => origin(),
    };
    let resolve = |href: &str| base.join(href).unwrap();
    prop_assert_eq!(
        batch.self_link.clone(),
        model.self_href.as_deref().map(resolve)
    );
    prop_assert_eq!(batch.next.clone(), model.follow[0].as_deref().map(resolve));
    let expected_follow = model
        .follow
        .iter()
        .find_map(|href| href.as_deref())
        .map(resolve);
    prop_assert_eq!(
        batch.follow.as_ref().map(|follow| follow.url()),
        expected_follow.as_ref()
    );

    let expected: Vec<(&SenderModel, &EventModel)> = model
        .senders
        .iter()
        .flat_map(|sender| sender.events.iter().map(move |event| (sender, event)))
        .collect();
    prop_assert_eq!(batch.events.len(), expected.len());
    for (event, (sender, model)) in batch.events.iter().zip(expected) {
        prop_assert_eq!(&event.sender.rel, &sender.rel);
        prop_assert_eq!(&event.sender.href, &resolve(&sender.href));
        prop_assert_eq!(&event.event_type, &EventType::parse(&model.kind));
        prop_assert_eq!(&event.link.rel, &model.rel);
        prop_assert_eq!(&event.link.href, &resolve(&model.href));
        prop_assert_eq!(&event.link.title, &model.title);
        prop_assert_eq!(
            event
                .in_link
                .as_ref()
                .map(|link| (link.rel.clone(), link.href.clone())),
            model
                .in_link
                .as_ref()
                .map(|(rel, href)| (rel.clone(), resolve(href)))
        );
        prop_assert_eq!(event.status.is_some(), model.status.is_some());
        match (&event.reason, &model.reason) {
            (None, None) => {}
            (Some(reason), Some((code, subcode, message))) => {
                prop_assert_eq!(reason.code.as_ref(), Some(&ErrorCode::from(code.as_str())));
                prop_assert_eq!(&reason.subcode, &expected_subcode(subcode.as_deref()));
                prop_assert_eq!(&reason.message, message);
            }
            (found, wanted) => {
                return Err(TestCaseError::fail(format!(
                    "reason {found:?}, wanted {wanted:?}"
                )));
            }
        }
        match (&event.resource, &model.embedded) {
            (None, None) => {}
            (Some(resource), Some((rel, properties))) => {
                prop_assert_eq!(resource.rel(), Some(rel.as_str()));
                for (name, value) in properties {
                    prop_assert_eq!(resource.property_str(name), Some(value.as_str()));
                }
            }
            (found, wanted) => {
                return Err(TestCaseError::fail(format!(
                    "resource {found:?}, wanted {wanted:?}"
                )));
            }
        }
    }
    Ok(())
}

fn expected_subcode(subcode: Option<&str>) -> Option<ErrorSubcode> {
    subcode
        .filter(|text| !text.is_empty() && !text.eq_ignore_ascii_case("none"))
        .map(ErrorSubcode::from)
}

/// Replaces the `index`-th node of the value (in document order) with `replacement`.
fn replace_node(value: &mut Value, index: &mut usize, replacement: &Value) -> bool {
    if *index == 0 {
        *value = replacement.clone();
        return true;
    }
    *index -= 1;
    match value {
        Value::Array(items) => items
            .iter_mut()
            .any(|item| replace_node(item, index, replacement)),
        Value::Object(members) => members
            .values_mut()
            .any(|member| replace_node(member, index, replacement)),
        _ => false,
    }
}

fn count_nodes(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(members) => members.values().map(count_nodes).sum(),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn event_batches_read_the_same_in_json_and_xml(model in batch_model()) {
        let json = serde_json::to_vec(&batch_json(&model)).unwrap();
        let xml = batch_xml(&model);
        let from_json = Event::parse_batch(&json, &origin()).map_err(|error| {
            TestCaseError::fail(format!("{error:?}: {}", String::from_utf8_lossy(&json)))
        })?;
        let from_xml = Event::parse_batch(xml.as_bytes(), &origin())
            .map_err(|error| TestCaseError::fail(format!("{error:?}: {xml}")))?;
        check_batch(&from_json, &model)?;
        check_batch(&from_xml, &model)?;
        prop_assert_eq!(from_json, from_xml);
    }

    #[test]
    fn event_batches_with_a_random_part_never_panic(
        model in batch_model(),
        node in any::<Index>(),
        replacement in json_value(),
    ) {
        let mut value = batch_json(&model);
        let mut index = node.index(count_nodes(&value));
        replace_node(&mut value, &mut index, &replacement);
        feed_everything(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn mutated_event_batches_never_panic(
        model in batch_model(),
        xml in any::<bool>(),
        mutations in vec(mutation(), 1..6),
    ) {
        let body = if xml {
            batch_xml(&model).into_bytes()
        } else {
            serde_json::to_vec(&batch_json(&model)).unwrap()
        };
        feed_everything(&mutate(body, &mutations));
    }

    #[test]
    fn random_values_as_event_batches_never_panic(value in json_value()) {
        let body = serde_json::to_vec(&json!({ "sender": [value] })).unwrap();
        if let Err(error) = Event::parse_batch(&body, &origin()) {
            prop_assert_eq!(error.kind(), ErrorKind::Decode);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// XML documents from a small grammar.
// ---------------------------------------------------------------------------------------------

/// A piece of text as written in the document, and what it reads as.
#[derive(Debug, Clone)]
struct Piece {
    raw: String,
    decoded: String,
}

impl Piece {
    fn valid(raw: impl Into<String>, decoded: impl Into<String>) -> Self {
        Piece {
            raw: raw.into(),
            decoded: decoded.into(),
        }
    }
}

fn is_xml_char(character: char) -> bool {
    matches!(
        character,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..
    )
}

fn reference() -> impl Strategy<Value = Piece> {
    prop_oneof![
        select(
            &[
                ("&amp;", "&"),
                ("&lt;", "<"),
                ("&gt;", ">"),
                ("&quot;", "\""),
                ("&apos;", "'")
            ][..]
        )
        .prop_map(|(raw, decoded)| Piece::valid(raw, decoded)),
        (
            any::<char>().prop_filter("an xml character", |c| is_xml_char(*c)),
            any::<bool>()
        )
            .prop_map(|(character, hex)| {
                let raw = if hex {
                    format!("&#x{:X};", u32::from(character))
                } else {
                    format!("&#{};", u32::from(character))
                };
                Piece::valid(raw, character.to_string())
            }),
    ]
}

fn broken_piece() -> impl Strategy<Value = Piece> {
    select(
        &[
            "&bogus;",
            "&#0;",
            "&#x0;",
            "&#xD800;",
            "&#x110000;",
            "&#;",
            "&#x;",
            "&",
            "<",
            "&amp",
            "&#x41",
            "]]>",
            "\u{0}",
            "\u{1}",
            "<!DOCTYPE r>",
            "<!ENTITY a \"b\">",
            "&a;",
        ][..],
    )
    .prop_map(|raw| Piece::valid(raw, ""))
}

/// Text content: plain runs, references and CDATA sections (and, when `broken`, pieces a
/// reader must refuse or may read in its own way).
fn text_pieces(broken: bool) -> BoxedStrategy<Vec<Piece>> {
    let plain =
        "[a-zA-Z0-9 .,:/=?%é\"'>\n\t-]{1,8}".prop_map(|text| Piece::valid(text.clone(), text));
    let cdata =
        "[a-z<>&\" ]{0,8}".prop_map(|text| Piece::valid(format!("<![CDATA[{text}]]>"), text));
    let piece = if broken {
        prop_oneof![4 => plain, 2 => reference(), 1 => cdata, 1 => broken_piece()].boxed()
    } else {
        prop_oneof![4 => plain, 2 => reference(), 1 => cdata].boxed()
    };
    vec(piece, 0..5).boxed()
}

/// Attribute values: plain runs without quotes or whitespace other than spaces, and references.
fn attribute_pieces(broken: bool) -> BoxedStrategy<Vec<Piece>> {
    let plain = "[a-zA-Z0-9 .,:/=?%é>'-]{1,8}".prop_map(|text| Piece::valid(text.clone(), text));
    let piece = if broken {
        prop_oneof![4 => plain, 2 => reference(), 1 => broken_piece()].boxed()
    } else {
        prop_oneof![4 => plain, 2 => reference()].boxed()
    };
    vec(piece, 0..4).boxed()
}

fn raw(pieces: &[Piece]) -> String {
    pieces.iter().map(|piece| piece.raw.as_str()).collect()
}

fn decoded(pieces: &[Piece]) -> String {
    pieces.iter().map(|piece| piece.decoded.as_str()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Prefix {
    /// No prefix: the default namespace of the document.
    Default,
    /// `u:`, bound to the UCWA namespace.
    Ucwa,
    /// `o:`, bound to another namespace.
    Other,
    /// `z:`, bound to nothing.
    Unbound,
}

#[derive(Debug, Clone)]
enum Node {
    Element(XmlElement),
    Text(Vec<Piece>),
    Comment(String),
    Instruction(String),
}

#[derive(Debug, Clone)]
struct XmlElement {
    prefix: Prefix,
    name: String,
    attributes: Vec<(String, Vec<Piece>)>,
    children: Vec<Node>,
}

#[derive(Debug, Clone)]
struct XmlDocument {
    declaration: bool,
    bom: bool,
    default_namespace: Option<&'static str>,
    root: XmlElement,
}

const ELEMENT_NAMES: &[&str] = &[
    "resource",
    "link",
    "property",
    "propertyList",
    "item",
    "events",
    "sender",
    "added",
    "updated",
    "completed",
    "in",
    "reason",
    "code",
    "subcode",
    "message",
    "debugInfo",
    "parameters",
    "status",
];

const ATTRIBUTE_NAMES: &[&str] = &[
    "rel", "href", "name", "title", "revision", "status", "baseuri",
];

fn element_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(ELEMENT_NAMES).prop_map(str::to_owned),
        1 => "[a-wA-Z_][a-zA-Z0-9._-]{0,6}",
    ]
}

fn attribute_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(ATTRIBUTE_NAMES).prop_map(str::to_owned),
        1 => "[a-w][a-zA-Z0-9]{0,6}",
    ]
}

fn prefix(broken: bool) -> BoxedStrategy<Prefix> {
    if broken {
        prop_oneof![
            6 => Just(Prefix::Default),
            2 => Just(Prefix::Ucwa),
            1 => Just(Prefix::Other),
            1 => Just(Prefix::Unbound),
        ]
        .boxed()
    } else {
        prop_oneof![6 => Just(Prefix::Default), 2 => Just(Prefix::Ucwa), 1 => Just(Prefix::Other)]
            .boxed()
    }
}

fn attributes(broken: bool) -> impl Strategy<Value = Vec<(String, Vec<Piece>)>> {
    vec((attribute_name(), attribute_pieces(broken)), 0..4).prop_map(|attributes| {
        let mut seen: Vec<String> = Vec::new();
        attributes
            .into_iter()
            .filter(|(name, _)| {
                let fresh = !seen.contains(name);
                seen.push(name.clone());
                fresh
            })
            .collect()
    })
}

fn xml_element(broken: bool) -> BoxedStrategy<XmlElement> {
    let leaf = (prefix(broken), element_name(), attributes(broken)).prop_map(
        |(prefix, name, attributes)| XmlElement {
            prefix,
            name,
            attributes,
            children: Vec::new(),
        },
    );
    leaf.prop_recursive(4, 48, 5, move |inner| {
        let node = prop_oneof![
            4 => inner.prop_map(Node::Element),
            3 => text_pieces(broken).prop_map(Node::Text),
            1 => "[a-z ]{0,8}".prop_map(Node::Comment),
            1 => "p[a-z]{0,5}( [a-z]{1,5})?".prop_map(Node::Instruction),
        ];
        (
            prefix(broken),
            element_name(),
            attributes(broken),
            vec(node, 0..5),
        )
            .prop_map(|(prefix, name, attributes, children)| XmlElement {
                prefix,
                name,
                attributes,
                children,
            })
    })
    .boxed()
}

fn xml_document(broken: bool) -> impl Strategy<Value = XmlDocument> {
    (
        any::<bool>(),
        any::<bool>(),
        select(&[None, Some(UCWA), Some(OTHER_NAMESPACE)][..]),
        prop_oneof![
            2 => select(&["resource", "events", "reason"][..]).prop_map(str::to_owned),
            1 => element_name(),
        ],
        xml_element(broken),
    )
        .prop_map(
            |(declaration, bom, default_namespace, root_name, mut root)| {
                root.name = root_name;
                XmlDocument {
                    declaration,
                    bom,
                    default_namespace,
                    root,
                }
            },
        )
}

impl XmlDocument {
    fn render(&self) -> Vec<u8> {
        let mut xml = String::new();
        if self.bom {
            xml.push('\u{FEFF}');
        }
        if self.declaration {
            xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        }
        let mut namespaces = format!(r#" xmlns:u="{UCWA}" xmlns:o="{OTHER_NAMESPACE}""#);
        if let Some(namespace) = self.default_namespace {
            namespaces.push_str(&format!(r#" xmlns="{namespace}""#));
        }
        render_element(&self.root, &namespaces, &mut xml);
        xml.into_bytes()
    }

    /// Whether the root is UCWA's `<resource>`.
    fn is_ucwa_resource(&self) -> bool {
        self.root.name == "resource"
            && match self.root.prefix {
                Prefix::Default => self.default_namespace != Some(OTHER_NAMESPACE),
                Prefix::Ucwa => true,
                Prefix::Other | Prefix::Unbound => false,
            }
    }
}

fn render_element(element: &XmlElement, namespaces: &str, xml: &mut String) {
    let name = match element.prefix {
        Prefix::Default => element.name.clone(),
        Prefix::Ucwa => format!("u:{}", element.name),
        Prefix::Other => format!("o:{}", element.name),
        Prefix::Unbound => format!("z:{}", element.name),
    };
    xml.push('<');
    xml.push_str(&name);
    xml.push_str(namespaces);
    for (attribute, value) in &element.attributes {
        xml.push_str(&format!(r#" {attribute}="{}""#, raw(value)));
    }
    if element.children.is_empty() {
        xml.push_str("/>");
        return;
    }
    xml.push('>');
    for child in &element.children {
        match child {
            Node::Element(child) => render_element(child, "", xml),
            Node::Text(pieces) => xml.push_str(&raw(pieces)),
            Node::Comment(text) => xml.push_str(&format!("<!--{text}-->")),
            Node::Instruction(text) => xml.push_str(&format!("<?{text}?>")),
        }
    }
    xml.push_str(&format!("</{name}>"));
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn well_formed_xml_documents_parse(document in xml_document(false)) {
        let body = document.render();
        feed_everything(&body);
        let resource = Resource::from_xml(&body);
        if document.is_ucwa_resource() {
            let resource = resource.map_err(|error| {
                TestCaseError::fail(format!("{error:?}: {}", String::from_utf8_lossy(&body)))
            })?;
            assert_json_round_trip(&resource)?;
        } else {
            prop_assert!(resource.is_err());
        }
    }

    #[test]
    fn broken_xml_documents_never_panic(
        document in xml_document(true),
        mutations in vec(mutation(), 0..4),
    ) {
        let body = mutate(document.render(), &mutations);
        feed_everything(&body);
        if let Ok(resource) = Resource::from_xml(&body) {
            assert_json_round_trip(&resource)?;
        }
    }

    #[test]
    fn xml_text_and_attributes_decode(
        properties in vec(("[a-z][a-zA-Z0-9]{0,7}", text_pieces(false)), 0..5),
        links in vec(
            ("[a-z][a-zA-Z0-9]{0,7}", attribute_pieces(false), attribute_pieces(false)),
            0..4,
        ),
        list in vec(text_pieces(false), 0..4),
    ) {
        let mut xml = format!(r#"<resource xmlns="{UCWA}" rel="r">"#);
        for (name, pieces) in &properties {
            xml.push_str(&format!(r#"<property name="p{name}">{}</property>"#, raw(pieces)));
        }
        for (rel, href, title) in &links {
            xml.push_str(&format!(
                r#"<link rel="l{rel}" href="{}" title="{}"/>"#,
                raw(href),
                raw(title)
            ));
        }
        xml.push_str(r#"<propertyList name="list">"#);
        for item in &list {
            xml.push_str(&format!("<item>{}</item>", raw(item)));
        }
        xml.push_str("</propertyList></resource>");

        let resource = Resource::from_xml(xml.as_bytes())
            .map_err(|error| TestCaseError::fail(format!("{error:?}: {xml}")))?;
        let mut expected_properties = Map::new();
        for (name, pieces) in &properties {
            expected_properties.insert(format!("p{name}"), Value::from(decoded(pieces).trim()));
        }
        for (name, value) in &expected_properties {
            prop_assert_eq!(resource.property(name), Some(value), "in {}", xml);
        }
        for (rel, href, title) in &links {
            let found = resource.links().get_all(&format!("l{rel}"));
            let matches = |link: &Link| {
                link.href == decoded(href) && link.title.as_deref() == Some(decoded(title).as_str())
            };
            prop_assert!(found.iter().any(matches), "in {}", xml);
        }
        let items: Vec<Value> = list.iter().map(|item| Value::from(decoded(item).trim())).collect();
        prop_assert_eq!(resource.property("list"), Some(&Value::Array(items)));
        assert_json_round_trip(&resource)?;
    }

    #[test]
    fn deep_xml_is_bounded(depth in 1usize..160, name in element_name()) {
        let body = format!(
            r#"<resource xmlns="{UCWA}">{}{}</resource>"#,
            format!("<{name}>").repeat(depth - 1),
            format!("</{name}>").repeat(depth - 1)
        );
        let result = Resource::from_xml(body.as_bytes());
        if depth <= 32 {
            prop_assert!(result.is_ok(), "depth {}", depth);
        } else if depth >= 64 {
            prop_assert!(result.is_err(), "depth {}", depth);
        }
        feed_everything(body.as_bytes());
    }

    #[test]
    fn deep_json_is_bounded(depth in 1usize..200, array in any::<bool>()) {
        let (open, close) = if array {
            (r#"{"_embedded":{"a":["#, "]}}")
        } else {
            (r#"{"_embedded":{"a":"#, "}}")
        };
        let body = format!("{}{{}}{}", open.repeat(depth), close.repeat(depth));
        let result = Resource::from_json(body.as_bytes());
        if depth <= 32 {
            prop_assert!(result.is_ok(), "depth {}", depth);
        } else if depth >= 128 {
            prop_assert!(result.is_err(), "depth {}", depth);
        }
        feed_everything(body.as_bytes());
    }
}

// ---------------------------------------------------------------------------------------------
// Error bodies.
// ---------------------------------------------------------------------------------------------

fn error_text() -> impl Strategy<Value = String> {
    prop_oneof![
        select(
            &[
                "Conflict",
                "conflict",
                "NotFound",
                "ServiceFailure",
                "AlreadyExists",
                "ApplicationNotFound",
                "None",
                "none",
                ""
            ][..]
        )
        .prop_map(str::to_owned),
        text(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn error_bodies_read_the_same_in_json_and_xml(
        code in error_text(),
        subcode in option::of(error_text()),
        message in option::of(text()),
        status in select(&[400u16, 404, 409, 410, 500, 503][..]),
    ) {
        let mut json_body = json!({ "code": code });
        let mut xml_body = format!(r#"<reason xmlns="{UCWA}"><code>{}</code>"#, escape(&code));
        if let Some(subcode) = &subcode {
            json_body["subcode"] = json!(subcode);
            xml_body.push_str(&format!("<subcode>{}</subcode>", escape(subcode)));
        }
        if let Some(message) = &message {
            json_body["message"] = json!(message);
            xml_body.push_str(&format!("<message>{}</message>", escape(message)));
        }
        xml_body.push_str("</reason>");
        let json_body = serde_json::to_vec(&json_body).unwrap();

        let status = StatusCode::from_u16(status).unwrap();
        let mut parsed = Vec::new();
        for (content_type, body) in [
            (Some("application/json"), &json_body[..]),
            (None, &json_body[..]),
            (Some("application/xml"), xml_body.as_bytes()),
            (None, xml_body.as_bytes()),
        ] {
            let mut headers = HeaderMap::new();
            if let Some(content_type) = content_type {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            let error = ServiceError::parse(status, &headers, Bytes::copy_from_slice(body));
            prop_assert_eq!(error.code.as_ref(), Some(&ErrorCode::from(code.as_str())));
            prop_assert_eq!(&error.subcode, &expected_subcode(subcode.as_deref()));
            prop_assert_eq!(&error.message, &message);
            prop_assert!(error.raw_body.is_none());
            parsed.push(error.kind());
        }
        prop_assert!(parsed.windows(2).all(|pair| pair[0] == pair[1]));
    }
}

// ---------------------------------------------------------------------------------------------
// `data:` URIs.
// ---------------------------------------------------------------------------------------------

fn media_type() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => select(&["application/sdp", "text/plain", "Application/SDP"][..])
            .prop_map(str::to_owned),
        3 => "[a-zA-Z0-9!#$&^_.+-]{1,12}/[a-zA-Z0-9!#$&^_.+-]{1,12}",
    ]
}

fn parameter() -> impl Strategy<Value = String> {
    "[a-z]{1,8}=[a-zA-Z0-9-]{1,8}"
}

/// Percent-encodes every byte that `keep` does not keep, in upper or lower case hex.
fn percent_encode(data: &[u8], keep: &[bool], lower: &[bool]) -> String {
    let mut text = String::new();
    for (i, byte) in data.iter().enumerate() {
        let plain = byte.is_ascii_graphic() && *byte != b'%';
        if plain && keep.get(i).copied().unwrap_or(false) {
            text.push(char::from(*byte));
        } else if lower.get(i).copied().unwrap_or(false) {
            text.push_str(&format!("%{byte:02x}"));
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    text
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn base64_data_uris_round_trip(
        media_type in media_type(),
        parameters in vec(parameter(), 0..3),
        data in vec(any::<u8>(), 0..512),
    ) {
        let full_type = std::iter::once(media_type.clone())
            .chain(parameters.iter().cloned())
            .collect::<Vec<_>>()
            .join(";");
        let uri = DataUri::encode_base64(&full_type, &data);
        let parsed = DataUri::parse(&uri).unwrap();
        prop_assert_eq!(&parsed.data[..], &data[..]);
        let expected_type = if media_type.is_empty() {
            "text/plain".to_owned()
        } else {
            media_type.to_ascii_lowercase()
        };
        prop_assert_eq!(parsed.media_type, expected_type);
        prop_assert_eq!(parsed.parameters, parameters);
    }

    #[test]
    fn percent_encoded_data_uris_round_trip(
        media_type in media_type(),
        data in vec(any::<u8>(), 0..256),
        keep in vec(any::<bool>(), 256),
        lower in vec(any::<bool>(), 256),
    ) {
        let uri = format!("data:{media_type},{}", percent_encode(&data, &keep, &lower));
        let parsed = DataUri::parse(&uri).unwrap();
        prop_assert_eq!(&parsed.data[..], &data[..]);
    }

    #[test]
    fn percent_encoded_and_wrapped_base64_round_trips(
        data in vec(any::<u8>(), 1..256),
        lower in vec(any::<bool>(), 512),
        breaks in vec(
            (any::<Index>(), select(&["\r\n", "\n", " ", "\t", "%0D%0A", "%20"][..])),
            0..4,
        ),
    ) {
        let plain = DataUri::encode_base64("application/sdp", &data);
        let (head, content) = plain.split_once(',').unwrap();
        let content: Vec<u8> = content.bytes().collect();
        let keep: Vec<bool> = content.iter().map(|byte| byte.is_ascii_alphanumeric()).collect();
        let mut encoded = percent_encode(&content, &keep, &lower);
        let mut offsets: Vec<usize> =
            breaks.iter().map(|(at, _)| at.index(encoded.len() + 1)).collect();
        offsets.sort_unstable();
        for ((_, text), offset) in breaks.iter().zip(offsets).rev() {
            // Never inside a percent escape.
            let offset = (0..=offset).rev().find(|&i| {
                !encoded[..i].ends_with('%') && !encoded[..i.saturating_sub(1)].ends_with('%')
            }).unwrap_or(0);
            encoded.insert_str(offset, text);
        }
        let parsed = DataUri::parse(&format!("{head},{encoded}"))
            .map_err(|error| TestCaseError::fail(format!("{error:?}: {encoded}")))?;
        prop_assert_eq!(&parsed.data[..], &data[..]);
    }
}

// ---------------------------------------------------------------------------------------------
// `WWW-Authenticate`.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct ChallengeModel {
    scheme: String,
    params: Vec<(String, String, bool)>,
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn challenge_model() -> impl Strategy<Value = ChallengeModel> {
    let param = prop_oneof![
        (token(), "\\PC{0,16}").prop_map(|(name, value)| (name, value, true)),
        (token(), any::<String>()).prop_map(|(name, value)| (name, value, true)),
        (token(), "[A-Za-z0-9!#$%&'*+.^_`|~/:-]{1,12}")
            .prop_map(|(name, value)| (name, value, false)),
    ];
    (token(), vec(param, 0..4)).prop_map(|(scheme, params)| ChallengeModel { scheme, params })
}

fn quote(value: &str) -> String {
    let mut quoted = String::from("\"");
    for character in value.chars() {
        if character == '"' || character == '\\' {
            quoted.push('\\');
        }
        quoted.push(character);
    }
    quoted.push('"');
    quoted
}

fn spaces() -> impl Strategy<Value = &'static str> {
    select(&["", " ", "  ", "\t"][..])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn challenges_round_trip(
        models in vec(challenge_model(), 0..4),
        gaps in vec((spaces(), spaces(), spaces()), 32),
    ) {
        let mut header = String::new();
        let mut gaps = gaps.into_iter().cycle();
        for (i, model) in models.iter().enumerate() {
            let (before, after, _) = gaps.next().unwrap();
            if i > 0 {
                header.push_str(&format!("{before},{after}"));
            }
            header.push_str(&model.scheme);
            for (j, (name, value, quoted)) in model.params.iter().enumerate() {
                let (before, after, around) = gaps.next().unwrap();
                header.push_str(if j == 0 { " " } else { "," });
                header.push_str(if j == 0 { after } else { before });
                let value = if *quoted { quote(value) } else { value.clone() };
                header.push_str(&format!("{name}{around}={around}{value}"));
            }
        }
        let expected: Vec<Challenge> = models
            .iter()
            .map(|model| Challenge {
                scheme: model.scheme.clone(),
                params: model
                    .params
                    .iter()
                    .map(|(name, value, _)| (name.clone(), value.clone()))
                    .collect(),
            })
            .collect();
        prop_assert_eq!(Challenge::parse_header(&header), expected, "header {:?}", header);
    }

    #[test]
    fn challenge_like_strings_never_panic(
        header in "([A-Za-z0-9_=,\" \\\\\t/:.-]|é|\\x00){0,64}",
    ) {
        let challenges = Challenge::parse_header(&header);
        for challenge in &challenges {
            prop_assert!(!challenge.scheme.is_empty());
            for (name, _) in &challenge.params {
                prop_assert!(!name.is_empty());
                prop_assert!(challenge.param(name).is_some());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `Retry-After`, operation ids and content types.
// ---------------------------------------------------------------------------------------------

fn control_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0u32..0x20).prop_map(|code| char::from_u32(code).unwrap()),
        (0x7fu32..0xa0).prop_map(|code| char::from_u32(code).unwrap()),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn retry_after_seconds_parse_to_that_delay(
        seconds in prop_oneof![any::<u64>(), 0u64..100_000],
        before in "[ \t]{0,3}",
        after in "[ \t]{0,3}",
    ) {
        let parsed = RetryAfter::parse(&format!("{before}{seconds}{after}"));
        prop_assert_eq!(parsed, Some(RetryAfter::Delay(Duration::from_secs(seconds))));
        prop_assert_eq!(parsed.unwrap().delay(), Duration::from_secs(seconds));
    }

    #[test]
    fn retry_after_dates_parse_to_that_time(seconds in 0u64..253_402_300_800) {
        let at = UNIX_EPOCH + Duration::from_secs(seconds);
        let parsed = RetryAfter::parse(&httpdate::fmt_http_date(at));
        prop_assert_eq!(parsed, Some(RetryAfter::At(at)));
        if at <= SystemTime::now() {
            prop_assert_eq!(parsed.unwrap().delay(), Duration::ZERO);
        }
    }

    #[test]
    fn operation_ids_are_one_to_fifty_characters_without_controls(
        characters in vec(prop_oneof![8 => any::<char>(), 1 => control_char()], 0..60),
    ) {
        let id: String = characters.iter().collect();
        let valid = (1..=50).contains(&characters.len())
            && !characters.iter().any(|c| c.is_control());
        let parsed = OperationId::new(id.clone());
        prop_assert_eq!(parsed.is_ok(), valid, "{:?}", id);
        if let Ok(parsed) = parsed {
            prop_assert_eq!(parsed.as_str(), id.as_str());
        }
    }

    #[test]
    fn content_types_name_their_format_in_any_case(
        essence in select(&[
            ("application/json", Format::Json),
            ("application/vnd.microsoft.com.ucwa+json", Format::Json),
            ("text/json", Format::Json),
            ("application/xml", Format::Xml),
            ("application/vnd.microsoft.com.ucwa+xml", Format::Xml),
            ("text/xml", Format::Xml),
        ][..]),
        upper in vec(any::<bool>(), 48),
        before in "[ \t]{0,2}",
        parameters in "(; ?[a-z]{1,8}=[a-zA-Z0-9-]{1,8}){0,2}",
    ) {
        let (essence, format) = essence;
        let cased: String = essence
            .chars()
            .zip(upper.iter().cycle())
            .map(|(c, &upper)| if upper { c.to_ascii_uppercase() } else { c })
            .collect();
        let value = format!("{before}{cased}{parameters}");
        prop_assert_eq!(Format::from_content_type(&value), Some(format), "{:?}", value);
    }

    #[test]
    fn other_content_types_name_no_format(
        value in "[a-z]{1,10}/[a-z.+-]{1,16}(; ?[a-z]{1,8}=[a-z]{1,8})?",
    ) {
        let essence = value.split(';').next().unwrap();
        let known = [
            "application/json", "application/vnd.microsoft.com.ucwa+json", "text/json",
            "application/xml", "application/vnd.microsoft.com.ucwa+xml", "text/xml",
        ];
        prop_assume!(!known.contains(&essence));
        prop_assert_eq!(Format::from_content_type(&value), None);
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs that once failed.
// ---------------------------------------------------------------------------------------------

#[test]
fn xml_properties_named_like_the_typed_members_survive_a_json_round_trip() {
    for name in ["_links", "_embedded"] {
        let body = format!(
            r#"<resource rel="r"><property name="{name}">x</property>
               <propertyList name="{name}"><item>y</item></propertyList></resource>"#
        );
        let resource = Resource::from_xml(body.as_bytes()).unwrap();
        let json = serde_json::to_vec(&resource).unwrap();
        assert_eq!(
            Resource::from_json(&json).ok(),
            Some(resource),
            "{}",
            String::from_utf8_lossy(&json)
        );
    }
}

#[test]
fn json_floats_survive_a_round_trip() {
    for body in [
        &br#"{"x": -6.87299158406453e-9}"#[..],
        br#"{"x": 7.784202009873274e220, "_links": {"a": {"href": "/a", "revision": 1.5e300}}}"#,
    ] {
        let resource = Resource::from_json(body).unwrap();
        let json = serde_json::to_vec(&resource).unwrap();
        assert_eq!(
            Resource::from_json(&json).unwrap(),
            resource,
            "{}",
            String::from_utf8_lossy(&json)
        );
    }
}

#[test]
fn a_stray_quoted_string_does_not_hide_later_challenges() {
    let challenges = Challenge::parse_header(r#"Basic realm="a", "stray", Bearer x=y"#);
    let schemes: Vec<&str> = challenges.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["Basic", "Bearer"]);
}
