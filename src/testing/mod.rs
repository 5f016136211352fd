//! An embedded fake UCWA server on loopback, for testing bots without a Skype for Business
//! deployment.
//!
//! [`FakeUcwa`] serves an application, one `audioVideoSession`, its `renegotiations`,
//! `resumeAudio` and `resumeAudioVideo` operations, the renegotiation entities they create, and
//! their `answer` and `dismiss` actions. It behaves as the protocol says a server does: it
//! checks the bearer token (401 with the UCWA challenges otherwise), answers a second
//! renegotiation while one is pending with 409 `Conflict`/`AlreadyExists`, validates the
//! `operationId`, the content types and the dismiss reason, records every request it receives,
//! and can be told to answer any request with a chosen status, code and subcode.
//!
//! The server speaks plain http on `127.0.0.1`, so clients need
//! [`ClientBuilder::allow_http`](crate::ClientBuilder::allow_http);
//! [`FakeUcwa::client_builder`] sets that up.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ucwa::Error> {
//! use ucwa::testing::{Endpoint, FakeUcwa, Failure};
//!
//! let server = FakeUcwa::start().await;
//! server.fail(Endpoint::Renegotiations, Failure::new(410).code("Gone").subcode("CannotRedirect"));
//!
//! let client = server.client_builder().build()?;
//! let session = client.session(&server.session_url())?;
//! let error = session.renegotiate("v=0\r\n").await.unwrap_err();
//! assert_eq!(error.kind().as_str(), "cannot_redirect");
//! # Ok(())
//! # }
//! ```

mod events;
mod proxy;
mod renegotiations;
mod reply;
mod router;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::task::JoinHandle;
use wiremock::{Mock, MockServer};

use crate::client::ClientBuilder;
use events::Queued;
use renegotiations::CompletionReason;
use router::{Router, State};

/// The token a [`FakeUcwa`] accepts unless told otherwise.
pub const DEFAULT_TOKEN: &str = "cwt=fake-ucwa-token";

/// The SDP answer the fake far end gives to every offer.
pub const FAKE_ANSWER_SDP: &str = "v=0\r\n\
o=- 2 1 IN IP4 127.0.0.1\r\n\
s=fake-ucwa\r\n\
c=IN IP4 127.0.0.1\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=sendrecv\r\n";

/// A fake UCWA server listening on loopback. It stops when dropped.
pub struct FakeUcwa {
    server: MockServer,
    front: JoinHandle<()>,
    origin: String,
    state: Arc<Mutex<State>>,
    token: String,
}

/// Configures a [`FakeUcwa`] before it starts.
#[derive(Debug, Clone)]
#[must_use]
pub struct FakeUcwaBuilder {
    token: String,
    location_only: bool,
    auto_complete: bool,
}

/// The operations and resources a [`FakeUcwa`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// POST to `applications`, which creates the application.
    Applications,
    /// GET of the application resource.
    Application,
    /// GET of the event channel (a pending GET).
    Events,
    /// GET of the `audioVideoSession` resource.
    Session,
    /// POST to `renegotiations`.
    Renegotiations,
    /// POST to `resumeAudio`.
    ResumeAudio,
    /// POST to `resumeAudioVideo`.
    ResumeAudioVideo,
    /// GET of a renegotiation entity.
    Renegotiation,
    /// POST to a renegotiation's `answer` link.
    Answer,
    /// POST to a renegotiation's `dismiss` link.
    Dismiss,
}

/// A response the server is told to give instead of its normal one.
#[derive(Debug, Clone)]
#[must_use]
pub struct Failure {
    pub(crate) status: u16,
    pub(crate) code: Option<String>,
    pub(crate) subcode: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) raw_body: Option<(String, Bytes)>,
    pub(crate) delay: Option<Duration>,
    pub(crate) times: Option<usize>,
    pub(crate) disconnect: bool,
}

impl Failure {
    /// Answers with this status. With a [`code`](Failure::code) the body is a UCWA JSON error;
    /// without one it is empty unless [`raw_body`](Failure::raw_body) sets it.
    pub fn new(status: u16) -> Self {
        Failure {
            status,
            code: None,
            subcode: None,
            message: None,
            headers: Vec::new(),
            raw_body: None,
            delay: None,
            times: Some(1),
            disconnect: false,
        }
    }

    /// Drops the connection instead of answering, so the client meets a transport error.
    pub fn disconnect() -> Self {
        Failure {
            disconnect: true,
            ..Failure::new(0)
        }
    }

