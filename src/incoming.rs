//! Renegotiations started by the far end, which exist only as events on the channel.

use std::fmt;

use crate::client::Client;
use crate::error::Error;
use crate::event::{Event, EventType};
use crate::renegotiation::{Direction, Renegotiation};

/// The rel of an audio/video renegotiation event.
pub const AUDIO_VIDEO_RENEGOTIATION: &str = "audioVideoRenegotiation";
/// The rel of an application sharing renegotiation event.
pub const APPLICATION_SHARING_RENEGOTIATION: &str = "applicationSharingRenegotiation";

/// Which media a renegotiation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RenegotiationMedia {
    /// `audioVideoRenegotiation`.
    AudioVideo,
    /// `applicationSharingRenegotiation`.
    ApplicationSharing,
}

/// A renegotiation the far end started: a `started` event whose link rel is
/// `audioVideoRenegotiation` or `applicationSharingRenegotiation`.
///
/// [`IncomingRenegotiation::renegotiation`] gives the entity to answer or dismiss: the one
/// embedded in the event, or a GET of the event's link when nothing is embedded.
///
/// # Examples
///
/// ```no_run
/// # use ucwa::{Client, Error, Event};
/// # async fn run(client: Client, event: Event, answer: Vec<u8>) -> Result<(), Error> {
/// if let Some(incoming) = ucwa::IncomingRenegotiation::from_event(&client, &event) {
///     incoming.renegotiation().await?.answer_with(answer).await?;
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct IncomingRenegotiation {
    client: Client,
    event: Event,
    media: RenegotiationMedia,
}

impl IncomingRenegotiation {
    /// The incoming renegotiation an event announces, or `None` for any other event.
    ///
    /// A renegotiation this side started is announced by a `started` event too. When the event
    /// embeds the entity, one whose `direction` is `Outgoing` gives `None`; when it carries only
    /// a link, the direction is known once [`renegotiation`](Self::renegotiation) has read it.
    pub fn from_event(client: &Client, event: &Event) -> Option<Self> {
        if event.event_type != EventType::Started {
            return None;
        }
        let embedded_direction = event
            .resource
            .as_ref()
            .and_then(|resource| resource.property_str("direction"));
        if embedded_direction.map(Direction::parse) == Some(Direction::Outgoing) {
            return None;
        }
        let media = match event.link.rel.as_str() {
            AUDIO_VIDEO_RENEGOTIATION => RenegotiationMedia::AudioVideo,
            APPLICATION_SHARING_RENEGOTIATION => RenegotiationMedia::ApplicationSharing,
            _ => return None,
        };
        Some(IncomingRenegotiation {
            client: client.clone(),
            event: event.clone(),
            media,
        })
    }

    /// Which media the renegotiation is about.
    pub fn media(&self) -> RenegotiationMedia {
        self.media
    }

    /// The event that announced it.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The operation id, when the event embeds the entity.
    pub fn operation_id(&self) -> Option<&str> {
        self.event.operation_id()
    }

    /// The renegotiation entity: the embedded one, or a GET of the event's link.
    ///
    /// # Errors
    ///
    /// The GET's guard, service, transport and decode errors.
    pub async fn renegotiation(&self) -> Result<Renegotiation, Error> {
        if let Some(resource) = &self.event.resource {
            return Ok(Renegotiation::from_resource(&self.client, resource.clone()));
        }
        let url = self.event.link.href.clone();
        self.client.check_target(&url)?;
        let resource = self.client.get_resource(url, &self.event.link.rel).await?;
        Ok(Renegotiation::from_resource(&self.client, resource))
    }
}

impl fmt::Debug for IncomingRenegotiation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingRenegotiation")
            .field("media", &self.media)
            .field("href", &self.event.link.href.as_str())
            .field("embedded", &self.event.resource.is_some())
            .finish()
    }
}
