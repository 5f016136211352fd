//! The XML representation: resources, error bodies and event batches read into the same model
//! as JSON, and request inputs written.
//!
//! Documents are read with quick-xml into a small element tree, bounded in depth, then mapped.
//! Elements count as UCWA's when they are in the UCWA namespace (matched by URI, whatever the
//! prefix) or in no namespace at all. A document type declaration is refused, so no DTD and no
//! external or custom entity is ever read; only the predefined entities and character
//! references are replaced.

use std::collections::BTreeMap;

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::name::{Namespace, ResolveResult};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::event::{WireBatch, WireEvent, WireLink, WireReason, WireSender};
use crate::link::{Link, Links};
use crate::representation::ErrorParts;
use crate::resource::Resource;

/// The UCWA namespace.
pub(crate) const UCWA_NAMESPACE: &str = "http://schemas.microsoft.com/rtc/2012/03/ucwa";

/// How deeply elements may nest: far more than any UCWA document needs.
const MAX_DEPTH: usize = 48;

/// One element of a document, with what the mapping needs of it.
#[derive(Debug, Default)]
struct Element {
    name: String,
    /// Whether the element is UCWA's (the UCWA namespace, or none).
    ucwa: bool,
    attributes: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn is(&self, name: &str) -> bool {
        self.ucwa && self.name == name
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |child| child.is(name))
    }

    fn child_text(&self, name: &str) -> Option<String> {
        self.children_named(name)
            .next()
            .map(|child| child.text.trim().to_owned())
    }
}

/// Reads a resource.
pub(crate) fn resource(body: &[u8]) -> Result<Resource, Error> {
    let root = parse(body)?;
    if !root.is("resource") {
        return Err(wrong_root("a resource", &root));
    }
    Ok(to_resource(&root))
}

/// Reads an error body (`<reason>`), or `None` when the body is not one.
pub(crate) fn error_body(body: &[u8]) -> Option<ErrorParts> {
    let root = parse(body).ok()?;
    if !root.is("reason") {
        return None;
    }
    to_error(&root)
}

/// Reads an event batch (`<events>`).
pub(crate) fn event_batch(body: &[u8]) -> Result<WireBatch, Error> {
    let root = parse(body)?;
    if !root.is("events") {
        return Err(wrong_root("an event batch", &root));
    }

    let mut links = Links::default();
    if let Some(href) = root.attribute("href") {
        links.push("self", Link::new(href));
    }
    for link in root.children_named("link") {
        if let (Some(rel), Some(href)) = (link.attribute("rel"), link.attribute("href")) {
            links.push(rel, Link::new(href));
        }
    }
    let mut senders = Vec::new();
    for sender in root.children_named("sender") {
        let (Some(rel), Some(href)) = (sender.attribute("rel"), sender.attribute("href")) else {
            return Err(Error::decode_plain(
                "an xml event batch: a sender lacks rel or href",
            ));
        };
        let events = sender
            .children
            .iter()
            .filter(|child| child.ucwa)
            .map(to_event)
            .collect::<Result<_, _>>()?;
        senders.push(WireSender {
            rel: rel.to_owned(),
            href: href.to_owned(),
            events,
        });
    }
    Ok(WireBatch {
        links,
        baseuri: root.attribute("baseuri").map(str::to_owned),
        sender: senders,
    })
}

/// Reads the properties of an `<input>`, as a server reads a request body.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn input_properties(body: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let root = parse(body)?;
    if !root.is("input") {
        return Err(wrong_root("an input", &root));
    }
    Ok(root
        .children_named("property")
        .filter_map(|property| {
            let name = property.attribute("name")?;
            Some((name.to_owned(), property.text.trim().to_owned()))
        })
        .collect())
}

