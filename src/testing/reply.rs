//! The fake server's replies, rendered in the representation the request asked for.

use std::time::Duration;

use serde_json::Value;
use wiremock::{Request, ResponseTemplate};

use crate::representation::Format;
use crate::xml::UCWA_NAMESPACE;

/// What a reply carries, before it is rendered.
#[derive(Debug)]
pub(crate) enum Body {
    None,
    /// A resource in the JSON shape (`_links`, `_embedded`, properties).
    Resource(Value),
    /// A UCWA error (`code`, `subcode`, `message`).
    Error(Value),
    /// An event batch in the JSON shape (`_links`, `sender`).
    Events(Value),
    /// Bytes sent as they are, with their content type.
    Raw(String, Vec<u8>),
}

/// A reply of the fake server.
#[derive(Debug)]
#[must_use]
pub(crate) struct Reply {
    status: u16,
    body: Body,
    headers: Vec<(String, String)>,
    delay: Option<Duration>,
}

impl Reply {
    pub(crate) fn new(status: u16, body: Body) -> Self {
        Reply {
            status,
            body,
            headers: Vec::new(),
            delay: None,
        }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Reply::new(status, Body::None)
    }

    pub(crate) fn resource(status: u16, body: Value) -> Self {
        Reply::new(status, Body::Resource(body))
    }

    pub(crate) fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub(crate) fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The response, in JSON or XML.
    pub(crate) fn render(self, format: Format) -> ResponseTemplate {
        let mut response = ResponseTemplate::new(self.status);
        let rendered = match (self.body, format) {
            (Body::None, _) => None,
            (Body::Raw(content_type, bytes), _) => Some((content_type, bytes)),
            (Body::Resource(value) | Body::Error(value) | Body::Events(value), Format::Json) => {
                Some((
                    "application/json".to_owned(),
                    value.to_string().into_bytes(),
                ))
            }
            (Body::Resource(value), Format::Xml) => Some(xml(resource_xml(&value, true))),
            (Body::Error(value), Format::Xml) => Some(xml(error_xml(&value, true))),
            (Body::Events(value), Format::Xml) => Some(xml(events_xml(&value))),
        };
        if let Some((content_type, bytes)) = rendered {
            response = response.set_body_raw(bytes, content_type.as_str());
        }
        for (name, value) in &self.headers {
            response = response.append_header(name.as_str(), value.as_str());
        }
        if let Some(delay) = self.delay {
            response = response.set_delay(delay);
        }
        response
    }
}

/// The representation a request asked for with `Accept`.
pub(crate) fn asked_format(request: &Request) -> Format {
    let accept = request
        .headers
        .get("accept")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let xml = accept
        .split(',')
        .filter_map(Format::from_content_type)
        .next()
        == Some(Format::Xml);
    if xml { Format::Xml } else { Format::Json }
}

