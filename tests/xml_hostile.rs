//! Malformed and hostile XML, served over loopback as the 201 reply to a renegotiation: each is
//! a decode error (or, past the body limit, `body_too_large`), never a panic, a hang or a read
//! of anything outside the body.

mod support;
#[path = "support/xml.rs"]
mod xml_support;

use std::time::Duration;

use ucwa::{Client, Error, ErrorKind, Event, Format, Renegotiation};
use url::Url;
use wiremock::ResponseTemplate;

use support::{OFFER, TOKEN, session_url};
use xml_support::{UCWA, xml_fixture, xml_renegotiations_server};

const MIB: usize = 1024 * 1024;

/// An XML client with this body limit (the default when `None`).
fn client(origin: &str, max_body: Option<usize>) -> Client {
    let builder = Client::builder()
        .origin(origin)
        .token(TOKEN)
        .allow_http(true)
        .format(Format::Xml)
        .timeout(Duration::from_secs(60));
    match max_body {
        Some(limit) => builder.max_body(limit),
        None => builder,
    }
    .build()
    .unwrap()
}

/// Renegotiates against a server whose 201 reply is `body` as `application/xml`.
async fn replied_with_limit(
    body: impl Into<Vec<u8>>,
    max_body: Option<usize>,
) -> Result<Renegotiation, Error> {
    let reply = ResponseTemplate::new(201).set_body_raw(body.into(), "application/xml");
    let server = xml_renegotiations_server(reply).await;
    let session = client(&server.uri(), max_body).session(&session_url(&server));
    let renegotiation = session.unwrap().renegotiate(OFFER);
    tokio::time::timeout(Duration::from_secs(30), renegotiation)
        .await
        .expect("the reply was read within 30 s")
}

async fn replied(body: impl Into<Vec<u8>>) -> Result<Renegotiation, Error> {
    replied_with_limit(body, None).await
}

/// The kind of error a reply gives; fails the test if the reply parses.
async fn refused(body: impl Into<Vec<u8>>) -> ErrorKind {
    match replied(body).await {
        Ok(renegotiation) => panic!("parsed: {renegotiation:?}"),
        Err(error) => error.kind(),
    }
}

fn origin() -> Url {
    Url::parse("https://fe1.contoso.com/").unwrap()
}