    pub(crate) fn error_body(&self, code: &str) -> Value {
        let mut body = serde_json::json!({ "code": code });
        if let Some(subcode) = &self.subcode {
            body["subcode"] = Value::from(subcode.as_str());
        }
        if let Some(message) = &self.message {
            body["message"] = Value::from(message.as_str());
        }
        body
    }

    /// The error body's `code`.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The error body's `subcode`.
    pub fn subcode(mut self, subcode: impl Into<String>) -> Self {
        self.subcode = Some(subcode.into());
        self
    }

    /// The error body's `message`.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Adds a response header (`Retry-After`, `X-Ms-diagnostics`, …).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends this body with this content type instead of a UCWA error body.
    pub fn raw_body(mut self, content_type: impl Into<String>, body: impl Into<Bytes>) -> Self {
        self.raw_body = Some((content_type.into(), body.into()));
        self
    }

    /// Waits this long before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Applies to the next `n` matching requests (default: 1).
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Applies to every matching request from now on.
    pub fn always(mut self) -> Self {
        self.times = None;
        self
    }
}

/// A request the fake server received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Received {
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string, without `?`.
    pub query: Option<String>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The body, byte for byte.
    pub body: Bytes,
    /// The endpoint the request was routed to, if any.
    pub endpoint: Option<Endpoint>,
}

impl Received {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// A query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

impl FakeUcwa {
    /// Starts a server with the default token.
    pub async fn start() -> Self {
        FakeUcwa::builder().start().await
    }

    /// Configures a server before starting it.
    pub fn builder() -> FakeUcwaBuilder {
        FakeUcwaBuilder {
            token: DEFAULT_TOKEN.to_owned(),
            location_only: false,
            auto_complete: false,
        }
    }

    /// The server's origin, `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        self.origin.clone()
    }

    /// The token the server accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A client builder already given the server's origin and token, with http allowed.
    pub fn client_builder(&self) -> ClientBuilder {
        crate::Client::builder()
            .origin(self.origin())
            .token(self.token.as_str())
            .allow_http(true)
    }

    /// The absolute URL of the application resource.
    pub fn application_url(&self) -> String {
        format!("{}{}", self.origin(), router::APPLICATION)
    }

    /// The absolute URL of the `audioVideoSession` resource.
    pub fn session_url(&self) -> String {
        format!("{}{}", self.origin(), router::SESSION)
    }

    /// The absolute URL of `applications`, where applications are created.
    pub fn applications_url(&self) -> String {
        format!("{}{}", self.origin(), router::APPLICATIONS)
    }

    /// The absolute URL where the event channel starts (`events?ack=1`).
    pub fn events_url(&self) -> String {
        format!("{}{}?ack=1", self.origin(), router::EVENTS)
    }

    /// Queues an event for the event channel, from the sender with this rel and href. `event`
    /// is the event's JSON (`link`, `type`, and optionally `in`, `status`, `reason`,
    /// `_embedded`).
    pub fn queue_event(&self, sender_rel: &str, sender_href: &str, event: Value) {
        self.lock().channel.queue.push_back(Queued::Event {
            sender_rel: sender_rel.to_owned(),
            sender_href: sender_href.to_owned(),
            event,
        });
    }

    /// Makes the reply after the events queued so far carry a `resume` link instead of `next`.
    pub fn queue_resume(&self) {
        self.lock().channel.queue.push_back(Queued::Resume);
    }

    /// Makes the reply after the events queued so far carry a `resync` link instead of `next`.
    pub fn queue_resync(&self) {
        self.lock().channel.queue.push_back(Queued::Resync);
    }

    /// How many events one reply of the event channel carries at most (default 50).
    pub fn set_batch_limit(&self, events: usize) {
        self.lock().channel.batch_limit = events.max(1);
    }

    /// How long the event channel holds a pending GET that has no events (default 50 ms; a
    /// real server holds it for its `timeout`).
    pub fn set_idle_delay(&self, delay: Duration) {
        self.lock().channel.idle_delay = delay;
    }

    /// Starts a renegotiation from the far end with this offer: a pending `Incoming` entity,
    /// announced on the event channel by a `started` event. With `embed`, the event embeds the
    /// entity; without, it carries only the link, as in the protocol's reference sample.
    /// Returns the entity's path.
    pub fn incoming_renegotiation(
        &self,
        operation_id: &str,
        offer: impl Into<Bytes>,
        embed: bool,
    ) -> String {
        let mut state = self.lock();
        let State {
            renegotiations,
            channel,
            ..
        } = &mut *state;
        renegotiations.incoming(channel, operation_id.to_owned(), offer.into(), embed)
    }

