//! The crate's one error type, its kinds, and the service error it carries.

use std::fmt;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;

use crate::auth::Challenge;
use crate::event::Reason;

/// What can go wrong when talking to a UCWA server.
///
/// Match on [`Error::kind`] to decide what to do; the variants carry the details. A cause, where
/// there is one, is reached through [`std::error::Error::source`] and never repeated in the
/// message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a status the operation did not expect.
    #[error("{0}")]
    Service(Box<ServiceError>),

    /// The resource has no link with this rel: the capability is not available now.
    #[error("the resource has no `{rel}` link")]
    MissingLink {
        /// The rel that was looked for.
        rel: String,
    },

    /// A URL points to an origin other than the client's, so nothing was sent.
    #[error("refusing to send a request to {origin}: it is not the client's origin")]
    CrossOrigin {
        /// The origin of the refused URL, in ASCII serialization.
        origin: String,
    },

    /// A plain `http://` URL was refused because the client does not allow http.
    #[error("refusing plain http url {url}: the client requires https")]
    InsecureUrl {
        /// The refused URL.
        url: String,
    },

    /// The request did not complete within the client's per-request timeout.
    #[error("the request did not complete within {0:?}")]
    Timeout(Duration),

    /// The response body is larger than the client's limit.
    #[error("the response body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },

    /// A payload from the server could not be decoded.
    #[error("could not decode {what}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The underlying decoder error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The connection or the HTTP exchange failed.
    #[error("the http exchange failed")]
    Transport(#[source] reqwest::Error),

    /// The caller passed an argument that cannot be used; nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The token provider could not produce a token; nothing was sent.
    #[error("the token provider failed")]
    TokenProvider(#[source] BoxError),

    /// The event channel ended (it was closed, or it stopped on an error it reported) while
    /// something still waited on it.
    #[error("the event channel has ended")]
    ChannelClosed,

    /// An operation was accepted, then reported as failed on the event channel.
    #[error("operation {operation_id} failed{}", reason_suffix(.reason))]
    OperationFailed {
        /// The operation's id.
        operation_id: String,
        /// The `reason` the server gave, when it gave one.
        reason: Option<Box<Reason>>,
    },
}

fn reason_suffix(reason: &Option<Box<Reason>>) -> String {
    reason
        .as_ref()
        .map(|reason| format!(": {reason}"))
        .unwrap_or_default()
}

/// A boxed error that can cross threads.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The category of an [`Error`], stable across releases, with a string form for logs and
/// programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 409 Conflict / `AlreadyExists`: another renegotiation is in progress on the session.
    RenegotiationInProgress,
    /// 409 Conflict / `TooManyGroups`.
    TooManyGroups,
    /// 409 Conflict with subcode `None` or no subcode: not supported here.
    Unsupported,
    /// 410 Gone / `CannotRedirect`: the pool is gone and there is no backup pool.
    CannotRedirect,
    /// 500 ServiceFailure / `CallbackChannelError`: the remote event channel is unreachable.
    CallbackChannelError,
    /// 401, or a token provider that failed: the request could not be authenticated.
    Unauthorized,
    /// Any other error status from the server.
    Api,
    /// The resource lacks the link the operation needs.
    MissingLink,
    /// A URL of another origin was refused.
    CrossOrigin,
    /// A plain http URL was refused.
    InsecureUrl,
    /// The per-request timeout passed.
    Timeout,
    /// The response body exceeded the limit.
    BodyTooLarge,
    /// A payload could not be decoded.
    Decode,
    /// The connection or HTTP exchange failed.
    Transport,
    /// The caller's input was refused before sending.
    InvalidInput,
    /// 409 Conflict / `PGetReplaced`: another pending GET replaced this event channel's.
    EventChannelReplaced,
    /// 404 Not Found / `ApplicationNotFound`: the application is gone and must be created again.
    ApplicationNotFound,
    /// An operation failed after it was accepted, for a reason with no kind of its own.
    OperationFailed,
    /// The event channel ended while something waited on it.
    ChannelClosed,
}