/// Writes an `<input>` of properties, as UCWA takes request bodies in XML.
pub(crate) fn input(properties: &[(&str, &str)]) -> String {
    let mut xml =
        format!(r#"<?xml version="1.0" encoding="utf-8"?><input xmlns="{UCWA_NAMESPACE}">"#);
    for (name, value) in properties {
        xml.push_str(&format!(
            r#"<property name="{}">{}</property>"#,
            quick_xml::escape::escape(*name),
            quick_xml::escape::escape(*value)
        ));
    }
    xml.push_str("</input>");
    xml
}

fn to_resource(element: &Element) -> Resource {
    let mut links = Links::default();
    let mut embedded: BTreeMap<String, Vec<Resource>> = BTreeMap::new();
    let mut properties = Map::new();

    for child in element.children.iter().filter(|child| child.ucwa) {
        match child.name.as_str() {
            "link" => {
                if let (Some(rel), Some(href)) = (child.attribute("rel"), child.attribute("href")) {
                    links.push(rel, to_link(child, href));
                }
            }
            "property" => {
                // `_links` and `_embedded` name the JSON form's members, never a property.
                if let Some(name) = child.attribute("name").filter(|name| !is_member(name)) {
                    properties.insert(name.to_owned(), Value::String(child.text.trim().to_owned()));
                }
            }
            "propertyList" => {
                if let Some(name) = child.attribute("name").filter(|name| !is_member(name)) {
                    let items = child
                        .children_named("item")
                        .map(|item| Value::String(item.text.trim().to_owned()))
                        .collect();
                    properties.insert(name.to_owned(), Value::Array(items));
                }
            }
            "resource" => {
                let rel = child.attribute("rel").unwrap_or_default().to_owned();
                embedded.entry(rel).or_default().push(to_resource(child));
            }
            _ => {}
        }
    }
    // The root's own rel and href are the resource's rel and self link.
    if let Some(href) = element.attribute("href") {
        if !links.contains("self") {
            links.push("self", Link::new(href));
        }
    }
    if let Some(rel) = element.attribute("rel") {
        properties
            .entry("rel")
            .or_insert_with(|| Value::String(rel.to_owned()));
    }
    Resource::from_parts(links, embedded, properties)
}

fn is_member(name: &str) -> bool {
    name == "_links" || name == "_embedded"
}

fn to_link(element: &Element, href: &str) -> Link {
    let mut link = Link::new(href);
    for (key, value) in &element.attributes {
        match key.as_str() {
            "rel" | "href" => {}
            "title" => link.title = Some(value.clone()),
            "revision" => link.revision = Some(value.clone()),
            _ => {
                link.extra.insert(key.clone(), Value::String(value.clone()));
            }
        }
    }
    link
}

fn to_error(element: &Element) -> Option<ErrorParts> {
    Some(ErrorParts {
        code: element.child_text("code")?,
        subcode: element.child_text("subcode"),
        message: element.child_text("message"),
        debug_info: element.children_named("debugInfo").next().and_then(to_bag),
        parameters: element.children_named("parameters").next().and_then(to_bag),
    })
}

/// A bag of `<property name>` children as an object; empty bags are absent.
fn to_bag(element: &Element) -> Option<Value> {
    let bag: Map<String, Value> = element
        .children_named("property")
        .filter_map(|property| {
            let name = property.attribute("name")?;
            Some((
                name.to_owned(),
                Value::String(property.text.trim().to_owned()),
            ))
        })
        .collect();
    if bag.is_empty() {
        let text = element.text.trim();
        return (!text.is_empty()).then(|| Value::String(text.to_owned()));
    }
    Some(Value::Object(bag))
}

/// An event: an element named after its type (`<added rel href>`, `<completed …>`).
fn to_event(element: &Element) -> Result<WireEvent, Error> {
    let (Some(rel), Some(href)) = (element.attribute("rel"), element.attribute("href")) else {
        return Err(Error::decode_plain(format!(
            "an xml event batch: the {} event lacks rel or href",
            element.name
        )));
    };
    let in_link = match element.children_named("in").next() {
        None => None,
        Some(link) => Some(WireLink {
            rel: link.attribute("rel").unwrap_or_default().to_owned(),
            href: link
                .attribute("href")
                .ok_or_else(|| Error::decode_plain("an xml event batch: an <in> lacks href"))?
                .to_owned(),
            title: link.attribute("title").map(str::to_owned),
        }),
    };
    let status = element
        .attribute("status")
        .map(str::to_owned)
        .or_else(|| element.child_text("status"));
    let reason = element
        .children_named("reason")
        .next()
        .and_then(to_error)
        .map(|parts| WireReason {
            code: Some(parts.code),
            subcode: parts.subcode,
            message: parts.message,
            debug_info: parts.debug_info,
        });
    Ok(WireEvent {
        link: WireLink {
            rel: rel.to_owned(),
            href: href.to_owned(),
            title: element.attribute("title").map(str::to_owned),
        },
        event_type: element.name.clone(),
        in_link,
        status,
        reason,
        embedded: element.children_named("resource").next().map(to_resource),
    })
}

fn wrong_root(what: &str, root: &Element) -> Error {
    Error::decode_plain(format!(
        "{what} in xml: the root element is <{}>{}",
        root.name,
        if root.ucwa {
            ""
        } else {
            " outside the ucwa namespace"
        }
    ))
}

/// Reads a whole document into an element tree.
fn parse(body: &[u8]) -> Result<Element, Error> {
    let mut reader = NsReader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;

    loop {
        let (namespace, event) = reader
            .read_resolved_event()
            .map_err(|source| Error::decode("an xml document", source))?;
        let ucwa = is_ucwa(&namespace);
        match event {
            XmlEvent::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Error::decode_plain("an xml document: it nests too deeply"));
                }
                check_single_root(&root)?;
                stack.push(element(&start, ucwa)?);
            }
            XmlEvent::Empty(start) => {
                check_single_root(&root)?;
                attach(&mut stack, &mut root, element(&start, ucwa)?);
            }
            XmlEvent::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| Error::decode_plain("an xml document: a stray end tag"))?;
                attach(&mut stack, &mut root, done);
            }
            XmlEvent::Text(text) => {
                append_text(&mut stack, &text.xml_content(XmlVersion::Implicit1_0))?
            }
            XmlEvent::CData(data) => append_text(&mut stack, &data.into_inner())?,
            XmlEvent::GeneralRef(reference) => {
                let replacement = match reference
                    .resolve_char_ref()
                    .map_err(|source| Error::decode("an xml character reference", source))?
                {
                    Some(character) => character.to_string(),
                    None => {
                        let name = reference.xml_content(XmlVersion::Implicit1_0);
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| {
                                Error::decode_plain(format!(
                                    "an xml document: the entity &{name}; is not predefined"
                                ))
                            })?
                            .to_owned()
                    }
                };
                append_text(&mut stack, &replacement)?;
            }
            XmlEvent::DocType(_) => {
                return Err(Error::decode_plain(
                    "an xml document: document type declarations are refused",
                ));
            }
            XmlEvent::Decl(_) | XmlEvent::Comment(_) | XmlEvent::PI(_) => {}
            XmlEvent::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(Error::decode_plain(
            "an xml document: an element is not closed",
        ));
    }
    root.ok_or_else(|| Error::decode_plain("an xml document: there is no root element"))
}

