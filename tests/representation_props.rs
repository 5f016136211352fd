//! JSON and XML renderings of the same random resource parse to equal models.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use ucwa::{Format, Resource};

const UCWA: &str = "http://schemas.microsoft.com/rtc/2012/03/ucwa";

/// A resource as a test describes it, rendered into both representations.
#[derive(Debug, Clone)]
struct Model {
    rel: String,
    self_href: Option<String>,
    links: Vec<(String, Vec<ModelLink>)>,
    properties: Vec<(String, Property)>,
    embedded: Vec<(String, Vec<Model>)>,
}

#[derive(Debug, Clone)]
struct ModelLink {
    href: String,
    title: Option<String>,
    revision: Option<String>,
    extra: Option<(String, String)>,
}

#[derive(Debug, Clone)]
enum Property {
    Text(String),
    List(Vec<String>),
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-zA-Z0-9]{0,11}"
}

/// Text without surrounding whitespace or control characters, with the characters XML must
/// escape.
fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9&<>\"' ,.:/=?%é-]{0,24}".prop_map(|text| text.trim().to_owned())
}

fn href() -> impl Strategy<Value = String> {
    prop_oneof![
        "/ucwa/v1/[a-z0-9/]{1,20}(\\?ack=[0-9]{1,3})?",
        "https://fe1\\.contoso\\.com/[a-z0-9/]{1,12}",
        "data:application/sdp;base64,[A-Za-z0-9+/]{0,16}",
    ]
}

fn link() -> impl Strategy<Value = ModelLink> {
    (
        href(),
        proptest::option::of(text()),
        proptest::option::of("[1-9][0-9]{0,2}"),
        proptest::option::of(("x[a-z]{1,6}", text())),
    )
        .prop_map(|(href, title, revision, extra)| ModelLink {
            href,
            title,
            revision,
            extra,
        })
}

fn property() -> impl Strategy<Value = Property> {
    prop_oneof![
        text().prop_map(Property::Text),
        proptest::collection::vec(text(), 0..4).prop_map(Property::List),
    ]
}

/// Distinct names, so both renderings carry each once.
fn unique<T>(pairs: Vec<(String, T)>, reserved: &[&str]) -> Vec<(String, T)> {
    let mut seen: Vec<String> = reserved.iter().map(|name| name.to_string()).collect();
    pairs
        .into_iter()
        .filter(|(name, _)| {
            let fresh = !seen.contains(name);
            seen.push(name.clone());
            fresh
        })
        .collect()
}

fn model(depth: u32) -> BoxedStrategy<Model> {
    let embedded = if depth == 0 {
        Just(Vec::new()).boxed()
    } else {
        proptest::collection::vec(
            (name(), proptest::collection::vec(model(depth - 1), 1..3)),
            0..3,
        )
        .boxed()
    };
    (
        name(),
        proptest::option::of(href()),
        proptest::collection::vec((name(), proptest::collection::vec(link(), 1..3)), 0..5),
        proptest::collection::vec((name(), property()), 0..6),
        embedded,
    )
        .prop_map(|(rel, self_href, links, properties, embedded)| {
            let embedded = unique(embedded, &[])
                .into_iter()
                .map(|(rel, models)| {
                    let models = models
                        .into_iter()
                        .map(|model| Model {
                            rel: rel.clone(),
                            ..model
                        })
                        .collect();
                    (rel, models)
                })
                .collect();
            Model {
                rel,
                self_href,
                links: unique(links, &["self"]),
                properties: unique(properties, &["rel"]),
                embedded,
            }
        })
        .boxed()
}

fn link_json(link: &ModelLink) -> Value {
    let mut object = json!({ "href": link.href });
    if let Some(title) = &link.title {
        object["title"] = json!(title);
    }
    if let Some(revision) = &link.revision {
        object["revision"] = json!(revision);
    }
    if let Some((key, value)) = &link.extra {
        object[key] = json!(value);
    }
    object
}

fn to_json(model: &Model) -> Value {
    let mut object = Map::new();
    object.insert("rel".into(), json!(model.rel));
    for (name, property) in &model.properties {
        let value = match property {
            Property::Text(text) => json!(text),
            Property::List(items) => json!(items),
        };
        object.insert(name.clone(), value);
    }
    let mut links = Map::new();
    if let Some(href) = &model.self_href {
        links.insert("self".into(), json!({ "href": href }));
    }
    for (rel, all) in &model.links {
        let value = match all.as_slice() {
            [one] => link_json(one),
            many => Value::Array(many.iter().map(link_json).collect()),
        };
        links.insert(rel.clone(), value);
    }
    object.insert("_links".into(), Value::Object(links));
    if !model.embedded.is_empty() {
        let embedded: Map<String, Value> = model
            .embedded
            .iter()
            .map(|(rel, all)| {
                let value = match all.as_slice() {
                    [one] => to_json(one),
                    many => Value::Array(many.iter().map(to_json).collect()),
                };
                (rel.clone(), value)
            })
            .collect();
        object.insert("_embedded".into(), Value::Object(embedded));
    }
    Value::Object(object)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The XML rendering, with the UCWA namespace under a prefix at the root, so that matching by
/// URI rather than by prefix is exercised too.
fn to_xml(model: &Model, root: bool) -> String {
    let mut xml = format!(r#"<u:resource rel="{}""#, escape(&model.rel));
    if let Some(href) = &model.self_href {
        xml.push_str(&format!(r#" href="{}""#, escape(href)));
    }
    if root {
        xml.push_str(&format!(r#" xmlns:u="{UCWA}""#));
    }
    xml.push('>');
    for (rel, all) in &model.links {
        for link in all {
            xml.push_str(&format!(
                r#"<u:link rel="{}" href="{}""#,
                escape(rel),
                escape(&link.href)
            ));
            if let Some(title) = &link.title {
                xml.push_str(&format!(r#" title="{}""#, escape(title)));
            }
            if let Some(revision) = &link.revision {
                xml.push_str(&format!(r#" revision="{revision}""#));
            }
            if let Some((key, value)) = &link.extra {
                xml.push_str(&format!(r#" {key}="{}""#, escape(value)));
            }
            xml.push_str("/>");
        }
    }
    for (name, property) in &model.properties {
        match property {
            Property::Text(text) => xml.push_str(&format!(
                r#"<u:property name="{}">{}</u:property>"#,
                escape(name),
                escape(text)
            )),
            Property::List(items) => {
                xml.push_str(&format!(r#"<u:propertyList name="{}">"#, escape(name)));
                for item in items {
                    xml.push_str(&format!("<u:item>{}</u:item>", escape(item)));
                }
                xml.push_str("</u:propertyList>");
            }
        }
    }
    for (_, all) in &model.embedded {
        for embedded in all {
            xml.push_str(&to_xml(embedded, false));
        }
    }
    xml.push_str("</u:resource>");
    xml
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_and_xml_renderings_parse_to_the_same_resource(model in model(2)) {
        let json = to_json(&model).to_string();
        let xml = format!(r#"<?xml version="1.0" encoding="utf-8"?>{}"#, to_xml(&model, true));

        let from_json = Resource::from_json(json.as_bytes()).unwrap();
        let from_xml = Resource::parse(xml.as_bytes(), Format::Xml).unwrap();

        prop_assert_eq!(from_json, from_xml, "json: {}\nxml: {}", json, xml);
    }
}