impl ErrorKind {
    /// The kind as a stable `snake_case` string, for logs and machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::RenegotiationInProgress => "renegotiation_in_progress",
            ErrorKind::TooManyGroups => "too_many_groups",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::CannotRedirect => "cannot_redirect",
            ErrorKind::CallbackChannelError => "callback_channel_error",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Api => "api",
            ErrorKind::MissingLink => "missing_link",
            ErrorKind::CrossOrigin => "cross_origin",
            ErrorKind::InsecureUrl => "insecure_url",
            ErrorKind::Timeout => "timeout",
            ErrorKind::BodyTooLarge => "body_too_large",
            ErrorKind::Decode => "decode",
            ErrorKind::Transport => "transport",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::EventChannelReplaced => "event_channel_replaced",
            ErrorKind::ApplicationNotFound => "application_not_found",
            ErrorKind::OperationFailed => "operation_failed",
            ErrorKind::ChannelClosed => "channel_closed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Service(service) => service.kind(),
            Error::MissingLink { .. } => ErrorKind::MissingLink,
            Error::CrossOrigin { .. } => ErrorKind::CrossOrigin,
            Error::InsecureUrl { .. } => ErrorKind::InsecureUrl,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::BodyTooLarge { .. } => ErrorKind::BodyTooLarge,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::Transport(_) => ErrorKind::Transport,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::TokenProvider(_) => ErrorKind::Unauthorized,
            Error::ChannelClosed => ErrorKind::ChannelClosed,
            Error::OperationFailed { reason, .. } => reason
                .as_ref()
                .and_then(|reason| {
                    let status = reason.code.as_ref()?.status()?;
                    Some(classify(status, true, reason.subcode.as_ref()))
                })
                .filter(|kind| *kind != ErrorKind::Api)
                .unwrap_or(ErrorKind::OperationFailed),
        }
    }

    /// The server's error, when the server answered with an unexpected status.
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(service) => Some(service),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.service().map(|service| service.status)
    }

    /// The rel of the missing link, for [`ErrorKind::MissingLink`].
    pub fn rel(&self) -> Option<&str> {
        match self {
            Error::MissingLink { rel } => Some(rel),
            _ => None,
        }
    }

    /// How long the server asked the client to wait, from its `Retry-After` header.
    pub fn retry_after(&self) -> Option<Duration> {
        self.service()?.retry_after.as_ref().map(RetryAfter::delay)
    }

    pub(crate) fn decode(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Decode {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn decode_plain(what: impl Into<String>) -> Self {
        Error::Decode {
            what: what.into(),
            source: None,
        }
    }

    pub(crate) fn missing_link(rel: &str) -> Self {
        Error::MissingLink {
            rel: rel.to_owned(),
        }
    }
}

/// An error status from the server, with everything it said about it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body's `code`, when the body was a UCWA error.
    pub code: Option<ErrorCode>,
    /// The body's `subcode`, when present and not `None`.
    pub subcode: Option<ErrorSubcode>,
    /// The body's human-readable `message`.
    pub message: Option<String>,
    /// The body's `debugInfo` bag (for example `errorReportId`): log it, never branch on it.
    pub debug_info: Option<Value>,
    /// The body's `parameters` (on 400: which request parameters were invalid).
    pub parameters: Option<Value>,
    /// The `X-Ms-diagnostics` response header.
    pub diagnostics: Option<String>,
    /// The `Retry-After` response header.
    pub retry_after: Option<RetryAfter>,
    /// The `WWW-Authenticate` challenges of a 401.
    pub challenges: Vec<Challenge>,
    /// The raw body, kept when it was not a UCWA error body (an HTML page from a proxy, say).
    pub raw_body: Option<Bytes>,
}

impl ServiceError {
    /// The category of this service error, from its status, code and subcode.
    pub fn kind(&self) -> ErrorKind {
        classify(
            self.status.as_u16(),
            self.code.is_some(),
            self.subcode.as_ref(),
        )
    }

    /// Reads an error response: the status, the headers (`X-Ms-diagnostics`, `Retry-After`,
    /// `WWW-Authenticate`) and the body, a UCWA error in JSON or XML as its `Content-Type`
    /// says, or any other body, which is kept raw.
    pub fn parse(status: StatusCode, headers: &reqwest::header::HeaderMap, body: Bytes) -> Self {
        let header_text = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(RetryAfter::parse);
        let challenges = headers
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Challenge::parse_header)
            .collect();

        let mut error = ServiceError {
            status,
            code: None,
            subcode: None,
            message: None,
            debug_info: None,
            parameters: None,
            diagnostics: header_text("x-ms-diagnostics"),
            retry_after,
            challenges,
            raw_body: None,
        };
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok());
        match crate::representation::error_parts(content_type, &body) {
            Some(parsed) => {
                error.code = Some(ErrorCode::from(parsed.code));
                error.subcode = parsed.subcode.and_then(ErrorSubcode::parse);
                error.message = parsed.message;
                error.debug_info = parsed.debug_info;
                error.parameters = parsed.parameters;
            }
            None if !body.is_empty() => error.raw_body = Some(body),
            None => {}
        }
        error
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the server answered {}", self.status.as_u16())?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
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

