//! The `audioVideoSession` handle and the operations that send it an SDP offer.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use url::Url;

use crate::client::Client;
use crate::completion;
use crate::error::Error;
use crate::event_channel::EventChannel;
use crate::operation_id::OperationId;
use crate::renegotiation::Renegotiation;
use crate::request::{Request, SDP};
use crate::resource::Resource;

/// The rel of the link that starts a renegotiation.
pub const RENEGOTIATIONS: &str = "renegotiations";
/// The rel of the link that resumes held audio.
pub const RESUME_AUDIO: &str = "resumeAudio";
/// The rel of the link that resumes held audio and video.
pub const RESUME_AUDIO_VIDEO: &str = "resumeAudioVideo";

/// A handle on one `audioVideoSession` of a call.
///
/// The handle is small and cheap to clone: it shares the [`Client`] and its cached resource. The
/// resource is fetched the first time a link or property is needed and kept; call
/// [`Session::refresh`] for the current state.
#[derive(Clone)]
pub struct Session {
    client: Client,
    inner: Arc<SessionInner>,
}

struct SessionInner {
    url: Option<Url>,
    resource: Mutex<Option<Arc<Resource>>>,
}

/// The `state` of an `audioVideoSession`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionState {
    /// The session is being set up.
    Establishing,
    /// Media is flowing.
    Established,
    /// A value this crate does not know, kept as sent.
    Other(String),
}

impl SessionState {
    fn parse(text: &str) -> Self {
        if text.eq_ignore_ascii_case("Establishing") {
            SessionState::Establishing
        } else if text.eq_ignore_ascii_case("Established") {
            SessionState::Established
        } else {
            SessionState::Other(text.to_owned())
        }
    }
}

impl Session {
    pub(crate) fn new(client: Client, url: Url, resource: Option<Resource>) -> Self {
        Session {
            client,
            inner: Arc::new(SessionInner {
                url: Some(url),
                resource: Mutex::new(resource.map(Arc::new)),
            }),
        }
    }

    pub(crate) fn from_parts(client: Client, url: Option<Url>, resource: Resource) -> Self {
        Session {
            client,
            inner: Arc::new(SessionInner {
                url,
                resource: Mutex::new(Some(Arc::new(resource))),
            }),
        }
    }

    /// The URL the session is read from, when known.
    pub fn url(&self) -> Option<&Url> {
        self.inner.url.as_ref()
    }

    /// The client the session uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The session resource: the cached one, or a GET of the session URL when there is none.
    ///
    /// # Errors
    ///
    /// Any error of the GET; [`Error::InvalidInput`] when there is neither a cached resource nor
    /// a URL to read one from.
    pub async fn resource(&self) -> Result<Arc<Resource>, Error> {
        if let Some(resource) = self.cached() {
            return Ok(resource);
        }
        self.refresh().await
    }

    /// Reads the session resource again and caches it.
    ///
    /// # Errors
    ///
    /// Any error of the GET; [`Error::InvalidInput`] when the session has no URL.
    pub async fn refresh(&self) -> Result<Arc<Resource>, Error> {
        let url = self.inner.url.clone().ok_or_else(|| {
            Error::InvalidInput("the session has no url to read it from".to_owned())
        })?;
        let resource = Arc::new(self.client.get_resource(url, "audioVideoSession").await?);
        *self.lock() = Some(Arc::clone(&resource));
        Ok(resource)
    }

    /// The session's `state`, from the cached resource (fetched if needed).
    ///
    /// # Errors
    ///
    /// As for [`Session::resource`].
    pub async fn state(&self) -> Result<Option<SessionState>, Error> {
        let resource = self.resource().await?;
        Ok(resource.property_str("state").map(SessionState::parse))
    }

    /// The session's `remoteEndpoint`.
    ///
    /// # Errors
    ///
    /// As for [`Session::resource`].
    pub async fn remote_endpoint(&self) -> Result<Option<String>, Error> {
        self.string_property("remoteEndpoint").await
    }

    /// The session's `sessionContext`.
    ///
    /// # Errors
    ///
    /// As for [`Session::resource`].
    pub async fn session_context(&self) -> Result<Option<String>, Error> {
        self.string_property("sessionContext").await
    }

    /// Starts a renegotiation with this SDP offer: a POST to the `renegotiations` link.
    ///
    /// Await the builder to send it with a generated operation id, or set one first with
    /// [`RenegotiateBuilder::operation_id`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(session: ucwa::Session, offer: Vec<u8>) -> Result<(), ucwa::Error> {
    /// let renegotiation = session.renegotiate(offer).await?;
    /// println!("answer: {:?}", renegotiation.media_answer()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn renegotiate(&self, sdp: impl Into<Bytes>) -> RenegotiateBuilder {
        RenegotiateBuilder::new(self.clone(), RENEGOTIATIONS, sdp.into())
    }

    /// Resumes held audio with this SDP offer: a POST to the `resumeAudio` link. The reply is a
    /// renegotiation entity, as for [`Session::renegotiate`].
    pub fn resume_audio(&self, sdp: impl Into<Bytes>) -> RenegotiateBuilder {
        RenegotiateBuilder::new(self.clone(), RESUME_AUDIO, sdp.into())
    }

    /// Resumes held audio and video with this SDP offer: a POST to the `resumeAudioVideo` link.
    pub fn resume_audio_video(&self, sdp: impl Into<Bytes>) -> RenegotiateBuilder {
        RenegotiateBuilder::new(self.clone(), RESUME_AUDIO_VIDEO, sdp.into())
    }

    async fn string_property(&self, name: &str) -> Result<Option<String>, Error> {
        let resource = self.resource().await?;
        Ok(resource.property_str(name).map(str::to_owned))
    }

    fn cached(&self) -> Option<Arc<Resource>> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Resource>>> {
        // A panic elsewhere while holding the lock leaves a valid Option; keep using it.
        self.inner
            .resource
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("url", &self.inner.url.as_ref().map(Url::as_str))
            .field("cached", &self.cached().is_some())
            .finish_non_exhaustive()
    }
}