fn is_ucwa(namespace: &ResolveResult<'_>) -> bool {
    match namespace {
        ResolveResult::Unbound => true,
        ResolveResult::Bound(Namespace(uri)) => *uri == UCWA_NAMESPACE,
        ResolveResult::Unknown(_) => false,
    }
}

fn element(start: &BytesStart<'_>, ucwa: bool) -> Result<Element, Error> {
    let name = start.local_name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|source| Error::decode("an xml attribute", source))?;
        let key = attribute.key;
        // Namespace declarations and prefixed attributes are not UCWA's plain attributes.
        if key.as_namespace_binding().is_some() || key.prefix().is_some() {
            continue;
        }
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|source| Error::decode("an xml attribute value", source))?;
        attributes.push((key.local_name().as_ref().to_owned(), value.into_owned()));
    }
    Ok(Element {
        name,
        ucwa,
        attributes,
        ..Element::default()
    })
}

fn check_single_root(root: &Option<Element>) -> Result<(), Error> {
    match root {
        Some(_) => Err(Error::decode_plain(
            "an xml document: content follows the root element",
        )),
        None => Ok(()),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn append_text(stack: &mut [Element], text: &str) -> Result<(), Error> {
    match stack.last_mut() {
        Some(current) => {
            current.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(Error::decode_plain(
            "an xml document: text outside the root element",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_ucwa_elements_are_read_and_foreign_ones_ignored() {
        let body = br#"<u:resource xmlns:u="http://schemas.microsoft.com/rtc/2012/03/ucwa"
                xmlns:o="urn:other" rel="session" href="/s">
            <u:property name="state">Established</u:property>
            <o:property name="state">Foreign</o:property>
            <u:link rel="renegotiations" href="/s/r" title="R &amp; D" />
        </u:resource>"#;
        let resource = resource(body).unwrap();
        assert_eq!(resource.property_str("state"), Some("Established"));
        assert_eq!(resource.rel(), Some("session"));
        assert_eq!(resource.self_link().unwrap().href, "/s");
        let link = resource.links().get("renegotiations").unwrap();
        assert_eq!(link.title.as_deref(), Some("R & D"));
    }

    #[test]
    fn text_keeps_spaces_around_references() {
        let body = b"<resource><property name=\"m\">a &amp; b &#x41;</property></resource>";
        assert_eq!(resource(body).unwrap().property_str("m"), Some("a & b A"));
    }

    #[test]
    fn hostile_documents_are_decode_errors() {
        let deep = format!("{}{}", "<resource>".repeat(100), "</resource>".repeat(100));
        let bodies: Vec<Vec<u8>> = vec![
            b"<resource><property name=\"x\">".to_vec(),
            b"<other/>".to_vec(),
            b"<resource xmlns=\"urn:not-ucwa\"/>".to_vec(),
            b"<!DOCTYPE r [<!ENTITY a \"aaaa\">]><resource>&a;</resource>".to_vec(),
            b"<resource>&custom;</resource>".to_vec(),
            b"<resource/><resource/>".to_vec(),
            b"</resource>".to_vec(),
            b"".to_vec(),
            b"\xff\xfe<".to_vec(),
            deep.into_bytes(),
        ];
        for body in bodies {
            let error = resource(&body).unwrap_err();
            assert_eq!(
                error.kind().as_str(),
                "decode",
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn inputs_escape_their_values() {
        assert_eq!(
            input(&[("reason", "a<b&\"c\"")]),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><input \
             xmlns=\"http://schemas.microsoft.com/rtc/2012/03/ucwa\"><property \
             name=\"reason\">a&lt;b&amp;&quot;c&quot;</property></input>"
        );
    }
}
