//! Events: the grammar of an event channel reply (and of a webhook body), parsed once.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::error::{Error, ErrorCode, ErrorSubcode};
use crate::link::Links;
use crate::resource::Resource;

/// What happened to the resource or operation an [`Event`] is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// A resource was added (to the collection in [`Event::in_link`], if any).
    Added,
    /// A resource or operation changed.
    Updated,
    /// A resource was deleted.
    Deleted,
    /// An operation started.
    Started,
    /// An operation completed; see [`Event::status`] and [`Event::reason`].
    Completed,
    /// A type this crate does not know, kept as sent.
    Other(String),
}

impl EventType {
    /// Reads the protocol's value, case-insensitively.
    pub fn parse(text: &str) -> Self {
        const KNOWN: [(&str, EventType); 5] = [
            ("added", EventType::Added),
            ("updated", EventType::Updated),
            ("deleted", EventType::Deleted),
            ("started", EventType::Started),
            ("completed", EventType::Completed),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|(_, kind)| kind)
            .unwrap_or_else(|| EventType::Other(text.to_owned()))
    }

    /// The value as the protocol spells it.
    pub fn as_str(&self) -> &str {
        match self {
            EventType::Added => "added",
            EventType::Updated => "updated",
            EventType::Deleted => "deleted",
            EventType::Started => "started",
            EventType::Completed => "completed",
            EventType::Other(text) => text,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `status` of a completed operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationStatus {
    /// The operation succeeded.
    Success,
    /// The operation failed; the event's `reason` says why.
    Failure,
    /// A value this crate does not know, kept as sent.
    Other(String),
}

impl OperationStatus {
    fn parse(text: &str) -> Self {
        if text.eq_ignore_ascii_case("Success") {
            OperationStatus::Success
        } else if text.eq_ignore_ascii_case("Failure") {
            OperationStatus::Failure
        } else {
            OperationStatus::Other(text.to_owned())
        }
    }
}

/// The error body carried as the `reason` of a failed operation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reason {
    /// The `code`, when given.
    pub code: Option<ErrorCode>,
    /// The `subcode`, when given and not `None`.
    pub subcode: Option<ErrorSubcode>,
    /// The human-readable `message`.
    pub message: Option<String>,
    /// The `debugInfo` bag.
    pub debug_info: Option<Value>,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}")?,
            None => f.write_str("no code")?,
        }
        if let Some(subcode) = &self.subcode {
            write!(f, "/{subcode}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

/// A link inside an event: the resource the event is about, or the collection it is `in`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EventLink {
    /// The rel of the linked resource.
    pub rel: String,
    /// The absolute URL, resolved against the batch's `baseuri` or the client's origin.
    pub href: Url,
    /// The title, when given.
    pub title: Option<String>,
}

/// One event from the event channel.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The sender: the resource that owns or controls the one the event is about.
    pub sender: EventLink,
    /// The resource or operation the event is about.
    pub link: EventLink,
    /// What happened.
    pub event_type: EventType,
    /// The collection a resource joined or left, for `added` and `deleted`.
    pub in_link: Option<EventLink>,
    /// The outcome of a completed operation.
    pub status: Option<OperationStatus>,
    /// Why a completed operation failed.
    pub reason: Option<Reason>,
    /// The resource itself, when the server embedded it.
    pub resource: Option<Resource>,
}

impl Event {
    /// The operation id of the event's embedded resource, when it has one.
    pub fn operation_id(&self) -> Option<&str> {
        self.resource.as_ref()?.property_str("operationId")
    }

    /// Parses an event channel reply or a webhook body, in JSON or (with the `xml` feature) XML,
    /// told apart by the body's first character.
    ///
    /// Relative hrefs resolve against the body's top-level `baseuri` when it has one, otherwise
    /// against `origin` (normally [`Client::origin`](crate::Client::origin)).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] when the body is not an event batch or an href does not resolve.
    ///
    /// # Examples
    ///
    /// ```
    /// let origin = url::Url::parse("https://fe1.contoso.com/").unwrap();
    /// let body = br#"{
    ///   "_links": {"self": {"href": "/events?ack=1"}, "next": {"href": "/events?ack=2"}},
    ///   "sender": [{"rel": "communication", "href": "/communication", "events": [
    ///     {"link": {"rel": "audioVideoRenegotiation", "href": "/r/1"}, "type": "started"}
    ///   ]}]
    /// }"#;
    /// let batch = ucwa::Event::parse_batch(body, &origin).unwrap();
    /// assert_eq!(batch.events[0].link.href.as_str(), "https://fe1.contoso.com/r/1");
    /// assert_eq!(batch.next.unwrap().as_str(), "https://fe1.contoso.com/events?ack=2");
    /// ```
    pub fn parse_batch(body: &[u8], origin: &Url) -> Result<EventBatch, Error> {
        let format = crate::representation::sniff(body);
        Event::parse_batch_as(body, format, origin)
    }

