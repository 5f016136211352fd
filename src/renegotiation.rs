//! The renegotiation entity (`audioVideoRenegotiation`) and its `answer` and `dismiss` actions.

use std::fmt;

use bytes::Bytes;
use reqwest::{Method, StatusCode};

use crate::client::Client;
use crate::data_uri::DataUri;
use crate::error::Error;
use crate::link::{Link, Links};
use crate::representation;
use crate::request::{Request, SDP};
use crate::resource::Resource;

/// Which side started a renegotiation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// The far end sent the offer.
    Incoming,
    /// This client sent the offer.
    Outgoing,
    /// A value this crate does not know, kept as sent.
    Unknown(String),
}

impl Direction {
    /// Reads the protocol's value, case-insensitively; anything else is kept as unknown.
    pub fn parse(text: &str) -> Self {
        if text.eq_ignore_ascii_case("Incoming") {
            Direction::Incoming
        } else if text.eq_ignore_ascii_case("Outgoing") {
            Direction::Outgoing
        } else {
            Direction::Unknown(text.to_owned())
        }
    }

    /// The value as the protocol spells it (or as the server sent an unknown one).
    pub fn as_str(&self) -> &str {
        match self {
            Direction::Incoming => "Incoming",
            Direction::Outgoing => "Outgoing",
            Direction::Unknown(text) => text,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a renegotiation is dismissed: the `reason` of a `dismiss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeclineReason {
    /// No particular reason.
    Unknown,
    /// Media could not be allocated.
    MediaAllocationFailure,
    /// The encryption settings do not match.
    EncryptionMismatch,
    /// IPv6 is not supported.
    IPv6NotSupported,
    /// The offered media is not supported.
    UnsupportedMedia,
    /// The offer is not valid.
    InvalidMediaOffer,
    /// There is not enough bandwidth.
    InsufficientBandwidth,
    /// The offer conflicts with the current state.
    Conflict,
}

impl DeclineReason {
    /// Every reason, in the protocol's order.
    pub const ALL: [DeclineReason; 8] = [
        DeclineReason::Unknown,
        DeclineReason::MediaAllocationFailure,
        DeclineReason::EncryptionMismatch,
        DeclineReason::IPv6NotSupported,
        DeclineReason::UnsupportedMedia,
        DeclineReason::InvalidMediaOffer,
        DeclineReason::InsufficientBandwidth,
        DeclineReason::Conflict,
    ];

    /// The reason as the protocol spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            DeclineReason::Unknown => "Unknown",
            DeclineReason::MediaAllocationFailure => "MediaAllocationFailure",
            DeclineReason::EncryptionMismatch => "EncryptionMismatch",
            DeclineReason::IPv6NotSupported => "IPv6NotSupported",
            DeclineReason::UnsupportedMedia => "UnsupportedMedia",
            DeclineReason::InvalidMediaOffer => "InvalidMediaOffer",
            DeclineReason::InsufficientBandwidth => "InsufficientBandwidth",
            DeclineReason::Conflict => "Conflict",
        }
    }
}

impl fmt::Display for DeclineReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DeclineReason {
    type Err = Error;

    /// Parses a reason, case-insensitively.
    fn from_str(text: &str) -> Result<Self, Error> {
        DeclineReason::ALL
            .into_iter()
            .find(|reason| reason.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| Error::InvalidInput(format!("{text:?} is not a decline reason")))
    }
}

/// A renegotiation of a session's media: the entity a `renegotiations` POST creates, and what an
/// incoming renegotiation event points to.
///
/// The SDP offer and answer travel as `data:` URIs in the `mediaOffer` and `mediaAnswer` links.
/// They are decoded when read, so an entity whose SDP does not decode still parses and the error
/// comes from [`Renegotiation::media_offer`] or [`Renegotiation::media_answer`].
#[derive(Clone)]
pub struct Renegotiation {
    client: Client,
    resource: Resource,
    direction: Option<Direction>,
}

impl Renegotiation {
    pub(crate) fn new(client: Client, resource: Resource) -> Self {
        let direction = resource.property_str("direction").map(Direction::parse);
        Renegotiation {
            client,
            resource,
            direction,
        }
    }

    /// A renegotiation read from a resource fetched elsewhere (embedded in an event, say).
    pub fn from_resource(client: &Client, resource: Resource) -> Self {
        Renegotiation::new(client.clone(), resource)
    }

    /// Which side sent the offer; `None` when the entity does not say.
    pub fn direction(&self) -> Option<&Direction> {
        self.direction.as_ref()
    }

    /// The `operationId` the entity carries.
    pub fn operation_id(&self) -> Option<&str> {
        self.resource.property_str("operationId")
    }

    /// The SDP offer, decoded from the `mediaOffer` data URI; `None` when there is no such link.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the href is not a data URI of type `application/sdp` or its
    /// content does not decode.
    pub fn media_offer(&self) -> Result<Option<Bytes>, Error> {
        self.sdp_link("mediaOffer")
    }

    /// The SDP answer, decoded from the `mediaAnswer` data URI; `None` when there is no such
    /// link.
    ///
    /// # Errors
    ///
    /// As for [`Renegotiation::media_offer`].
    pub fn media_answer(&self) -> Result<Option<Bytes>, Error> {
        self.sdp_link("mediaAnswer")
    }

    /// The entity's `self` link.
    pub fn self_link(&self) -> Option<&Link> {
        self.links().get("self")
    }

    /// The `answer` link: present while the renegotiation can be answered.
    pub fn answer_link(&self) -> Option<&Link> {
        self.links().get("answer")
    }

    /// The `dismiss` link: present while the renegotiation can be declined.
    pub fn dismiss_link(&self) -> Option<&Link> {
        self.links().get("dismiss")
    }

    /// The `audioVideoSession` link.
    pub fn audio_video_session_link(&self) -> Option<&Link> {
        self.links().get("audioVideoSession")
    }

    /// The `conversation` link.
    pub fn conversation_link(&self) -> Option<&Link> {
        self.links().get("conversation")
    }

    /// All the entity's links, including ones this crate does not know.
    pub fn links(&self) -> &Links {
        self.resource.links()
    }

    /// The entity as the server sent it.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// Reads the entity again from its `self` link.
    ///
    /// A `Renegotiation` is a snapshot: after [`answer`](Renegotiation::answer) or
    /// [`dismiss`](Renegotiation::dismiss) it still shows the links it was read with, and a
    /// refreshed copy shows what the server offers now.
    ///
    /// # Errors
    ///
    /// [`Error::MissingLink`] without a `self` link; any error of the GET.
    pub async fn refresh(&self) -> Result<Renegotiation, Error> {
        let url = self.client.resolve(self.links().require("self")?)?;
        let resource = self
            .client
            .get_resource(url, "audioVideoRenegotiation")
            .await?;
        Ok(Renegotiation::new(self.client.clone(), resource))
    }

    /// Accepts the renegotiation: a POST with no body to the `answer` link, expecting 204.
    ///
    /// # Errors
    ///
    /// [`Error::MissingLink`] without an `answer` link; a service error for any status but
    /// 204; the client's transport, timeout and size errors.
    pub async fn answer(&self) -> Result<(), Error> {
        self.act("answer", None).await
    }

    /// Accepts the renegotiation with this SDP answer, sent as `application/sdp` with its bytes
    /// unchanged, expecting 204.
    ///
    /// # Errors
    ///
    /// As for [`Renegotiation::answer`]; [`Error::InvalidInput`] for an empty SDP.
    pub async fn answer_with(&self, sdp: impl Into<Bytes>) -> Result<(), Error> {
        let sdp = sdp.into();
        if sdp.is_empty() {
            return Err(Error::InvalidInput("the sdp answer is empty".to_owned()));
        }
        self.act("answer", Some((SDP, sdp))).await
    }

    /// Declines the renegotiation: a POST of `{"reason": …}` (or `{}` without a reason) to the
    /// `dismiss` link, expecting 204. A client whose format is XML sends
    /// `<input><property name="reason">…</property></input>` as `application/xml`.
    ///
    /// # Errors
    ///
    /// [`Error::MissingLink`] without a `dismiss` link; otherwise as for
    /// [`Renegotiation::answer`].
    pub async fn dismiss(&self, reason: Option<DeclineReason>) -> Result<(), Error> {
        let properties = match reason {
            Some(reason) => vec![("reason", reason.as_str())],
            None => Vec::new(),
        };
        let body = representation::input(self.client.format(), &properties);
        self.act("dismiss", Some(body)).await
    }

    async fn act(&self, rel: &str, body: Option<(&'static str, Bytes)>) -> Result<(), Error> {
        let link = self.links().require(rel)?;
        let url = self.client.resolve(link)?;
        self.client
            .execute(Request {
                method: Method::POST,
                url,
                rel,
                operation_id: None,
                body,
                expect: &[StatusCode::NO_CONTENT],
                timeout: None,
                retry: true,
            })
            .await?;
        Ok(())
    }

    fn sdp_link(&self, rel: &str) -> Result<Option<Bytes>, Error> {
        let Some(link) = self.links().get(rel) else {
            return Ok(None);
        };
        if !link.is_data() {
            return Err(Error::decode_plain(format!(
                "the {rel} link: its href is not a data uri"
            )));
        }
        let uri = DataUri::parse(&link.href)?;
        if uri.media_type != SDP {
            return Err(Error::decode_plain(format!(
                "the {rel} link: its data uri is {:?}, not {SDP}",
                uri.media_type
            )));
        }
        Ok(Some(uri.data))
    }
}

impl fmt::Debug for Renegotiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renegotiation")
            .field("direction", &self.direction)
            .field("operation_id", &self.operation_id())
            .field("self", &self.self_link().map(|link| link.href.as_str()))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_keep_unknown_values() {
        assert_eq!(Direction::parse("incoming"), Direction::Incoming);
        assert_eq!(Direction::parse("Outgoing"), Direction::Outgoing);
        assert_eq!(Direction::parse("Sideways").as_str(), "Sideways");
    }

    #[test]
    fn decline_reasons_round_trip() {
        for reason in DeclineReason::ALL {
            assert_eq!(reason.as_str().parse::<DeclineReason>().unwrap(), reason);
        }
        assert!("Bored".parse::<DeclineReason>().is_err());
    }
}
