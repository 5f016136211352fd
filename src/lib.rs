//! A typed async client for UCWA, the REST API of Skype for Business Server 2015 and Skype for
//! Business Online, starting with what a bot needs to renegotiate the media of a live
//! audio/video call.
//!
//! A [`Session`] starts from the URL of an `audioVideoSession` resource. It follows the
//! resource's links (never building URLs), posts the raw SDP offer to `renegotiations` with an
//! `operationId`, and returns a typed [`Renegotiation`]: its direction, operation id, the SDP
//! offer and answer carried in `data:` URIs, and the `answer` and `dismiss` actions. Every
//! failure is one [`Error`] whose [`ErrorKind`] says what happened, down to the service's
//! 409/410/500 subcodes.
//!
//! # Quick start
//!
//! This runs against [`testing::FakeUcwa`], the embedded fake server (feature `testing`); for a
//! real server, give the builder the server's origin and a bearer token instead.
//!
//! ```
//! # #[cfg(feature = "testing")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ucwa::Error> {
//! use ucwa::{Client, DeclineReason, ErrorKind};
//!
//! let server = ucwa::testing::FakeUcwa::start().await;
//! let client = Client::builder()
//!     .origin(server.origin())
//!     .token(server.token())
//!     .allow_http(true) // the fake server listens on plain http on loopback
//!     .build()?;
//!
//! let session = client.session(&server.session_url())?;
//! let offer = "v=0\r\no=- 0 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
//! let renegotiation = session.renegotiate(offer).await?;
//! assert_eq!(renegotiation.media_offer()?.as_deref(), Some(offer.as_bytes()));
//!
//! // A second one while the first is pending is refused with a typed error.
//! let busy = session.renegotiate(offer).await.unwrap_err();
//! assert_eq!(busy.kind(), ErrorKind::RenegotiationInProgress);
//!
//! renegotiation.dismiss(Some(DeclineReason::InsufficientBandwidth)).await?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "testing"))]
//! # fn main() {}
//! ```
//!
//! # The event channel
//!
//! Renegotiations the far end starts exist only on the event channel. [`Application`] creates
//! or opens the application, [`EventChannel`] reads its events as a `futures` stream (one
//! pending GET at a time, in order, each event once, transient faults retried), and
//! [`IncomingRenegotiation`] turns a `started` renegotiation event into a [`Renegotiation`] to
//! answer or dismiss. [`RenegotiateBuilder::wait_completed`] awaits an outgoing renegotiation
//! until the channel reports it completed. [`Event::parse_batch`] is the same parser for bodies
//! received by a webhook.
//!
//! # Security
//!
//! The token is sent only to the client's configured origin, as `Authorization: Bearer <token>`.
//! A link to any other origin is refused before anything is sent ([`ErrorKind::CrossOrigin`]),
//! plain `http` is refused unless allowed ([`ErrorKind::InsecureUrl`]), and `data:` URIs are
//! decoded, never fetched. The token never appears in `Debug` output, errors or logs.
//!
//! # Bounds
//!
//! Every request is bounded in time ([`ClientBuilder::timeout`], 30 s by default, from the
//! token lookup to the last byte of the body) and in size ([`ClientBuilder::max_body`], 4 MiB
//! by default).
//!
//! # Logging
//!
//! With [`tracing`], each request is one `ucwa.request` span at debug level with its method,
//! rel, URL, operation id and status. SDP bodies are logged only at trace level.
//!
//! # Features
//!
//! - `rustls` (default): TLS through rustls.
//! - `xml` (default): the XML representation.
//! - `native-tls`: TLS through the platform's library.
//! - `testing`: [`testing::FakeUcwa`], a fake UCWA server on loopback for tests of your own bot.
//!
//! # Representations
//!
//! UCWA serves every resource, error and event batch as JSON or XML. [`ClientBuilder::format`]
//! chooses what the client asks for (`Accept`) and sends its inputs in ([`Format::Json`] by
//! default); every reply is read in the representation its `Content-Type` names, whatever was
//! asked for. Both codecs produce the same [`Resource`] model, so every typed view reads either.
//! XML is read with quick-xml (feature `xml`, on by default): namespaces are matched by URI, and
//! document type declarations and entities other than the predefined ones are refused.

#![deny(missing_docs)]
#![deny(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod application;
mod auth;
mod client;
mod completion;
mod data_uri;
mod error;
mod event;
mod event_channel;
mod incoming;
mod link;
mod operation_id;
mod renegotiation;
mod representation;
mod request;
mod resource;
mod retry;
mod session;
#[cfg(feature = "xml")]
mod xml;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use application::{Application, ApplicationSpec, MAX_APPLICATION_FIELD_CHARS};
pub use auth::{Challenge, StaticToken, Token, TokenFuture, TokenProvider};
pub use client::{Client, ClientBuilder, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT};
pub use data_uri::DataUri;
pub use error::{BoxError, Error, ErrorCode, ErrorKind, ErrorSubcode, RetryAfter, ServiceError};
pub use event::{Event, EventBatch, EventLink, EventType, NextLink, OperationStatus, Reason};
pub use event_channel::{ChannelEvent, ChannelTuning, EventChannel, EventChannelBuilder};
pub use incoming::{
    APPLICATION_SHARING_RENEGOTIATION, AUDIO_VIDEO_RENEGOTIATION, IncomingRenegotiation,
    RenegotiationMedia,
};
pub use link::{Link, Links};
pub use operation_id::{
    FixedOperationId, MAX_OPERATION_ID_CHARS, OperationId, OperationIdGenerator,
    RandomOperationIds, SequentialOperationIds,
};
pub use renegotiation::{DeclineReason, Direction, Renegotiation};
pub use representation::Format;
pub use resource::Resource;
pub use retry::RetryPolicy;
pub use session::{
    RENEGOTIATIONS, RESUME_AUDIO, RESUME_AUDIO_VIDEO, RenegotiateBuilder, Session, SessionState,
};

/// A re-export of the HTTP status type used in errors.
pub use reqwest::StatusCode;
