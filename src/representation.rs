//! Representations: which codec reads a body, and how request inputs are written.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;
use crate::event::WireBatch;
use crate::resource::Resource;

/// A representation UCWA serves, asked for with `Accept` and recognised by `Content-Type`.
///
/// The client asks for its [`ClientBuilder::format`](crate::ClientBuilder::format), but reads
/// every reply in the representation the reply says it is in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// `application/json` (the default).
    #[default]
    Json,
    /// `application/xml` (with the `xml` feature).
    Xml,
}

impl Format {
    /// The media type the client sends in `Accept` and as the type of its inputs.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml",
        }
    }

    /// The representation a `Content-Type` names, with or without parameters, or `None` for
    /// any other type. Both the plain and the UCWA-specific types are recognised
    /// (`application/vnd.microsoft.com.ucwa+json`, `…+xml`).
    pub fn from_content_type(value: &str) -> Option<Format> {
        let essence = value.split(';').next().unwrap_or_default().trim();
        let is = |name: &str| essence.eq_ignore_ascii_case(name);
        if is("application/json")
            || is("application/vnd.microsoft.com.ucwa+json")
            || is("text/json")
        {
            Some(Format::Json)
        } else if is("application/xml")
            || is("application/vnd.microsoft.com.ucwa+xml")
            || is("text/xml")
        {
            Some(Format::Xml)
        } else {
            None
        }
    }

    /// Parses `json` or `xml`, case-insensitively.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] for anything else.
    pub fn parse(text: &str) -> Result<Format, Error> {
        if text.eq_ignore_ascii_case("json") {
            Ok(Format::Json)
        } else if text.eq_ignore_ascii_case("xml") {
            Ok(Format::Xml)
        } else {
            Err(Error::InvalidInput(format!("{text:?} is not json or xml")))
        }
    }
}

impl std::str::FromStr for Format {
    type Err = Error;

    fn from_str(text: &str) -> Result<Format, Error> {
        Format::parse(text)
    }
}

/// The representation of a body with no `Content-Type`: XML when it starts with `<` (after any
/// UTF-8 byte order mark and whitespace).
pub(crate) fn sniff(body: &[u8]) -> Format {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    match body.trim_ascii_start().first() {
        Some(b'<') => Format::Xml,
        _ => Format::Json,
    }
}

/// The representation of a reply, from its `Content-Type` (sniffed when there is none).
pub(crate) fn of_reply(
    content_type: Option<&str>,
    body: &[u8],
    what: &str,
) -> Result<Format, Error> {
    match content_type {
        None => Ok(sniff(body)),
        Some(text) => Format::from_content_type(text).ok_or_else(|| {
            Error::decode_plain(format!("{what} of type {text:?}: not json or xml"))
        }),
    }
}

/// Reads a resource.
pub(crate) fn resource(format: Format, body: &[u8]) -> Result<Resource, Error> {
    match format {
        Format::Json => Resource::from_json(body),
        Format::Xml => xml_resource(body),
    }
}

#[cfg(feature = "xml")]
fn xml_resource(body: &[u8]) -> Result<Resource, Error> {
    crate::xml::resource(body)
}

#[cfg(not(feature = "xml"))]
fn xml_resource(_body: &[u8]) -> Result<Resource, Error> {
    Err(no_xml())
}

#[cfg(feature = "xml")]
pub(crate) fn xml_event_batch(body: &[u8]) -> Result<WireBatch, Error> {
    crate::xml::event_batch(body)
}

#[cfg(not(feature = "xml"))]
pub(crate) fn xml_event_batch(_body: &[u8]) -> Result<WireBatch, Error> {
    Err(no_xml())
}

#[cfg(not(feature = "xml"))]
fn no_xml() -> Error {
    Error::decode_plain("an xml representation: the crate's xml feature is off")
}

/// The fields of an error body, whichever representation it came in.
#[derive(Deserialize)]
pub(crate) struct ErrorParts {
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) subcode: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default, rename = "debugInfo")]
    pub(crate) debug_info: Option<Value>,
    #[serde(default)]
    pub(crate) parameters: Option<Value>,
}

/// Reads an error body, or `None` when the body is not a UCWA error. A body without a
/// `Content-Type` is sniffed, as every other reply is.
pub(crate) fn error_parts(content_type: Option<&str>, body: &[u8]) -> Option<ErrorParts> {
    let format = match content_type {
        Some(text) => Format::from_content_type(text)?,
        None => sniff(body),
    };
    match format {
        Format::Json => serde_json::from_slice(body).ok(),
        #[cfg(feature = "xml")]
        Format::Xml => crate::xml::error_body(body),
        #[cfg(not(feature = "xml"))]
        Format::Xml => None,
    }
}

/// A request input of named string properties: `{"name": "value", …}` in JSON,
/// `<input><property name>…</property></input>` in XML.
pub(crate) fn input(format: Format, properties: &[(&str, &str)]) -> (&'static str, Bytes) {
    let body = match format {
        Format::Json => {
            let object: serde_json::Map<String, Value> = properties
                .iter()
                .map(|(name, value)| ((*name).to_owned(), Value::from(*value)))
                .collect();
            Value::Object(object).to_string()
        }
        #[cfg(feature = "xml")]
        Format::Xml => crate::xml::input(properties),
        // The builder refuses the XML format without the feature.
        #[cfg(not(feature = "xml"))]
        Format::Xml => Value::Null.to_string(),
    };
    (format.media_type(), Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_their_representation() {
        for (value, format) in [
            ("application/json", Some(Format::Json)),
            ("Application/JSON; charset=utf-8", Some(Format::Json)),
            (
                "application/vnd.microsoft.com.ucwa+json",
                Some(Format::Json),
            ),
            ("application/xml", Some(Format::Xml)),
            (
                "application/vnd.microsoft.com.ucwa+xml; charset=utf-8",
                Some(Format::Xml),
            ),
            ("text/xml", Some(Format::Xml)),
            ("text/html", None),
            ("application/jsonx", None),
            ("", None),
        ] {
            assert_eq!(Format::from_content_type(value), format, "{value}");
        }
    }

    #[test]
    fn bodies_without_a_type_are_sniffed() {
        assert_eq!(sniff(b"  <resource/>"), Format::Xml);
        assert_eq!(sniff(b"{}"), Format::Json);
        assert_eq!(sniff(b""), Format::Json);
        assert_eq!(sniff(b"\xEF\xBB\xBF<events/>"), Format::Xml);
    }

    #[test]
    fn json_inputs_are_objects_of_strings() {
        let (content_type, body) = input(Format::Json, &[("reason", "Conflict")]);
        assert_eq!(content_type, "application/json");
        assert_eq!(&body[..], br#"{"reason":"Conflict"}"#);
        assert_eq!(&input(Format::Json, &[]).1[..], b"{}");
    }
}
