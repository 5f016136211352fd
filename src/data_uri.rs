//! RFC 2397 `data:` URIs, in which UCWA carries SDP offers and answers.

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use bytes::Bytes;
use percent_encoding::percent_decode_str;

use crate::error::Error;

/// Standard base64 that accepts input with or without padding.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded `data:` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DataUri {
    /// The media type without parameters, lowercased (`text/plain` when the URI names none).
    pub media_type: String,
    /// The parameters after the media type (such as `charset=utf-8`), as written.
    pub parameters: Vec<String>,
    /// The decoded content.
    pub data: Bytes,
}

impl DataUri {
    /// Decodes a `data:` URI in either form: `data:<type>;base64,<base64>` or
    /// `data:<type>,<percent-encoded text>`. Base64 content may itself be percent-encoded.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the text is not a `data:` URI, has no comma, or its content does
    /// not decode.
    ///
    /// # Examples
    ///
    /// ```
    /// let uri = ucwa::DataUri::parse("data:application/sdp;base64,dj0wDQo=").unwrap();
    /// assert_eq!(uri.media_type, "application/sdp");
    /// assert_eq!(&uri.data[..], b"v=0\r\n");
    ///
    /// let uri = ucwa::DataUri::parse("data:application/sdp,v=0%0D%0A").unwrap();
    /// assert_eq!(&uri.data[..], b"v=0\r\n");
    /// ```
    pub fn parse(uri: &str) -> Result<Self, Error> {
        let rest = uri
            .get(..5)
            .filter(|scheme| scheme.eq_ignore_ascii_case("data:"))
            .map(|_| &uri[5..])
            .ok_or_else(|| Error::decode_plain("a data uri: it does not start with `data:`"))?;
        let (header, content) = rest
            .split_once(',')
            .ok_or_else(|| Error::decode_plain("a data uri: it has no comma"))?;

        let mut parts = header.split(';').map(str::trim);
        let media_type = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut parameters: Vec<String> = parts.map(str::to_owned).collect();
        let is_base64 = parameters
            .last()
            .is_some_and(|last| last.eq_ignore_ascii_case("base64"));
        if is_base64 {
            parameters.pop();
        }

        let data = if is_base64 {
            // Servers send plain base64, decoded in one pass; only text that fails that is
            // looked at again for percent-encoding and whitespace.
            BASE64.decode(content).or_else(|error| {
                if !content
                    .bytes()
                    .any(|b| b == b'%' || b.is_ascii_whitespace())
                {
                    return Err(error);
                }
                let compact: Vec<u8> = percent_decode_str(content)
                    .filter(|byte| !byte.is_ascii_whitespace())
                    .collect();
                BASE64.decode(compact)
            })
        } else {
            Ok(percent_decode_str(content).collect())
        }
        .map_err(|source| Error::decode("the base64 content of a data uri", source))?;

        Ok(DataUri {
            media_type: if media_type.is_empty() {
                "text/plain".to_owned()
            } else {
                media_type
            },
            parameters,
            data: Bytes::from(data),
        })
    }

    /// Encodes bytes as `data:<media_type>;base64,<content>`, the form UCWA servers send.
    pub fn encode_base64(media_type: &str, data: &[u8]) -> String {
        format!(
            "data:{media_type};base64,{}",
            general_purpose::STANDARD.encode(data)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\na=x-mediasettings:none\r\n";

    #[test]
    fn base64_round_trip() {
        let uri = DataUri::encode_base64("application/sdp", SDP);
        let decoded = DataUri::parse(&uri).unwrap();
        assert_eq!(decoded.media_type, "application/sdp");
        assert_eq!(&decoded.data[..], SDP);
    }

    #[test]
    fn percent_encoded_form() {
        let encoded: String = percent_encoding::utf8_percent_encode(
            std::str::from_utf8(SDP).unwrap(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        let decoded = DataUri::parse(&format!("data:application/sdp,{encoded}")).unwrap();
        assert_eq!(&decoded.data[..], SDP);
    }

    #[test]
    fn parameters_and_default_type() {
        let uri = DataUri::parse("data:Application/SDP;charset=utf-8;BASE64,dj0w").unwrap();
        assert_eq!(uri.media_type, "application/sdp");
        assert_eq!(uri.parameters, ["charset=utf-8"]);
        assert_eq!(&uri.data[..], b"v=0");
        assert_eq!(DataUri::parse("data:,hi").unwrap().media_type, "text/plain");
    }

    #[test]
    fn the_reference_placeholder_is_a_decode_error() {
        let error = DataUri::parse("data:application/sdp;base64,base64-encoded-sdp").unwrap_err();
        assert_eq!(error.kind().as_str(), "decode");
    }

    #[test]
    fn not_a_data_uri() {
        for text in [
            "",
            "data",
            "http://x/",
            "data:application/sdp;base64",
            "dätä:,x",
        ] {
            assert!(DataUri::parse(text).is_err(), "{text:?}");
        }
    }
}