/// The kind of an error status. `has_error_body` tells whether the server sent a UCWA error
/// body: only such a 409 without a subcode means "not supported"; a bare 409 (from a proxy,
/// say) says nothing of the kind.
fn classify(status: u16, has_error_body: bool, subcode: Option<&ErrorSubcode>) -> ErrorKind {
    match (status, subcode) {
        (401, _) => ErrorKind::Unauthorized,
        (409, Some(ErrorSubcode::AlreadyExists)) => ErrorKind::RenegotiationInProgress,
        (409, Some(ErrorSubcode::TooManyGroups)) => ErrorKind::TooManyGroups,
        (409, Some(ErrorSubcode::PGetReplaced)) => ErrorKind::EventChannelReplaced,
        (409, None) if has_error_body => ErrorKind::Unsupported,
        (410, Some(ErrorSubcode::CannotRedirect)) => ErrorKind::CannotRedirect,
        (500, Some(ErrorSubcode::CallbackChannelError)) => ErrorKind::CallbackChannelError,
        (404, Some(ErrorSubcode::ApplicationNotFound)) => ErrorKind::ApplicationNotFound,
        _ => ErrorKind::Api,
    }
}

macro_rules! protocol_names {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version of the crate does not know, kept as the server sent it.
            Other(String),
        }

        impl $name {
            /// The name as the protocol spells it (or as the server sent an unknown one).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $(if text.eq_ignore_ascii_case($text) {
                    return $name::$variant;
                })*
                $name::Other(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name::from(text.to_owned())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

protocol_names! {
    /// The `code` of a UCWA error, matched case-insensitively.
    ErrorCode {
        /// 400.
        BadRequest = "BadRequest",
        /// 401.
        Unauthorized = "Unauthorized",
        /// 403.
        Forbidden = "Forbidden",
        /// 404.
        NotFound = "NotFound",
        /// 405.
        MethodNotAllowed = "MethodNotAllowed",
        /// 408.
        ClientTimeout = "ClientTimeout",
        /// 409.
        Conflict = "Conflict",
        /// 410.
        Gone = "Gone",
        /// 412 (the reference also spells it `PreConditionFailed`; case is ignored).
        PreconditionFailed = "PreconditionFailed",
        /// 413.
        EntityTooLarge = "EntityTooLarge",
        /// 415.
        UnsupportedMediaType = "UnsupportedMediaType",
        /// 428.
        PreconditionRequired = "PreconditionRequired",
        /// 429.
        TooManyRequests = "TooManyRequests",
        /// 500.
        ServiceFailure = "ServiceFailure",
        /// 503.
        ServiceUnavailable = "ServiceUnavailable",
        /// 504.
        Timeout = "Timeout",
        /// 504, as some servers spell it.
        GatewayTimeout = "GatewayTimeout",
    }
}

impl ErrorCode {
    /// The HTTP status this code stands for (codes map one to one onto statuses), when known.
    pub fn status(&self) -> Option<u16> {
        Some(match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::ClientTimeout => 408,
            ErrorCode::Conflict => 409,
            ErrorCode::Gone => 410,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::EntityTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::PreconditionRequired => 428,
            ErrorCode::TooManyRequests => 429,
            ErrorCode::ServiceFailure => 500,
            ErrorCode::ServiceUnavailable => 503,
            ErrorCode::Timeout | ErrorCode::GatewayTimeout => 504,
            ErrorCode::Other(_) => return None,
        })
    }
}

protocol_names! {
    /// The `subcode` of a UCWA error, matched case-insensitively. `None` on the wire is no
    /// subcode at all.
    ErrorSubcode {
        /// Another renegotiation is in progress.
        AlreadyExists = "AlreadyExists",
        /// Too many groups.
        TooManyGroups = "TooManyGroups",
        /// The pool is gone and no backup pool is configured.
        CannotRedirect = "CannotRedirect",
        /// The remote event channel is unreachable.
        CallbackChannelError = "CallbackChannelError",
        /// Another operation is pending.
        AnotherOperationPending = "AnotherOperationPending",
        /// The media description is invalid.
        InvalidMediaDescription = "InvalidMediaDescription",
        /// Media negotiation failed.
        MediaNegotiationFailure = "MediaNegotiationFailure",
        /// Media negotiation timed out.
        MediaNegotiationTimeOut = "MediaNegotiationTimeOut",
        /// The media encryption settings do not match.
        MediaEncryptionMismatch = "MediaEncryptionMismatch",
        /// A parameter failed validation.
        ParameterValidationFailure = "ParameterValidationFailure",
        /// The application does not exist (any more).
        ApplicationNotFound = "ApplicationNotFound",
        /// The application expired through inactivity.
        InactiveApplicationExpired = "InactiveApplicationExpired",
        /// A newer pending GET replaced this one on the event channel.
        PGetReplaced = "PGetReplaced",
        /// The call was terminated.
        CallTerminated = "CallTerminated",
        /// The service timed out.
        ServiceTimeout = "ServiceTimeout",
    }
}