    /// Parses an event batch in a known representation.
    ///
    /// # Errors
    ///
    /// As for [`Event::parse_batch`]; [`Error::Decode`] for XML without the `xml` feature.
    pub fn parse_batch_as(
        body: &[u8],
        format: crate::Format,
        origin: &Url,
    ) -> Result<EventBatch, Error> {
        let wire = match format {
            crate::Format::Json => {
                // serde would also read a struct from an array; a batch is an object only.
                if body.trim_ascii_start().first() != Some(&b'{') {
                    return Err(Error::decode_plain(
                        "a json event batch: the body is not an object",
                    ));
                }
                serde_json::from_slice::<WireBatch>(body)
                    .map_err(|source| Error::decode("a json event batch", source))?
            }
            crate::Format::Xml => crate::representation::xml_event_batch(body)?,
        };
        wire.resolve(origin)
    }
}

/// What the channel should read next, from an event channel reply's links.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextLink {
    /// Carry on.
    Next(Url),
    /// The server dropped idle state; carry on.
    Resume(Url),
    /// The acknowledgement was out of range; carry on, but cached state is stale.
    Resync(Url),
}

impl NextLink {
    /// The URL to read next.
    pub fn url(&self) -> &Url {
        match self {
            NextLink::Next(url) | NextLink::Resume(url) | NextLink::Resync(url) => url,
        }
    }
}

/// One parsed reply of the event channel.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EventBatch {
    /// The reply's `self` link.
    pub self_link: Option<Url>,
    /// The `next` link (kept for convenience; [`EventBatch::follow`] says which one to take).
    pub next: Option<Url>,
    /// What to read next: `next`, `resume` or `resync`, whichever the reply carries.
    pub follow: Option<NextLink>,
    /// The events, in the server's order across all senders.
    pub events: Vec<Event>,
}

/// An event batch as either representation carries it, before hrefs are resolved.
#[derive(Deserialize)]
pub(crate) struct WireBatch {
    #[serde(rename = "_links", default)]
    pub(crate) links: Links,
    #[serde(default)]
    pub(crate) baseuri: Option<String>,
    #[serde(default)]
    pub(crate) sender: Vec<WireSender>,
}

#[derive(Deserialize)]
pub(crate) struct WireSender {
    pub(crate) rel: String,
    pub(crate) href: String,
    #[serde(default)]
    pub(crate) events: Vec<WireEvent>,
}

#[derive(Deserialize)]
pub(crate) struct WireEvent {
    pub(crate) link: WireLink,
    #[serde(rename = "type")]
    pub(crate) event_type: String,
    #[serde(rename = "in", default)]
    pub(crate) in_link: Option<WireLink>,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) reason: Option<WireReason>,
    /// The embedded resource, keyed by its rel in JSON; an event carries at most one.
    #[serde(rename = "_embedded", default, deserialize_with = "first_embedded")]
    pub(crate) embedded: Option<Resource>,
}

#[derive(Deserialize)]
pub(crate) struct WireLink {
    #[serde(default)]
    pub(crate) rel: String,
    pub(crate) href: String,
    #[serde(default)]
    pub(crate) title: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct WireReason {
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) subcode: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(rename = "debugInfo", default)]
    pub(crate) debug_info: Option<Value>,
}

fn first_embedded<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Resource>, D::Error> {
    let embedded: Option<BTreeMap<String, Resource>> = Option::deserialize(deserializer)?;
    Ok(embedded.and_then(|all| all.into_values().next()))
}

impl WireBatch {
    pub(crate) fn resolve(self, origin: &Url) -> Result<EventBatch, Error> {
        let base = match &self.baseuri {
            Some(baseuri) => origin
                .join(baseuri)
                .map_err(|source| Error::decode(format!("the baseuri {baseuri:?}"), source))?,
            None => origin.clone(),
        };
        let join = |href: &str| {
            base.join(href)
                .map_err(|source| Error::decode(format!("the event href {href:?}"), source))
        };
        let link = |rel: &str| -> Result<Option<Url>, Error> {
            self.links.get(rel).map(|link| join(&link.href)).transpose()
        };

        let next = link("next")?;
        let follow = match (&next, link("resume")?, link("resync")?) {
            (Some(next), _, _) => Some(NextLink::Next(next.clone())),
            (None, Some(resume), _) => Some(NextLink::Resume(resume)),
            (None, None, Some(resync)) => Some(NextLink::Resync(resync)),
            (None, None, None) => None,
        };

        let mut events = Vec::new();
        for sender in &self.sender {
            let sender_link = EventLink {
                rel: sender.rel.clone(),
                href: join(&sender.href)?,
                title: None,
            };
            for event in &sender.events {
                events.push(event.resolve(&sender_link, &join)?);
            }
        }
        Ok(EventBatch {
            self_link: link("self")?,
            next,
            follow,
            events,
        })
    }
}

