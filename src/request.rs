//! The one path every request takes: origin guard, token, timeout, bounded body, typed errors.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use tracing::Instrument;
use url::Url;

use crate::auth::Token;
use crate::client::Client;
use crate::error::{Error, ServiceError};
use crate::event::{Event, EventBatch};
use crate::operation_id::OperationId;
use crate::representation;
use crate::resource::Resource;

/// The media type of SDP bodies.
pub(crate) const SDP: &str = "application/sdp";

/// One request, described before it is sent.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// The rel of the link the URL came from, for logs.
    pub(crate) rel: &'a str,
    pub(crate) operation_id: Option<&'a OperationId>,
    pub(crate) body: Option<(&'static str, Bytes)>,
    /// The statuses that mean success; any other is an error.
    pub(crate) expect: &'a [StatusCode],
    /// A bound other than the client's timeout (a long poll needs more).
    pub(crate) timeout: Option<Duration>,
    /// Whether the client's retry policy may send it again (the event channel retries its
    /// own requests).
    pub(crate) retry: bool,
}

/// A successful response, with its body read in full.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Response {
    /// Parses the body as a resource, choosing the codec by `Content-Type`.
    pub(crate) fn resource(&self) -> Result<Resource, Error> {
        let format = representation::of_reply(self.content_type(), &self.body, "a resource")?;
        representation::resource(format, &self.body)
    }

    /// Parses the body as an event channel reply, choosing the codec by `Content-Type`.
    pub(crate) fn event_batch(&self, origin: &Url) -> Result<EventBatch, Error> {
        let format = representation::of_reply(self.content_type(), &self.body, "an event batch")?;
        Event::parse_batch_as(&self.body, format, origin)
    }

    fn content_type(&self) -> Option<&str> {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
    }
}

impl Client {
    /// Sends a request and reads its response, bounded in time and size: once, again after a
    /// 401 with a refreshed token, and again as the retry policy allows.
    pub(crate) async fn execute(&self, request: Request<'_>) -> Result<Response, Error> {
        let span = tracing::debug_span!(
            "ucwa.request",
            method = %request.method,
            rel = request.rel,
            url = %request.url,
            operation_id = request.operation_id.map(OperationId::as_str),
            status = tracing::field::Empty,
        );
        let changes = request.method != Method::GET;
        let policy = match (request.retry, changes) {
            (false, _) => None,
            (true, false) => Some(self.inner.retry),
            (true, true) => self.inner.retry_posts.then_some(self.inner.retry),
        };

        let mut retries = 0;
        let mut refreshed: Option<Token> = None;
        let outcome = loop {
            let error = match self.attempt(&request, refreshed.clone(), &span).await {
                Ok(response) => break Ok(response),
                Err(error) => error,
            };
            if error.status() == Some(StatusCode::UNAUTHORIZED) && refreshed.is_none() {
                let challenges = error
                    .service()
                    .map(|service| service.challenges.as_slice())
                    .unwrap_or_default();
                match self.inner.tokens.refresh(challenges).await {
                    Ok(token) => {
                        tracing::debug!("401: repeating the request with a refreshed token");
                        refreshed = Some(token);
                        continue;
                    }
                    Err(source) => break Err(Error::TokenProvider(source)),
                }
            }
            match policy.and_then(|policy| policy.next_delay(&error, retries, changes)) {
                Some(delay) => {
                    retries += 1;
                    let _entered = span.enter();
                    tracing::warn!(
                        kind = error.kind().as_str(),
                        retry = retries,
                        delay_ms = delay.as_millis() as u64,
                        "request failed; sending it again"
                    );
                    drop(_entered);
                    tokio::time::sleep(delay).await;
                }
                None => break Err(error),
            }
        };

        let _entered = span.enter();
        match &outcome {
            Ok(response) => tracing::debug!(status = response.status.as_u16(), "request done"),
            Err(error) => tracing::debug!(kind = error.kind().as_str(), "request failed"),
        }
        outcome
    }