/// A renegotiation (or resume) about to be sent. Await it, or call
/// [`RenegotiateBuilder::send`].
#[must_use = "a renegotiation is sent only when awaited"]
pub struct RenegotiateBuilder {
    session: Session,
    rel: &'static str,
    sdp: Bytes,
    operation_id: Option<OperationId>,
}

impl RenegotiateBuilder {
    fn new(session: Session, rel: &'static str, sdp: Bytes) -> Self {
        RenegotiateBuilder {
            session,
            rel,
            sdp,
            operation_id: None,
        }
    }

    /// Sends with this operation id instead of a generated one.
    pub fn operation_id(mut self, id: OperationId) -> Self {
        self.operation_id = Some(id);
        self
    }

    /// The rel of the link this operation posts to.
    pub fn rel(&self) -> &'static str {
        self.rel
    }

    /// Posts the SDP, bytes unchanged, as `application/sdp` with the `operationId` query
    /// parameter, and parses the 201 reply. A 201 with an empty body and a `Location` header is
    /// completed by a GET of that location.
    ///
    /// # Errors
    ///
    /// [`Error::MissingLink`] when the session has no link for this operation; a service error
    /// for any status but 201 (409 `AlreadyExists` is
    /// [`ErrorKind::RenegotiationInProgress`](crate::ErrorKind::RenegotiationInProgress));
    /// [`Error::Decode`] for a reply that is not a renegotiation entity; and the client's
    /// transport, timeout and size errors.
    pub async fn send(self) -> Result<Renegotiation, Error> {
        if self.sdp.is_empty() {
            return Err(Error::InvalidInput("the sdp offer is empty".to_owned()));
        }
        let client = self.session.client.clone();
        let operation_id = self
            .operation_id
            .unwrap_or_else(|| client.next_operation_id());

        let resource = self.session.resource().await?;
        let link = resource.links().require(self.rel)?;
        let mut url = client.resolve(link)?;
        url.query_pairs_mut()
            .append_pair("operationId", operation_id.as_str());

        let response = client
            .execute(Request {
                method: Method::POST,
                url,
                rel: self.rel,
                operation_id: Some(&operation_id),
                body: Some((SDP, self.sdp)),
                expect: &[StatusCode::CREATED],
                timeout: None,
                retry: true,
            })
            .await?;

        let entity = if response.body.is_empty() {
            let location = response
                .headers
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| {
                    Error::decode_plain("a 201 reply with neither a body nor a Location header")
                })?;
            let url = client.resolve_href(location)?;
            client.get_resource(url, "audioVideoRenegotiation").await?
        } else {
            response.resource()?
        };
        Ok(Renegotiation::new(client, entity))
    }
}

impl RenegotiateBuilder {
    /// Sends, then waits until `channel` reports the operation completed: the entity when it
    /// succeeded, the failure's `reason` as a typed error when it failed.
    ///
    /// The completion is matched by operation id, or by the entity's `self` URL for events that
    /// carry no embedded resource, and is found even when its event arrived before the 201. The
    /// channel must belong to the same application and be read (or its buffer be large
    /// enough) for its task to keep reading the server.
    ///
    /// # Errors
    ///
    /// Those of [`RenegotiateBuilder::send`]; [`Error::OperationFailed`] (or the kind its
    /// reason maps to, such as
    /// [`ErrorKind::RenegotiationInProgress`](crate::ErrorKind::RenegotiationInProgress)) when
    /// the operation failed; [`Error::Timeout`] when `timeout` passes first;
    /// [`Error::ChannelClosed`] when the channel ends first.
    pub async fn wait_completed(
        self,
        channel: &EventChannel,
        timeout: Duration,
    ) -> Result<Renegotiation, Error> {
        let client = self.session.client.clone();
        let operation_id = match &self.operation_id {
            Some(id) => id.clone(),
            None => client.next_operation_id(),
        };
        let (completions, running) = channel.completions();

        let work = async {
            let renegotiation = self.operation_id(operation_id.clone()).send().await?;
            let href = match renegotiation.self_link() {
                Some(link) => Some(link.resolve(client.origin())?),
                None => None,
            };
            let outcome = completions
                .wait(operation_id.as_str(), href.as_ref(), timeout, || {
                    running.load(Ordering::Acquire)
                })
                .await?;
            completion::into_result(operation_id.as_str(), outcome)?;
            Ok(renegotiation)
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or(Err(Error::Timeout(timeout)))
    }
}

impl IntoFuture for RenegotiateBuilder {
    type Output = Result<Renegotiation, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl fmt::Debug for RenegotiateBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenegotiateBuilder")
            .field("rel", &self.rel)
            .field("sdp_bytes", &self.sdp.len())
            .field("operation_id", &self.operation_id)
            .finish()
    }
}
