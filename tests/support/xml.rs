//! Helpers for the XML tests: XML clients, XML bodies, and an independent reader of what the
//! client sent, to compare documents by meaning rather than by bytes.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::{NsReader, XmlVersion};
use ucwa::testing::{Endpoint, Failure, FakeUcwa, Received};
use ucwa::{
    Application, ChannelEvent, Client, Error, Event, EventChannel, Format, Renegotiation, Session,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{OFFER, RENEGOTIATIONS_PATH, SESSION_PATH, TOKEN, mount_post};

/// The UCWA namespace.
pub const UCWA: &str = "http://schemas.microsoft.com/rtc/2012/03/ucwa";

/// The XML body of a fixture: from the line that opens the document to the end.
pub fn xml_fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text
        .find("<?xml")
        .or_else(|| text.find('<'))
        .unwrap_or_else(|| panic!("{name} has no xml"));
    text[start..].to_owned()
}

/// The JSON body of a fixture: from its first `{` to the end.
pub fn json_fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text
        .find('{')
        .unwrap_or_else(|| panic!("{name} has no json"));
    text[start..].to_owned()
}

/// A reply carrying this XML document as `application/xml`.
pub fn xml_reply(status: u16, body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.into().into_bytes(), "application/xml")
}

/// A `<resource>` in the UCWA namespace with these links and properties, wrapped around `inner`;
/// every value is written as given, already escaped.
pub fn resource_xml(links: &[(&str, &str)], properties: &[(&str, &str)], inner: &str) -> String {
    let mut xml = format!(r#"<?xml version="1.0" encoding="utf-8"?><resource xmlns="{UCWA}">"#);
    for (rel, href) in links {
        xml.push_str(&format!(r#"<link rel="{rel}" href="{href}"/>"#));
    }
    for (name, value) in properties {
        xml.push_str(&format!(r#"<property name="{name}">{value}</property>"#));
    }
    xml.push_str(inner);
    xml.push_str("</resource>");
    xml
}

/// A renegotiation entity in XML with these links.
pub fn entity_xml(links: &[(&str, &str)]) -> String {
    resource_xml(
        links,
        &[("direction", "Outgoing"), ("operationId", "op-1")],
        "",
    )
}

/// A mock server serving an XML session with a `renegotiations` link, answering it `reply`.
pub async fn xml_renegotiations_server(reply: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    let session = resource_xml(&[("renegotiations", RENEGOTIATIONS_PATH)], &[], "");
    Mock::given(method("GET"))
        .and(path(SESSION_PATH))
        .respond_with(xml_reply(200, session))
        .mount(&server)
        .await;
    mount_post(&server, RENEGOTIATIONS_PATH, reply).await;
    server
}

/// An XML client for a plain http origin on loopback.
pub fn xml_client_for(origin: &str) -> Client {
    Client::builder()
        .origin(origin)
        .token(TOKEN)
        .allow_http(true)
        .format(Format::Xml)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// An XML client for the fake server.
pub fn xml_client(server: &FakeUcwa) -> Client {
    server
        .client_builder()
        .format(Format::Xml)
        .build()
        .expect("client")
}

/// An XML client for the fake server, and a handle on its session.
pub fn xml_session(server: &FakeUcwa) -> (Client, Session) {
    let client = xml_client(server);
    let session = client.session(&server.session_url()).expect("session");
    (client, session)
}

/// Fails the test unless every request asked for XML.
pub fn assert_asked_for_xml(received: &[Received]) {
    assert!(!received.is_empty(), "no request was received");
    for request in received {
        assert_eq!(
            request.header("accept"),
            Some("application/xml"),
            "{} {}",
            request.method,
            request.path
        );
    }
}

/// Fails the test unless every request a plain mock server received asked for XML.
pub fn assert_requests_asked_for_xml(received: &[Request]) {
    assert!(!received.is_empty(), "no request was received");
    for request in received {
        assert_eq!(
            request.headers.get("accept").and_then(|v| v.to_str().ok()),
            Some("application/xml"),
            "{} {}",
            request.method,
            request.url
        );
    }
}

/// Starts a fake server told to answer the next renegotiation with `failure`, sends one from an
/// XML client, and checks that it asked for XML.
pub async fn xml_renegotiate_failing(failure: Failure) -> Error {
    let server = FakeUcwa::start().await;
    server.fail(Endpoint::Renegotiations, failure);
    let (_client, session) = xml_session(&server);
    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_asked_for_xml(&server.received().await);
    error
}

/// The fake server's 201 reply to a renegotiation from an XML client, replaced by this body.
pub async fn xml_renegotiate_replied(
    content_type: &str,
    body: impl Into<String>,
) -> Result<Renegotiation, Error> {
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Renegotiations,
        Failure::new(201).raw_body(content_type, body.into()),
    );
    let (_client, session) = xml_session(&server);
    let renegotiation = session.renegotiate(OFFER).await;
    assert_asked_for_xml(&server.received().await);
    renegotiation
}

/// An element of a document as the tests compare it: namespace URI, local name, plain
/// attributes, child elements and trimmed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub namespace: Option<String>,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub children: Vec<Node>,
    pub text: String,
}

impl Node {
    /// The `(name, text)` of each `<property>` child.
    pub fn properties(&self) -> Vec<(String, String)> {
        self.children
            .iter()
            .filter(|child| child.name == "property")
            .map(|child| (child.attributes["name"].clone(), child.text.clone()))
            .collect()
    }
}

/// Reads a well-formed document into its root element; fails the test otherwise.
pub fn tree(body: &[u8]) -> Node {
    let mut reader = NsReader::from_reader(body);
    let mut stack: Vec<Node> = Vec::new();
    loop {
        let (namespace, event) = reader
            .read_resolved_event()
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
        let namespace = match namespace {
            ResolveResult::Bound(Namespace(uri)) => Some(uri.to_owned()),
            _ => None,
        };
        let done = match event {
            XmlEvent::Start(start) => {
                stack.push(node(namespace, &start));
                continue;
            }
            XmlEvent::Empty(start) => node(namespace, &start),
            XmlEvent::End(_) => {
                let mut done = stack.pop().expect("an open element");
                done.text = done.text.trim().to_owned();
                done
            }
            XmlEvent::Text(text) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&text.xml10_content());
                }
                continue;
            }
            XmlEvent::GeneralRef(reference) => {
                let name = reference.xml10_content();
                let text = match reference.resolve_char_ref().unwrap() {
                    Some(character) => character.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("&{name};"))
                        .to_owned(),
                };
                stack
                    .last_mut()
                    .expect("an open element")
                    .text
                    .push_str(&text);
                continue;
            }
            XmlEvent::Eof => panic!("no root element"),
            _ => continue,
        };
        match stack.last_mut() {
            Some(parent) => parent.children.push(done),
            None => return done,
        }
    }
}

