//! HAL links: one link, and the `_links` map whose values are one link or an array.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::error::Error;

/// A link of a UCWA resource: where a related resource or action lives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Link {
    /// The target: absolute, relative to the server's origin, or a `data:` URI.
    pub href: String,
    /// A human-readable title, when the server gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The raw `revision` attribute (a decimal version; absent means 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Attributes this version of the crate does not know, kept as sent.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Link {
    /// A link to `href` with no other attributes.
    pub fn new(href: impl Into<String>) -> Self {
        Link {
            href: href.into(),
            title: None,
            revision: None,
            extra: BTreeMap::new(),
        }
    }

    /// The link's revision: 1 when absent.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the server sent a revision that is not a decimal number.
    pub fn revision(&self) -> Result<u64, Error> {
        match &self.revision {
            None => Ok(1),
            Some(text) => text
                .trim()
                .parse()
                .map_err(|source| Error::decode(format!("link revision {text:?}"), source)),
        }
    }

    /// Whether the href is a `data:` URI (which carries its content and is never fetched).
    pub fn is_data(&self) -> bool {
        self.href
            .get(..5)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"))
    }

    /// The href resolved against `base` (normally the client's origin).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the href is not a valid URL reference.
    pub fn resolve(&self, base: &Url) -> Result<Url, Error> {
        base.join(&self.href)
            .map_err(|source| Error::decode(format!("link href {:?}", self.href), source))
    }
}

/// The `_links` of a resource: each rel maps to one or more links.
///
/// JSON carries a single link as an object and a repeated rel as an array; both read the same.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Links(BTreeMap<String, Vec<Link>>);

impl Links {
    /// The first link with this rel.
    pub fn get(&self, rel: &str) -> Option<&Link> {
        self.0.get(rel).and_then(|links| links.first())
    }

    /// Every link with this rel, in the server's order (empty when there is none).
    pub fn get_all(&self, rel: &str) -> &[Link] {
        self.0.get(rel).map(Vec::as_slice).unwrap_or_default()
    }

    /// The first link with this rel, or the error that names the missing capability.
    ///
    /// # Errors
    ///
    /// [`Error::MissingLink`] when there is no such link.
    pub fn require(&self, rel: &str) -> Result<&Link, Error> {
        self.get(rel).ok_or_else(|| Error::missing_link(rel))
    }

    /// Whether a link with this rel exists.
    pub fn contains(&self, rel: &str) -> bool {
        self.get(rel).is_some()
    }

    /// All rels and their links, sorted by rel.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Link])> {
        self.0
            .iter()
            .map(|(rel, links)| (rel.as_str(), links.as_slice()))
    }

    /// Adds a link under `rel`, after any already there.
    pub fn push(&mut self, rel: impl Into<String>, link: Link) {
        self.0.entry(rel.into()).or_default().push(link);
    }

    /// The number of rels.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no links at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for Links {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LinksVisitor)
    }
}

impl Serialize for Links {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;

        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (rel, links) in &self.0 {
            match links.as_slice() {
                [one] => map.serialize_entry(rel, one)?,
                many => map.serialize_entry(rel, many)?,
            }
        }
        map.end()
    }
}

struct LinksVisitor;

impl<'de> Visitor<'de> for LinksVisitor {
    type Value = Links;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of rels to links")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Links, A::Error> {
        let mut links = Links::default();
        while let Some(rel) = map.next_key::<String>()? {
            let OneOrMany(found) = map.next_value::<OneOrMany<Link>>()?;
            match links.0.entry(rel) {
                Entry::Vacant(entry) => {
                    entry.insert(found);
                }
                Entry::Occupied(mut entry) => entry.get_mut().extend(found),
            }
        }
        Ok(links)
    }
}

/// One object or an array of them: how HAL writes a rel that may repeat, for links and
/// embedded resources alike.
pub(crate) struct OneOrMany<T>(pub(crate) Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or an array of objects")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OneOrMany<T>, A::Error> {
                let one = T::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OneOrMany(vec![one]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany<T>, A::Error> {
                let mut all = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(one) = seq.next_element()? {
                    all.push(one);
                }
                Ok(OneOrMany(all))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Link {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LinkVisitor)
    }
}

struct LinkVisitor;

impl<'de> Visitor<'de> for LinkVisitor {
    type Value = Link;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a link object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Link, A::Error> {
        let mut href = None;
        let mut link = Link::new(String::new());
        while let Some(key) = map.next_key::<Key<'_>>()? {
            match key.as_str() {
                "href" => href = Some(map.next_value::<String>()?),
                "title" => link.title = map.next_value()?,
                // A revision may be written as a string or a number.
                "revision" => {
                    link.revision = match map.next_value::<Value>()? {
                        Value::Null => None,
                        Value::String(text) => Some(text),
                        other => Some(other.to_string()),
                    }
                }
                _ => {
                    let value = map.next_value::<Value>()?;
                    link.extra.insert(key.into_owned(), value);
                }
            }
        }
        link.href = href.ok_or_else(|| de::Error::missing_field("href"))?;
        Ok(link)
    }
}

/// An object key, borrowed from the input when it has no escapes.
pub(crate) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(key) => key,
            Key::Owned(key) => key,
        }
    }

    pub(crate) fn into_owned(self) -> String {
        match self {
            Key::Borrowed(key) => key.to_owned(),
            Key::Owned(key) => key,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(key))
            }

            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key.to_owned()))
            }

            fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(key))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_single_links_and_arrays() {
        let links: Links = serde_json::from_str(
            r#"{
                "self": {"href": "/a"},
                "participant": [{"href": "/p/1", "title": "One"}, {"href": "/p/2"}],
                "empty": []
            }"#,
        )
        .unwrap();
        assert_eq!(links.get("self").unwrap().href, "/a");
        assert_eq!(links.get_all("participant").len(), 2);
        assert_eq!(
            links.get("participant").unwrap().title.as_deref(),
            Some("One")
        );
        assert!(links.get("empty").is_none());
        assert!(links.get_all("absent").is_empty());
    }

    #[test]
    fn keeps_unknown_attributes_and_reads_revisions() {
        let link: Link =
            serde_json::from_str(r#"{"href": "/x", "revision": 3, "hreflang": "en"}"#).unwrap();
        assert_eq!(link.revision().unwrap(), 3);
        assert_eq!(link.extra.get("hreflang"), Some(&Value::from("en")));
        assert_eq!(Link::new("/y").revision().unwrap(), 1);

        let bad: Link = serde_json::from_str(r#"{"href": "/x", "revision": "two"}"#).unwrap();
        assert_eq!(bad.revision().unwrap_err().kind().as_str(), "decode");
    }

    #[test]
    fn missing_link_names_the_rel() {
        let error = Links::default().require("renegotiations").unwrap_err();
        assert_eq!(error.rel(), Some("renegotiations"));
        assert_eq!(
            error.to_string(),
            "the resource has no `renegotiations` link"
        );
    }

    #[test]
    fn resolves_relative_hrefs_against_the_origin() {
        let origin = Url::parse("https://fe1.contoso.com/").unwrap();
        let link = Link::new("/ucwa/v1/applications/192");
        assert_eq!(
            link.resolve(&origin).unwrap().as_str(),
            "https://fe1.contoso.com/ucwa/v1/applications/192"
        );
        assert!(Link::new("DATA:application/sdp,x").is_data());
    }

    #[test]
    fn links_serialize_back_in_the_one_or_many_form() {
        let text = r#"{"a":{"href":"/a"},"b":[{"href":"/b1"},{"href":"/b2"}]}"#;
        let links: Links = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&links).unwrap(), text);
    }
}