fn xml(document: String) -> (String, Vec<u8>) {
    (
        "application/xml".to_owned(),
        format!(r#"<?xml version="1.0" encoding="utf-8"?>{document}"#).into_bytes(),
    )
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A resource: root `rel`/`href`, then links, properties, property lists and embedded ones.
pub(crate) fn resource_xml(value: &Value, root: bool) -> String {
    let links = value.get("_links").and_then(Value::as_object);
    let self_href = links
        .and_then(|links| links.get("self"))
        .and_then(|link| link.get("href"))
        .and_then(Value::as_str);
    let mut xml = String::from("<resource");
    if let Some(rel) = value.get("rel").and_then(Value::as_str) {
        xml.push_str(&format!(r#" rel="{}""#, escape(rel)));
    }
    if let Some(href) = self_href {
        xml.push_str(&format!(r#" href="{}""#, escape(href)));
    }
    if root {
        xml.push_str(&format!(r#" xmlns="{UCWA_NAMESPACE}""#));
    }
    xml.push('>');

    for (rel, links) in links.into_iter().flatten() {
        let all = match links {
            Value::Array(all) => all.clone(),
            one => vec![one.clone()],
        };
        for link in all.iter().filter(|_| rel != "self") {
            xml.push_str(&link_xml("link", rel, link));
        }
    }
    for (name, property) in value.as_object().into_iter().flatten() {
        if name.starts_with('_') {
            continue;
        }
        match property {
            Value::Array(items) => {
                xml.push_str(&format!(r#"<propertyList name="{}">"#, escape(name)));
                for item in items.iter().filter_map(scalar) {
                    xml.push_str(&format!("<item>{}</item>", escape(&item)));
                }
                xml.push_str("</propertyList>");
            }
            other => {
                if let Some(text) = scalar(other) {
                    xml.push_str(&format!(
                        r#"<property name="{}">{}</property>"#,
                        escape(name),
                        escape(&text)
                    ));
                }
            }
        }
    }
    let embedded = value.get("_embedded").and_then(Value::as_object);
    for (rel, resources) in embedded.into_iter().flatten() {
        let all = match resources {
            Value::Array(all) => all.clone(),
            one => vec![one.clone()],
        };
        for resource in &all {
            let mut resource = resource.clone();
            if resource.get("rel").is_none() {
                resource["rel"] = Value::from(rel.as_str());
            }
            xml.push_str(&resource_xml(&resource, false));
        }
    }
    xml.push_str("</resource>");
    xml
}

fn link_xml(element: &str, rel: &str, link: &Value) -> String {
    let mut xml = format!(r#"<{element} rel="{}""#, escape(rel));
    for (key, value) in link.as_object().into_iter().flatten() {
        if key == "rel" {
            continue;
        }
        if let Some(text) = scalar(value) {
            xml.push_str(&format!(r#" {key}="{}""#, escape(&text)));
        }
    }
    xml.push_str(" />");
    xml
}

fn error_xml(value: &Value, root: bool) -> String {
    let mut xml = String::from("<reason");
    if root {
        xml.push_str(&format!(r#" xmlns="{UCWA_NAMESPACE}""#));
    }
    xml.push('>');
    for field in ["code", "subcode", "message"] {
        if let Some(text) = value.get(field).and_then(Value::as_str) {
            xml.push_str(&format!("<{field}>{}</{field}>", escape(text)));
        }
    }
    xml.push_str("</reason>");
    xml
}

/// An event batch: `<events href>`, its links, then senders whose children are named after the
/// event type.
fn events_xml(value: &Value) -> String {
    let links = value.get("_links").and_then(Value::as_object);
    let mut xml = String::from("<events");
    let self_href = links
        .and_then(|links| links.get("self"))
        .and_then(|link| link.get("href"))
        .and_then(Value::as_str);
    if let Some(href) = self_href {
        xml.push_str(&format!(r#" href="{}""#, escape(href)));
    }
    xml.push_str(&format!(r#" xmlns="{UCWA_NAMESPACE}">"#));
    for (rel, link) in links.into_iter().flatten() {
        if rel != "self" {
            xml.push_str(&link_xml("link", rel, link));
        }
    }
    for sender in value
        .get("sender")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let attribute =
            |name: &str| escape(sender.get(name).and_then(Value::as_str).unwrap_or_default());
        xml.push_str(&format!(
            r#"<sender rel="{}" href="{}">"#,
            attribute("rel"),
            attribute("href")
        ));
        for event in sender
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            xml.push_str(&event_xml(event));
        }
        xml.push_str("</sender>");
    }
    xml.push_str("</events>");
    xml
}

fn event_xml(event: &Value) -> String {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("updated");
    let link = event.get("link").cloned().unwrap_or(Value::Null);
    let rel = link.get("rel").and_then(Value::as_str).unwrap_or_default();
    let mut xml = link_xml(kind, rel, &link);
    xml.truncate(xml.len() - " />".len());
    xml.push('>');
    if let Some(in_link) = event.get("in") {
        let rel = in_link
            .get("rel")
            .and_then(Value::as_str)
            .unwrap_or_default();
        xml.push_str(&link_xml("in", rel, in_link));
    }
    if let Some(status) = event.get("status").and_then(Value::as_str) {
        xml.push_str(&format!("<status>{}</status>", escape(status)));
    }
    if let Some(reason) = event.get("reason") {
        xml.push_str(&error_xml(reason, false));
    }
    let embedded = event.get("_embedded").and_then(Value::as_object);
    for (rel, resource) in embedded.into_iter().flatten() {
        let mut resource = resource.clone();
        if resource.get("rel").is_none() {
            resource["rel"] = Value::from(rel.as_str());
        }
        xml.push_str(&resource_xml(&resource, false));
    }
    xml.push_str(&format!("</{kind}>"));
    xml
}