fn node(namespace: Option<String>, start: &BytesStart<'_>) -> Node {
    let attributes = start
        .attributes()
        .map(|attribute| attribute.unwrap())
        .filter(|attribute| attribute.key.as_namespace_binding().is_none())
        .map(|attribute| {
            let key = attribute.key.local_name().as_ref().to_owned();
            (
                key,
                attribute
                    .normalized_value(XmlVersion::Implicit1_0)
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect();
    Node {
        namespace,
        name: start.local_name().as_ref().to_owned(),
        attributes,
        children: Vec::new(),
        text: String::new(),
    }
}

/// The `<input>` a server expects for these properties, read back as a tree.
pub fn expected_input(properties: &[(&str, &str)]) -> Node {
    let mut xml = format!(r#"<input xmlns="{UCWA}">"#);
    for (name, value) in properties {
        let value = quick_xml::escape::escape(*value);
        xml.push_str(&format!(r#"<property name="{name}">{value}</property>"#));
    }
    xml.push_str("</input>");
    tree(xml.as_bytes())
}

/// The application of the fake server, read by this client.
pub async fn application(server: &FakeUcwa, client: &Client) -> Application {
    Application::from_url(client, &server.application_url())
        .await
        .unwrap()
}

/// A channel tuned for a fast test: short backoff, short read timeout.
pub async fn channel(server: &FakeUcwa, client: &Client) -> EventChannel {
    EventChannel::builder(&application(server, client).await)
        .backoff(Duration::from_millis(1), Duration::from_millis(10))
        .read_timeout(Duration::from_secs(5))
        .start()
        .unwrap()
}

/// The next item, bounded so that a broken channel fails the test instead of hanging it.
pub async fn next(channel: &mut EventChannel) -> Option<Result<ChannelEvent, Error>> {
    tokio::time::timeout(Duration::from_secs(10), channel.next())
        .await
        .expect("the channel produced nothing for 10 s")
}

pub async fn next_event(channel: &mut EventChannel) -> Event {
    match next(channel).await {
        Some(Ok(ChannelEvent::Event(event))) => *event,
        other => panic!("expected an event, got {other:?}"),
    }
}