impl WireEvent {
    fn resolve(
        &self,
        sender: &EventLink,
        join: &dyn Fn(&str) -> Result<Url, Error>,
    ) -> Result<Event, Error> {
        let event_link = |wire: &WireLink| -> Result<EventLink, Error> {
            Ok(EventLink {
                rel: wire.rel.clone(),
                href: join(&wire.href)?,
                title: wire.title.clone(),
            })
        };
        Ok(Event {
            sender: sender.clone(),
            link: event_link(&self.link)?,
            event_type: EventType::parse(&self.event_type),
            in_link: self.in_link.as_ref().map(event_link).transpose()?,
            status: self.status.as_deref().map(OperationStatus::parse),
            reason: self.reason.as_ref().map(|reason| Reason {
                code: reason.code.clone().map(ErrorCode::from),
                subcode: reason.subcode.clone().and_then(ErrorSubcode::parse),
                message: reason.message.clone(),
                debug_info: reason.debug_info.clone(),
            }),
            resource: self.embedded.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Url {
        Url::parse("https://fe1.contoso.com/").unwrap()
    }

    #[test]
    fn types_and_statuses_keep_unknown_values() {
        assert_eq!(EventType::parse("STARTED"), EventType::Started);
        assert_eq!(EventType::parse("moved").as_str(), "moved");
        assert_eq!(OperationStatus::parse("success"), OperationStatus::Success);
    }

    #[test]
    fn resume_and_resync_are_followed_when_there_is_no_next() {
        let body = br#"{"_links": {"self": {"href": "/e?ack=1"}, "resync": {"href": "/e?ack=9"}}}"#;
        let batch = Event::parse_batch(body, &origin()).unwrap();
        assert!(matches!(batch.follow, Some(NextLink::Resync(_))));
        assert!(batch.events.is_empty());
    }

    #[test]
    fn baseuri_wins_over_the_origin() {
        let body = br#"{
            "baseuri": "https://pool.contoso.com",
            "_links": {"next": {"href": "/e?ack=2"}},
            "sender": [{"rel": "me", "href": "/me", "events": [
                {"link": {"rel": "presence", "href": "/me/presence"}, "type": "added",
                 "in": {"rel": "me", "href": "/me"}}
            ]}]
        }"#;
        let batch = Event::parse_batch(body, &origin()).unwrap();
        let event = &batch.events[0];
        assert_eq!(
            event.link.href.as_str(),
            "https://pool.contoso.com/me/presence"
        );
        assert_eq!(event.in_link.as_ref().unwrap().rel, "me");
        assert_eq!(batch.next.unwrap().host_str(), Some("pool.contoso.com"));
    }

    #[test]
    fn completed_operations_carry_status_and_reason() {
        let body = br#"{"sender": [{"rel": "communication", "href": "/c", "events": [
            {"link": {"rel": "audioVideoRenegotiation", "href": "/r"}, "type": "completed",
             "status": "Failure",
             "reason": {"code": "Conflict", "subcode": "MediaNegotiationFailure", "message": "no"},
             "_embedded": {"audioVideoRenegotiation": {"operationId": "op-1"}}}
        ]}]}"#;
        let batch = Event::parse_batch(body, &origin()).unwrap();
        let event = &batch.events[0];
        assert_eq!(event.status, Some(OperationStatus::Failure));
        let reason = event.reason.as_ref().unwrap();
        assert_eq!(reason.code, Some(ErrorCode::Conflict));
        assert_eq!(reason.subcode, Some(ErrorSubcode::MediaNegotiationFailure));
        assert_eq!(event.operation_id(), Some("op-1"));
        assert!(batch.follow.is_none());
    }

    #[test]
    fn bad_bodies_are_decode_errors() {
        for body in [
            &b""[..],
            b"[]",
            b"{\"sender\": {}}",
            b"{\"sender\": [{\"rel\": 1}]}",
        ] {
            assert_eq!(
                Event::parse_batch(body, &origin())
                    .unwrap_err()
                    .kind()
                    .as_str(),
                "decode"
            );
        }
    }
}
