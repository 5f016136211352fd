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

mod router;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use wiremock::{Mock, MockServer};

use crate::client::ClientBuilder;
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
    state: Arc<Mutex<State>>,
    token: String,
}

/// Configures a [`FakeUcwa`] before it starts.
#[derive(Debug, Clone)]
#[must_use]
pub struct FakeUcwaBuilder {
    token: String,
    location_only: bool,
}

/// The operations and resources a [`FakeUcwa`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// GET of the application resource.
    Application,
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
        }
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
        }
    }

    /// The server's origin, `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        self.server.uri()
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
        self.lock().pending.is_some()
    }

    /// The SDP answer the client sent to the `answer` link of the most recent renegotiation
    /// answered with one.
    pub fn last_answer_sdp(&self) -> Option<Bytes> {
        self.lock().last_answer.clone()
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

    /// Starts the server on a free loopback port.
    pub async fn start(self) -> FakeUcwa {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::new(self.location_only)));
        let router = Router {
            state: Arc::clone(&state),
            token: self.token.clone(),
            origin: server.uri(),
        };
        Mock::given(wiremock::matchers::any())
            .respond_with(router)
            .mount(&server)
            .await;
        FakeUcwa {
            server,
            state,
            token: self.token,
        }
    }
}
