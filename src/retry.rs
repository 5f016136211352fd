//! When a failed request is sent again, and how long the client waits first.

use std::time::Duration;

use crate::error::{Error, ErrorKind};

/// How the client retries requests that failed on the way, not on their merits.
///
/// A retry re-sends the same request: the same URL (so the same `operationId`) and the same
/// body bytes. Transport errors, 503 Service Unavailable and 429 Too Many Requests are retried,
/// after a delay that doubles from [`initial_backoff`](RetryPolicy::backoff) up to its cap, of
/// which a random 50 to 100 % is waited; a `Retry-After` from the server (seconds or an HTTP
/// date) is waited instead when it asks for longer. 409, 410 and every other 4xx are never
/// retried, nor are other 5xx.
///
/// GETs, which change nothing, are retried by default ([`RetryPolicy::default`], which also
/// retries their timeouts). POSTs, which start operations or act on them, are retried only
/// when the client is given a policy with [`ClientBuilder::retry_policy`]; a POST that timed
/// out is not retried, since the server may still be acting on it.
///
/// [`ClientBuilder::retry_policy`]: crate::ClientBuilder::retry_policy
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use ucwa::RetryPolicy;
///
/// let policy = RetryPolicy::new()
///     .max_retries(5)
///     .backoff(Duration::from_millis(100), Duration::from_secs(2));
/// let client = ucwa::Client::builder()
///     .origin("https://fe1.contoso.com")
///     .token("cwt=AAEB…")
///     .retry_policy(policy)
///     .build()
///     .unwrap();
/// # let _ = client;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Two retries, from 100 ms up to 2 s, waiting at most 30 s for a `Retry-After`.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The default policy: two retries, from 100 ms up to 2 s.
    pub fn new() -> Self {
        RetryPolicy::default()
    }

    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// How many times one request may be sent again.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first delay and its cap.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The longest `Retry-After` the client waits for; a server that asks for longer gets its
    /// error handed to the caller at once. Default 30 s.
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The number of retries this policy allows.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// Whether `error`, from a request of this kind, may be sent again after `retries` retries;
    /// and if so, how long to wait first.
    pub(crate) fn next_delay(
        &self,
        error: &Error,
        retries: u32,
        changes: bool,
    ) -> Option<Duration> {
        if retries >= self.max_retries || !is_retryable(error, changes) {
            return None;
        }
        let exponent = retries.min(20);
        let capped = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let jittered = capped.mul_f64(0.5 + fastrand::f64() / 2.0);
        match error.retry_after() {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(jittered.max(asked)),
            None => Some(jittered),
        }
    }
}

/// Faults that say nothing about the request itself. A request that `changes` state is not
/// retried after a timeout: the server may have it still.
fn is_retryable(error: &Error, changes: bool) -> bool {
    match error.kind() {
        // Too many redirects is the server's doing, and would be again.
        ErrorKind::Transport => !matches!(error, Error::Transport(source) if source.is_redirect()),
        ErrorKind::Timeout => !changes,
        _ => error
            .status()
            .is_some_and(|status| matches!(status.as_u16(), 429 | 503)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ServiceError;
    use reqwest::StatusCode;
    use reqwest::header::HeaderMap;

    fn status(code: u16, retry_after: Option<&str>) -> Error {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert("retry-after", value.parse().unwrap());
        }
        let status = StatusCode::from_u16(code).unwrap();
        Error::Service(Box::new(ServiceError::parse(
            status,
            &headers,
            Default::default(),
        )))
    }

    #[test]
    fn only_503_429_and_transport_faults_are_retried() {
        let policy = RetryPolicy::new().max_retries(3);
        for code in [503, 429] {
            assert!(
                policy.next_delay(&status(code, None), 0, true).is_some(),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 409, 410, 412, 500, 502, 504] {
            assert!(
                policy.next_delay(&status(code, None), 0, true).is_none(),
                "{code}"
            );
        }
        let timeout = Error::Timeout(Duration::from_secs(1));
        assert!(
            policy.next_delay(&timeout, 0, false).is_some(),
            "a GET's timeout"
        );
        assert!(
            policy.next_delay(&timeout, 0, true).is_none(),
            "a POST's timeout"
        );
    }

    #[test]
    fn delays_grow_are_capped_and_jittered_and_the_count_is_bounded() {
        let policy = RetryPolicy::new()
            .max_retries(10)
            .backoff(Duration::from_millis(100), Duration::from_millis(400));
        let error = status(503, None);
        for retries in 0..10 {
            let delay = policy.next_delay(&error, retries, true).unwrap();
            let full = Duration::from_millis(100 * (1 << retries.min(2)));
            assert!(delay <= full && delay >= full / 2, "{retries}: {delay:?}");
        }
        assert!(policy.next_delay(&error, 10, true).is_none());
        assert!(RetryPolicy::never().next_delay(&error, 0, false).is_none());
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let policy = RetryPolicy::new().max_retry_after(Duration::from_secs(10));
        let delay = policy.next_delay(&status(503, Some("7")), 0, true).unwrap();
        assert_eq!(delay, Duration::from_secs(7));
        assert!(
            policy
                .next_delay(&status(429, Some("11")), 0, true)
                .is_none()
        );
        let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(5));
        let delay = policy
            .next_delay(&status(503, Some(&soon)), 0, true)
            .unwrap();
        assert!(delay > Duration::from_secs(3) && delay <= Duration::from_secs(5));
        let zero = policy.next_delay(&status(503, Some("0")), 0, true).unwrap();
        assert!(zero <= Duration::from_millis(100));
    }
}