    /// One attempt, bounded by the timeout.
    async fn attempt(
        &self,
        request: &Request<'_>,
        token: Option<Token>,
        span: &tracing::Span,
    ) -> Result<Response, Error> {
        let timeout = request.timeout.unwrap_or(self.inner.timeout);
        // Boxed: a thousand requests in flight then keep a pointer each in their callers'
        // futures, not the whole exchange, which is most of their size.
        let exchange = Box::pin(self.exchange(request, token));
        // Without a subscriber that wants the span, skip the wrapper around every poll.
        let bounded = if span.is_disabled() {
            tokio::time::timeout(timeout, exchange).await
        } else {
            tokio::time::timeout(timeout, exchange.instrument(span.clone())).await
        };
        bounded.unwrap_or(Err(Error::Timeout(timeout)))
    }

    async fn exchange(
        &self,
        request: &Request<'_>,
        token: Option<Token>,
    ) -> Result<Response, Error> {
        self.check_target(&request.url)?;

        let authorization = self.authorization(token).await?;
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone())
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, self.inner.format.media_type());
        if let Some((content_type, body)) = &request.body {
            if *content_type == SDP {
                tracing::trace!(sdp = %String::from_utf8_lossy(body), "request body");
            }
            builder = builder
                .header(CONTENT_TYPE, *content_type)
                .body(body.clone());
        }

        let mut response = builder
            .send()
            .await
            .map_err(|error| self.transport_error(error))?;
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        let headers = std::mem::take(response.headers_mut());
        let body = self.read_body(response).await?;

        if request.expect.contains(&status) {
            Ok(Response {
                status,
                headers,
                body,
            })
        } else {
            let error = ServiceError::parse(status, &headers, body);
            Err(Error::Service(Box::new(error)))
        }
    }

    /// The `Authorization` header: of `token` when given, else of the provider's token.
    async fn authorization(&self, token: Option<Token>) -> Result<HeaderValue, Error> {
        let token = match token {
            Some(token) => token,
            None => self
                .inner
                .tokens
                .token()
                .await
                .map_err(Error::TokenProvider)?,
        };
        // The header of the last token is kept: a provider hands out the same token for hours.
        let mut cached = self
            .inner
            .authorization
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((last, header)) = cached.as_ref() {
            if *last == token {
                return Ok(header.clone());
            }
        }
        // The token is never put in an error message, even when it is unusable.
        let mut header = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                Error::InvalidInput("the token holds characters not allowed in a header".to_owned())
            })?;
        header.set_sensitive(true);
        *cached = Some((token, header.clone()));
        Ok(header)
    }

    /// GETs a resource and parses it.
    pub(crate) async fn get_resource(&self, url: Url, rel: &str) -> Result<Resource, Error> {
        let response = self
            .execute(Request {
                method: Method::GET,
                url,
                rel,
                operation_id: None,
                body: None,
                expect: &[StatusCode::OK],
                timeout: None,
                retry: true,
            })
            .await?;
        response.resource()
    }

    async fn next_chunk(&self, response: &mut reqwest::Response) -> Result<Option<Bytes>, Error> {
        response
            .chunk()
            .await
            .map_err(|error| self.transport_error(error))
    }

    fn transport_error(&self, error: reqwest::Error) -> Error {
        if error.is_timeout() {
            Error::Timeout(self.inner.timeout)
        } else {
            Error::Transport(error)
        }
    }

    /// Reads the body, refusing it as soon as it passes the limit.
    async fn read_body(&self, mut response: reqwest::Response) -> Result<Bytes, Error> {
        let limit = self.inner.max_body;
        if response
            .content_length()
            .is_some_and(|length| length > limit as u64)
        {
            return Err(Error::BodyTooLarge { limit });
        }
        // Most replies arrive in one chunk: hand it on without a copy.
        let Some(first) = self.next_chunk(&mut response).await? else {
            return Ok(Bytes::new());
        };
        if first.len() > limit {
            return Err(Error::BodyTooLarge { limit });
        }
        let Some(second) = self.next_chunk(&mut response).await? else {
            return Ok(first);
        };
        let expected = response.content_length().unwrap_or(0) as usize;
        let mut body = BytesMut::with_capacity(expected.max(first.len() + second.len()));
        let mut chunk = Some(second);
        body.extend_from_slice(&first);
        while let Some(next) = chunk {
            if body.len() + next.len() > limit {
                return Err(Error::BodyTooLarge { limit });
            }
            body.extend_from_slice(&next);
            chunk = self.next_chunk(&mut response).await?;
        }
        Ok(body.freeze())
    }
}