/// A UCWA resource whose `operationId` property holds `text`, as written.
fn with_operation_id(text: &str) -> String {
    format!(r#"<resource xmlns="{UCWA}"><property name="operationId">{text}</property></resource>"#)
}

#[tokio::test]
async fn unclosed_elements_are_decode_errors() {
    for body in [
        format!(r#"<resource xmlns="{UCWA}"><property name="operationId">x"#),
        format!(r#"<resource xmlns="{UCWA}"><link rel="answer" href="/a">"#),
        format!(r#"<resource xmlns="{UCWA}"><property name="x">a</resource>"#),
        format!(r#"<resource xmlns="{UCWA}" rel="unterminated></resource>"#),
        format!(r#"<resource xmlns="{UCWA}""#),
    ] {
        assert_eq!(refused(body.clone()).await, ErrorKind::Decode, "{body}");
    }
}

#[tokio::test]
async fn a_root_other_than_resource_is_a_decode_error() {
    for body in [
        xml_fixture("events.xml"),
        "<html><head><title>Created</title></head><body>ok</body></html>".to_owned(),
        xml_fixture("error.xml"),
        format!(r#"<input xmlns="{UCWA}"><property name="reason">Unknown</property></input>"#),
    ] {
        assert_eq!(refused(body.clone()).await, ErrorKind::Decode, "{body}");
    }
}

#[tokio::test]
async fn a_root_in_a_foreign_namespace_is_a_decode_error() {
    for body in [
        r#"<resource xmlns="urn:not-ucwa"><property name="operationId">x</property></resource>"#
            .to_owned(),
        format!(r#"<u:resource xmlns:u="{UCWA}/other"/>"#),
        format!(r#"<resource xmlns="{}"/>"#, UCWA.to_uppercase()),
    ] {
        assert_eq!(refused(body.clone()).await, ErrorKind::Decode, "{body}");
    }
}

#[tokio::test]
async fn a_prefix_bound_to_the_ucwa_namespace_parses_and_foreign_children_are_ignored() {
    let body = format!(
        r#"<u:resource xmlns:u="{UCWA}" xmlns:o="urn:other" rel="audioVideoRenegotiation">
        <u:property name="direction">Outgoing</u:property>
        <u:property name="operationId">op-prefixed</u:property>
        <o:property name="operationId">foreign</o:property>
        <u:link rel="answer" href="/a"/><o:link rel="dismiss" href="/d"/>
        </u:resource>"#
    );

    let renegotiation = replied(body).await.unwrap();

    assert_eq!(renegotiation.operation_id(), Some("op-prefixed"));
    assert_eq!(
        renegotiation.resource().rel(),
        Some("audioVideoRenegotiation")
    );
    assert_eq!(renegotiation.answer_link().unwrap().href, "/a");
    assert!(renegotiation.dismiss_link().is_none(), "a foreign link");
}

#[tokio::test]
async fn a_billion_laughs_doctype_is_refused_without_expanding_it() {
    let mut doctype = String::from(r#"<!DOCTYPE resource [<!ENTITY lol0 "lol">"#);
    for level in 1..=9 {
        let previous = format!("&lol{};", level - 1).repeat(10);
        doctype.push_str(&format!(r#"<!ENTITY lol{level} "{previous}">"#));
    }
    doctype.push_str("]>");
    let body = format!("{doctype}{}", with_operation_id("&lol9;"));

    let error = replied(body).await.unwrap_err();

    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(!format!("{error:?}").contains("lollol"), "{error:?}");
}

#[tokio::test]
async fn an_external_entity_is_refused_and_nothing_is_read() {
    let doctype = r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>"#;
    let body = format!("{doctype}{}", with_operation_id("&x;"));

    let error = replied(body).await.unwrap_err();

    assert_eq!(error.kind(), ErrorKind::Decode);
    let debug = format!("{error:?}");
    assert!(!debug.contains("root:"), "{debug}");
}

#[tokio::test]
async fn an_undeclared_entity_reference_is_a_decode_error_and_predefined_ones_are_read() {
    for body in [
        with_operation_id("&undeclared;"),
        with_operation_id("&nbsp;"),
    ] {
        assert_eq!(refused(body.clone()).await, ErrorKind::Decode, "{body}");
    }

    let renegotiation = replied(with_operation_id("a &amp; b &lt;&#x41;&#66;&gt;")).await;

    assert_eq!(renegotiation.unwrap().operation_id(), Some("a & b <AB>"));
}

#[tokio::test]
async fn ten_thousand_levels_of_nesting_are_a_decode_error() {
    let depth = 10_000;
    let body = format!(
        r#"<resource xmlns="{UCWA}">{}{}</resource>"#,
        "<resource>".repeat(depth - 1),
        "</resource>".repeat(depth - 1)
    );
    assert_eq!(refused(body).await, ErrorKind::Decode);

    let shallow = format!(
        r#"<resource xmlns="{UCWA}">{}{}</resource>"#,
        "<resource>".repeat(20),
        "</resource>".repeat(20)
    );
    assert!(replied(shallow).await.is_ok(), "twenty levels are fine");
}

#[tokio::test]
async fn invalid_utf8_inside_text_is_a_decode_error() {
    let mut body =
        format!(r#"<resource xmlns="{UCWA}"><property name="operationId">"#).into_bytes();
    body.extend_from_slice(b"op-\xff\xfe-\xc3");
    body.extend_from_slice(b"</property></resource>");

    assert_eq!(refused(body).await, ErrorKind::Decode);
}

fn huge_attribute(bytes: usize) -> Vec<u8> {
    let mut body = format!(r#"<resource xmlns="{UCWA}" title=""#).into_bytes();
    body.resize(body.len() + bytes, b'x');
    body.extend_from_slice(br#""><property name="operationId">big</property></resource>"#);
    body
}

#[tokio::test]
async fn a_50_mb_attribute_is_body_too_large_under_the_default_limit() {
    let error = replied(huge_attribute(50 * 1000 * 1000)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BodyTooLarge);
}

#[tokio::test]
async fn a_50_mb_attribute_within_a_64_mib_limit_parses_or_is_a_decode_error() {
    match replied_with_limit(huge_attribute(50 * 1000 * 1000), Some(64 * MIB)).await {
        Ok(renegotiation) => assert_eq!(renegotiation.operation_id(), Some("big")),
        Err(error) => assert_eq!(error.kind(), ErrorKind::Decode, "{error:?}"),
    }
}

#[tokio::test]
async fn xml_fixtures_are_read_by_parse_batch_by_their_first_character() {
    let xml = xml_fixture("events.xml");
    for body in [xml.clone(), format!("\r\n  {xml}")] {
        let batch = Event::parse_batch(body.as_bytes(), &origin()).unwrap();
        assert_eq!(batch.events.len(), 5);
        assert_eq!(
            batch.events[0].resource.as_ref().unwrap().rel(),
            Some("communication")
        );
    }
    let as_json = Event::parse_batch_as(xml.as_bytes(), Format::Json, &origin());
    assert_eq!(as_json.unwrap_err().kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn hostile_event_batches_are_decode_errors_from_parse_batch() {
    let deep = format!(
        "<events>{}{}</events>",
        "<sender>".repeat(10_000),
        "</sender>".repeat(10_000)
    );
    let bodies = [
        format!(r#"<events xmlns="{UCWA}"><sender rel="me" href="/me">"#),
        format!(
            r#"<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><events xmlns="{UCWA}">&x;</events>"#
        ),
        format!(
            r#"<events xmlns="{UCWA}"><sender rel="me" href="/me"><added rel="x" href="&bogus;"/></sender></events>"#
        ),
        format!(r#"<resource xmlns="{UCWA}"/>"#),
        r#"<events xmlns="urn:not-ucwa"/>"#.to_owned(),
        deep,
    ];
    for body in bodies {
        let error = Event::parse_batch(body.as_bytes(), &origin()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{body:.80}");
    }
}

#[tokio::test]
async fn a_byte_order_mark_before_an_xml_reply_of_type_xml_is_read() {
    let entity = xml_support::entity_xml(&[("self", "/r/1")]);
    let renegotiation = replied(format!("\u{feff}{entity}")).await.unwrap();
    assert_eq!(renegotiation.operation_id(), Some("op-1"));

    let batch = format!("\u{feff}{}", xml_fixture("events.xml"));
    let parsed = Event::parse_batch_as(batch.as_bytes(), Format::Xml, &origin());
    assert_eq!(parsed.unwrap().events.len(), 5);
}

#[tokio::test]
async fn a_byte_order_mark_before_an_untyped_xml_body_is_still_sniffed_as_xml() {
    let batch = format!("\u{feff}{}", xml_fixture("events.xml"));
    let parsed = Event::parse_batch(batch.as_bytes(), &origin());
    assert_eq!(
        parsed.map(|batch| batch.events.len()).ok(),
        Some(5),
        "parse_batch"
    );

    let entity = format!("\u{feff}{}", xml_support::entity_xml(&[("self", "/r/1")]));
    let reply = ResponseTemplate::new(201).set_body_bytes(entity);
    let server = xml_renegotiations_server(reply).await;
    let session = client(&server.uri(), None).session(&session_url(&server));
    let renegotiation = session.unwrap().renegotiate(OFFER).await;
    assert_eq!(
        renegotiation.unwrap().operation_id(),
        Some("op-1"),
        "no Content-Type"
    );
}