impl ErrorSubcode {
    /// Parses a subcode, treating `None` (any case) and the empty string as no subcode.
    pub(crate) fn parse(text: String) -> Option<Self> {
        if text.is_empty() || text.eq_ignore_ascii_case("None") {
            None
        } else {
            Some(ErrorSubcode::from(text))
        }
    }
}

/// The `Retry-After` header: a delay in seconds or an HTTP date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    /// Wait this long.
    Delay(Duration),
    /// Wait until this time.
    At(SystemTime),
}

impl RetryAfter {
    /// Parses the header value; `None` when it is neither form.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
            // Seconds too many for 64 bits still mean "a very long time", not "no wait".
            let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
            return Some(RetryAfter::Delay(Duration::from_secs(seconds)));
        }
        httpdate::parse_http_date(value).ok().map(RetryAfter::At)
    }

    /// How long to wait from now (zero for a date in the past).
    pub fn delay(&self) -> Duration {
        match self {
            RetryAfter::Delay(delay) => *delay,
            RetryAfter::At(at) => at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(status: u16, subcode: Option<&str>) -> ServiceError {
        ServiceError {
            status: StatusCode::from_u16(status).unwrap(),
            code: Some(ErrorCode::Conflict),
            subcode: subcode.map(ErrorSubcode::from),
            message: None,
            debug_info: None,
            parameters: None,
            diagnostics: None,
            retry_after: None,
            challenges: Vec::new(),
            raw_body: None,
        }
    }

    #[test]
    fn kinds_follow_status_and_subcode() {
        let cases = [
            (409, Some("alreadyexists"), "renegotiation_in_progress"),
            (409, Some("TooManyGroups"), "too_many_groups"),
            (409, None, "unsupported"),
            (409, Some("SomethingNew"), "api"),
            (410, Some("CannotRedirect"), "cannot_redirect"),
            (410, None, "api"),
            (500, Some("CALLBACKCHANNELERROR"), "callback_channel_error"),
            (500, None, "api"),
            (401, None, "unauthorized"),
            (404, Some("ApplicationNotFound"), "application_not_found"),
            (409, Some("PGetReplaced"), "event_channel_replaced"),
        ];
        for (status, subcode, kind) in cases {
            assert_eq!(
                service(status, subcode).kind().as_str(),
                kind,
                "{status} {subcode:?}"
            );
        }
    }

    #[test]
    fn subcode_none_means_no_subcode() {
        assert_eq!(ErrorSubcode::parse("None".into()), None);
        assert_eq!(ErrorSubcode::parse("none".into()), None);
        assert_eq!(ErrorSubcode::parse(String::new()), None);
        assert_eq!(
            ErrorSubcode::parse("Brand-New".into()),
            Some(ErrorSubcode::Other("Brand-New".into()))
        );
    }

    #[test]
    fn codes_match_case_insensitively_and_keep_unknown_text() {
        assert_eq!(ErrorCode::from("conflict"), ErrorCode::Conflict);
        assert_eq!(
            ErrorCode::from("PreConditionFailed"),
            ErrorCode::PreconditionFailed
        );
        assert_eq!(ErrorCode::from("Teapot").as_str(), "Teapot");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(
            RetryAfter::parse(" 120 "),
            Some(RetryAfter::Delay(Duration::from_secs(120)))
        );
        let past = RetryAfter::parse("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert!(matches!(past, RetryAfter::At(_)));
        assert_eq!(past.delay(), Duration::ZERO);
        assert_eq!(RetryAfter::parse("soon"), None);
        assert_eq!(
            RetryAfter::parse(&"9".repeat(30)),
            Some(RetryAfter::Delay(Duration::from_secs(u64::MAX)))
        );
    }

    #[test]
    fn errors_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
    }
}
