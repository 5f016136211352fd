//! The resource model every typed view reads from: properties, links and embedded resources.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::link::{Key, OneOrMany};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::link::{Link, Links};

/// A UCWA resource as the server sent it: its properties, its `_links` and its `_embedded`
/// resources. Unknown properties and links are kept, never rejected.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resource {
    /// The resource's links by rel.
    #[serde(rename = "_links")]
    links: Links,
    /// Embedded resources by rel.
    #[serde(rename = "_embedded", skip_serializing_if = "BTreeMap::is_empty")]
    embedded: BTreeMap<String, Vec<Resource>>,
    /// Every other member of the object.
    #[serde(flatten)]
    properties: Map<String, Value>,
}

impl Resource {
    /// Parses a resource from a JSON body.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the body is not a JSON object of the resource shape.
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(body).map_err(|source| Error::decode("a json resource", source))
    }

    /// Parses a resource from an XML body (`<resource rel href>` in the UCWA namespace): the
    /// root's `rel` and `href` become the `rel` property and the `self` link, `<property>` and
    /// `<propertyList>` become properties, nested `<resource>`s embedded resources.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] for malformed XML, another root element, a document type declaration
    /// or an entity other than the predefined ones.
    #[cfg(feature = "xml")]
    #[cfg_attr(docsrs, doc(cfg(feature = "xml")))]
    pub fn from_xml(body: &[u8]) -> Result<Self, Error> {
        crate::xml::resource(body)
    }

    /// Parses a resource in the given representation.
    ///
    /// # Errors
    ///
    /// As for [`Resource::from_json`] and `Resource::from_xml`; [`Error::Decode`] for XML
    /// without the `xml` feature.
    pub fn parse(body: &[u8], format: crate::Format) -> Result<Self, Error> {
        crate::representation::resource(format, body)
    }

    #[cfg_attr(not(feature = "xml"), allow(dead_code))]
    pub(crate) fn from_parts(
        links: Links,
        embedded: BTreeMap<String, Vec<Resource>>,
        properties: Map<String, Value>,
    ) -> Self {
        Resource {
            links,
            embedded,
            properties,
        }
    }

    /// The resource's `rel` property, when it carries one (GET replies usually do).
    pub fn rel(&self) -> Option<&str> {
        self.property_str("rel")
    }

    /// The resource's links.
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// The `self` link.
    pub fn self_link(&self) -> Option<&Link> {
        self.links.get("self")
    }

    /// A property by name.
    pub fn property(&self, name: &str) -> Option<&Value> {
        self.properties.get(name)
    }

    /// A property by name, when it is a string.
    pub fn property_str(&self, name: &str) -> Option<&str> {
        self.property(name).and_then(Value::as_str)
    }

    /// Every property, including ones this crate does not know.
    pub fn properties(&self) -> &Map<String, Value> {
        &self.properties
    }

    /// The first embedded resource with this rel.
    pub fn embedded(&self, rel: &str) -> Option<&Resource> {
        self.embedded.get(rel).and_then(|all| all.first())
    }

    /// Every embedded resource with this rel.
    pub fn embedded_all(&self, rel: &str) -> &[Resource] {
        self.embedded
            .get(rel)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The rels of the embedded resources.
    pub fn embedded_rels(&self) -> impl Iterator<Item = &str> {
        self.embedded.keys().map(String::as_str)
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ResourceVisitor)
    }
}

/// Reads a resource in one pass: `_links` and `_embedded` into their typed forms, every other
/// member into the properties, with no intermediate buffering of the object.
struct ResourceVisitor;

impl<'de> Visitor<'de> for ResourceVisitor {
    type Value = Resource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a resource object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Resource, A::Error> {
        let mut resource = Resource::default();
        while let Some(key) = map.next_key::<Key<'_>>()? {
            match key.as_str() {
                "_links" => resource.links = map.next_value()?,
                "_embedded" => resource.embedded = map.next_value::<Embedded>()?.0,
                _ => {
                    let value = map.next_value::<Value>()?;
                    resource.properties.insert(key.into_owned(), value);
                }
            }
        }
        Ok(resource)
    }
}

/// `_embedded` maps a rel to one resource or an array of them.
struct Embedded(BTreeMap<String, Vec<Resource>>);

impl<'de> Deserialize<'de> for Embedded {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EmbeddedVisitor;

        impl<'de> Visitor<'de> for EmbeddedVisitor {
            type Value = Embedded;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of rels to resources")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Embedded, A::Error> {
                let mut embedded = BTreeMap::new();
                while let Some(rel) = map.next_key::<String>()? {
                    let OneOrMany(found) = map.next_value::<OneOrMany<Resource>>()?;
                    embedded.insert(rel, found);
                }
                Ok(Embedded(embedded))
            }
        }

        deserializer.deserialize_map(EmbeddedVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_properties_and_embedded_resources() {
        let resource = Resource::from_json(
            br#"{
                "rel": "communication",
                "4d221db7-4af0-476b-9443-8bc874283085": "please pass this in a PUT request",
                "supportedModalities": [],
                "_links": {"self": {"href": "/c"}},
                "_embedded": {
                    "me": {"name": "Lene", "_links": {"self": {"href": "/me"}}},
                    "many": [{"rel": "a"}, {"rel": "b"}]
                }
            }"#,
        )
        .unwrap();
        assert_eq!(resource.rel(), Some("communication"));
        assert_eq!(
            resource.property_str("4d221db7-4af0-476b-9443-8bc874283085"),
            Some("please pass this in a PUT request")
        );
        assert_eq!(resource.self_link().unwrap().href, "/c");
        assert_eq!(
            resource.embedded("me").unwrap().property_str("name"),
            Some("Lene")
        );
        assert_eq!(resource.embedded_all("many").len(), 2);
        assert!(resource.property("_links").is_none());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let depth = 100_000;
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let nested = format!(r#"{{"x": {body}}}"#);
        assert_eq!(
            Resource::from_json(nested.as_bytes())
                .unwrap_err()
                .kind()
                .as_str(),
            "decode"
        );
    }

    #[test]
    fn non_objects_are_decode_errors() {
        for body in [&b"[]"[..], b"null", b"\"x\"", b"", b"{", b"\xff"] {
            assert!(Resource::from_json(body).is_err());
        }
    }
}