    /// Completes the pending renegotiation with this operation id and queues its `completed`
    /// event: `None` for success, or a failure whose code, subcode and message become the
    /// event's `reason`. False when no pending renegotiation has that id.
    pub fn complete_renegotiation(&self, operation_id: &str, failure: Option<Failure>) -> bool {
        let result = match failure {
            None => Ok(()),
            Some(failure) => Err(CompletionReason {
                code: failure.code.unwrap_or_else(|| "ServiceFailure".to_owned()),
                subcode: failure.subcode,
                message: failure.message,
            }),
        };
        let mut state = self.lock();
        let State {
            renegotiations,
            channel,
            ..
        } = &mut *state;
        renegotiations.complete(channel, operation_id, result)
    }

    /// Delays the next normal answer of this endpoint (its state changes at once; only the
    /// reply waits), to let events overtake it.
    pub fn delay(&self, endpoint: Endpoint, delay: Duration) {
        self.lock().delays.push((endpoint, delay));
    }

    /// Answers the next matching request (or several, see [`Failure::times`]) with `failure`.
    /// Failures queue in order; the first that applies wins.
    pub fn fail(&self, endpoint: Endpoint, failure: Failure) {
        self.lock().failures.push((endpoint, failure));
    }

    /// Makes the session lose (or regain) one of its links, as a server does when a capability
    /// is not available.
    pub fn hide_session_link(&self, rel: &str, hidden: bool) {
        let mut state = self.lock();
        if hidden {
            state.hidden_links.insert(rel.to_owned());
        } else {
            state.hidden_links.remove(rel);
        }
    }

    /// Whether a renegotiation is pending (created and neither answered nor dismissed).
    pub fn has_pending_renegotiation(&self) -> bool {
        !self.lock().renegotiations.pending.is_empty()
    }

    /// The SDP answer the client sent to the `answer` link of the most recent renegotiation
    /// answered with one.
    pub fn last_answer_sdp(&self) -> Option<Bytes> {
        self.lock().renegotiations.last_answer.clone()
    }

    /// Every request received so far, in order.
    pub async fn received(&self) -> Vec<Received> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .into_iter()
            .map(|request| Received {
                endpoint: router::route(request.method.as_str(), request.url.path())
                    .map(|(endpoint, _)| endpoint),
                method: request.method.to_string(),
                path: request.url.path().to_owned(),
                query: request.url.query().map(str::to_owned),
                headers: request.headers.clone(),
                body: Bytes::from(request.body),
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for FakeUcwa {
    fn drop(&mut self) {
        self.front.abort();
    }
}

impl fmt::Debug for FakeUcwa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeUcwa")
            .field("origin", &self.origin())
            .finish_non_exhaustive()
    }
}

impl FakeUcwaBuilder {
    /// The token the server accepts (default [`DEFAULT_TOKEN`]).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// Answers operations with 201, an empty body and a `Location` header instead of the
    /// entity, as some servers do.
    pub fn location_only(mut self, location_only: bool) -> Self {
        self.location_only = location_only;
        self
    }

    /// Completes every renegotiation the client starts at once, as a far end that answers
    /// straight away: its `started` and `completed` events are queued together and it is not
    /// left pending.
    pub fn auto_complete(mut self, auto_complete: bool) -> Self {
        self.auto_complete = auto_complete;
        self
    }

    /// Starts the server on a free loopback port.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound, which leaves a test nothing to run against.
    pub async fn start(self) -> FakeUcwa {
        let server = MockServer::start().await;
        let (front, task) = proxy::start(*server.address())
            .await
            .expect("the fake server needs a loopback port");
        let origin = format!("http://{front}");
        let state = Arc::new(Mutex::new(State::new(
            self.location_only,
            self.auto_complete,
        )));
        let router = Router {
            state: Arc::clone(&state),
            token: self.token.clone(),
            origin: origin.clone(),
        };
        Mock::given(wiremock::matchers::any())
            .respond_with(router)
            .mount(&server)
            .await;
        FakeUcwa {
            server,
            front: task,
            origin,
            state,
            token: self.token,
        }
    }
}
