//! The event channel: one long-polling task that hands out events in order, each exactly once.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use reqwest::{Method, StatusCode};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use crate::application::Application;
use crate::client::Client;
use crate::completion::{Completions, SharedCompletions};
use crate::error::{Error, ErrorKind};
use crate::event::{Event, EventBatch, NextLink};
use crate::request::Request;

/// The `timeout` the server uses when none is asked for, in seconds.
const SERVER_DEFAULT_TIMEOUT: u64 = 180;

/// How much longer than the asked-for `timeout` the client waits for a pending GET.
const READ_MARGIN: Duration = Duration::from_secs(15);

/// Something the event channel hands out.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ChannelEvent {
    /// An event from the server (boxed: events are large next to the markers).
    Event(Box<Event>),
    /// The server dropped the channel's idle state and the channel carries on from `url`.
    Resumed {
        /// Where the channel reads next.
        url: Url,
    },
    /// The acknowledgement was out of range: the channel carries on from `url`, and state
    /// cached from earlier events may be stale.
    Resynced {
        /// Where the channel reads next.
        url: Url,
    },
}

impl ChannelEvent {
    /// The event, when this is one.
    pub fn event(&self) -> Option<&Event> {
        match self {
            ChannelEvent::Event(event) => Some(event),
            _ => None,
        }
    }
}

/// How the event channel asks the server to hold and release its pending GETs.
///
/// Each value is checked against the protocol's range when the channel starts. Values are added
/// to every href the channel follows, unless the href already names that parameter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelTuning {
    timeout: Option<u64>,
    low: Option<u64>,
    medium: Option<u64>,
    priority: Option<u32>,
}

/// Configures and starts an [`EventChannel`].
#[must_use]
pub struct EventChannelBuilder {
    client: Client,
    start: Result<Url, Error>,
    tuning: ChannelTuning,
    buffer: usize,
    max_failures: Option<u32>,
    initial_backoff: Duration,
    max_backoff: Duration,
    read_timeout: Option<Duration>,
}

/// The event channel of an application: a [`Stream`] of [`ChannelEvent`]s.
///
/// One task, started by [`EventChannelBuilder::start`], keeps exactly one pending GET open at a
/// time. When a reply arrives it issues the next GET before handing the reply's events out, and
/// hands them out strictly in the server's order, each once. It follows `next`, `resume` and
/// `resync` hrefs as given (never editing `ack`), and surfaces `resume` and `resync` as
/// [`ChannelEvent::Resumed`] and [`ChannelEvent::Resynced`].
///
/// Faults: a transport error, a timeout, a 5xx or a 429 is retried with capped exponential
/// backoff and jitter against the same href, so no event is lost or repeated. A 401 asks the
/// token provider once more before it is reported. 409 `PGetReplaced`
/// ([`ErrorKind::EventChannelReplaced`]), 404 `ApplicationNotFound`
/// ([`ErrorKind::ApplicationNotFound`]) and any other error are handed out as the stream's
/// last item, and the stream ends.
///
/// The task stops when the channel is dropped or [`EventChannel::close`]d. Events wait in a
/// bounded buffer (see [`EventChannelBuilder::buffer`]): a channel nobody reads stops reading
/// the server once the buffer is full.
pub struct EventChannel {
    events: mpsc::Receiver<Result<ChannelEvent, Error>>,
    task: Option<JoinHandle<()>>,
    completions: SharedCompletions,
    running: Arc<AtomicBool>,
}

impl EventChannel {
    /// Configures the channel of an application, from its `events` link.
    pub fn builder(application: &Application) -> EventChannelBuilder {
        let start = application
            .events_link()
            .ok_or_else(|| Error::missing_link("events"))
            .and_then(|link| application.client().resolve(link));
        EventChannelBuilder::new(application.client().clone(), start)
    }

    /// Configures a channel that starts at an `events` URL found elsewhere.
    pub fn builder_for_url(client: &Client, events_url: &str) -> EventChannelBuilder {
        EventChannelBuilder::new(client.clone(), client.resolve_href(events_url))
    }

    /// Stops the task and waits until it has stopped. Events not yet read are dropped.
    pub async fn close(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // The task ends by abort or on its own; either way it is gone.
            let _ = task.await;
        }
        self.running.store(false, Ordering::Release);
    }

    /// Whether the task still runs (it stops after a fatal error, or when closed).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    pub(crate) fn completions(&self) -> (&Completions, Arc<AtomicBool>) {
        (&self.completions, Arc::clone(&self.running))
    }
}

impl Stream for EventChannel {
    type Item = Result<ChannelEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.events.poll_recv(cx)
    }
}

impl Drop for EventChannel {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl fmt::Debug for EventChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventChannel")
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl EventChannelBuilder {
    fn new(client: Client, start: Result<Url, Error>) -> Self {
        EventChannelBuilder {
            client,
            start,
            tuning: ChannelTuning::default(),
            buffer: 1024,
            max_failures: Some(10),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            read_timeout: None,
        }
    }

    /// The `timeout` query parameter: how long the server may hold a pending GET with no
    /// events, 180 to 1800 seconds (the server's default is 180). The client waits 15 seconds
    /// longer than this for each reply.
    pub fn timeout(mut self, seconds: u64) -> Self {
        self.tuning.timeout = Some(seconds);
        self
    }

    /// The `low` query parameter: how long low-urgency events may accumulate, 5 to 1800 seconds.
    pub fn low(mut self, seconds: u64) -> Self {
        self.tuning.low = Some(seconds);
        self
    }

    /// The `medium` query parameter: how long medium-urgency events may accumulate, 5 to 1800
    /// seconds.
    pub fn medium(mut self, seconds: u64) -> Self {
        self.tuning.medium = Some(seconds);
        self
    }

    /// The `priority` query parameter: a pending GET of higher priority replaces one of lower.
    pub fn priority(mut self, priority: u32) -> Self {
        self.tuning.priority = Some(priority);
        self
    }

    /// How many items may wait to be read before the channel stops reading the server.
    /// Default 1024.
    pub fn buffer(mut self, items: usize) -> Self {
        self.buffer = items.max(1);
        self
    }

    /// How many consecutive retryable failures end the channel with the last one; `None`
    /// retries without end. Default `Some(10)`.
    pub fn max_failures(mut self, failures: Option<u32>) -> Self {
        self.max_failures = failures;
        self
    }

    /// The first and the largest delay between retries. Default 200 ms and 30 s. Each retry
    /// doubles the delay up to the cap and waits a random 50 to 100 % of it; a `Retry-After`
    /// from the server is honoured when longer.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// How long the client waits for each reply. Default: the asked-for `timeout` (or the
    /// server's default of 180 s) plus 15 s.
    ///
    /// It must exceed the `timeout` asked of the server, or the client gives up on pending GETs
    /// that the server still holds lawfully; a shorter one suits only servers known to answer
    /// sooner, such as a test server.
    pub fn read_timeout(mut self, read_timeout: Duration) -> Self {
        self.read_timeout = Some(read_timeout);
        self
    }

    /// Checks the settings and starts the channel's task on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::MissingLink`] when the application has no `events` link; the guard errors of
    /// its URL; [`Error::InvalidInput`] for a tuning value out of range, a read timeout that
    /// does not exceed the asked-for `timeout`, or when there is no tokio runtime.
    pub fn start(self) -> Result<EventChannel, Error> {
        self.tuning.check()?;
        let asked = Duration::from_secs(self.tuning.timeout.unwrap_or(SERVER_DEFAULT_TIMEOUT));
        let read_timeout = self.read_timeout.unwrap_or(asked + READ_MARGIN);
        if read_timeout.is_zero()
            || self
                .tuning
                .timeout
                .is_some_and(|asked| read_timeout <= Duration::from_secs(asked))
        {
            return Err(Error::InvalidInput(
                "the read timeout must exceed the event channel's timeout".to_owned(),
            ));
        }
        let start = self.start?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::InvalidInput("an event channel needs a tokio runtime".to_owned())
        })?;

        let (sender, events) = mpsc::channel(self.buffer);
        let completions = SharedCompletions::default();
        let running = Arc::new(AtomicBool::new(true));
        let driver = Driver {
            client: self.client,
            tuning: self.tuning,
            read_timeout,
            sender,
            completions: Arc::clone(&completions),
            max_failures: self.max_failures,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
        };
        let flag = Arc::clone(&running);
        let task = runtime.spawn(async move {
            driver.run(start).await;
            flag.store(false, Ordering::Release);
        });

        Ok(EventChannel {
            events,
            task: Some(task),
            completions,
            running,
        })
    }
}

impl fmt::Debug for EventChannelBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventChannelBuilder")
            .field("tuning", &self.tuning)
            .field("buffer", &self.buffer)
            .field("max_failures", &self.max_failures)
            .finish_non_exhaustive()
    }
}

impl ChannelTuning {
    fn check(&self) -> Result<(), Error> {
        let ranges = [
            ("timeout", self.timeout, 180..=1800),
            ("low", self.low, 5..=1800),
            ("medium", self.medium, 5..=1800),
        ];
        for (name, value, range) in ranges {
            if let Some(value) = value.filter(|value| !range.contains(value)) {
                return Err(Error::InvalidInput(format!(
                    "the event channel's {name} must be {} to {} seconds, not {value}",
                    range.start(),
                    range.end()
                )));
            }
        }
        Ok(())
    }

    /// Adds the parameters the href does not already name, leaving the rest of it as given.
    fn apply(&self, url: &Url) -> Url {
        let present: Vec<String> = url.query_pairs().map(|(key, _)| key.into_owned()).collect();
        let wanted = [
            ("timeout", self.timeout.map(|v| v.to_string())),
            ("low", self.low.map(|v| v.to_string())),
            ("medium", self.medium.map(|v| v.to_string())),
            ("priority", self.priority.map(|v| v.to_string())),
        ];
        let mut url = url.clone();
        for (name, value) in wanted {
            if let Some(value) = value.filter(|_| !present.iter().any(|key| key == name)) {
                url.query_pairs_mut().append_pair(name, &value);
            }
        }
        url
    }
}

/// The channel's task.
struct Driver {
    client: Client,
    tuning: ChannelTuning,
    read_timeout: Duration,
    sender: mpsc::Sender<Result<ChannelEvent, Error>>,
    completions: SharedCompletions,
    max_failures: Option<u32>,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Driver {
    async fn run(self, start: Url) {
        let mut reply = self.fetch(self.tuning.apply(&start)).await;
        loop {
            let batch = match reply {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::debug!(kind = error.kind().as_str(), "event channel ends");
                    let _ = self.sender.send(Err(error)).await;
                    return;
                }
            };
            self.completions.record(&batch.events);
            let Some(follow) = batch.follow.clone() else {
                let error = Error::decode_plain("an event channel reply without a next link");
                let _ = self.sender.send(Err(error)).await;
                return;
            };

            let next = self.fetch(self.tuning.apply(follow.url()));
            tokio::pin!(next);
            let mut fetched = None;
            for item in Self::items(batch, &follow) {
                if !self.deliver(item, &mut next, &mut fetched).await {
                    return;
                }
            }
            reply = match fetched {
                Some(reply) => reply,
                None => next.await,
            };
        }
    }

    /// A reply's events in order, then the marker of a `resume` or `resync`.
    fn items(batch: EventBatch, follow: &NextLink) -> VecDeque<ChannelEvent> {
        let mut items: VecDeque<ChannelEvent> = batch
            .events
            .into_iter()
            .map(|event| ChannelEvent::Event(Box::new(event)))
            .collect();
        match follow {
            NextLink::Next(_) => {}
            NextLink::Resume(url) => items.push_back(ChannelEvent::Resumed { url: url.clone() }),
            NextLink::Resync(url) => items.push_back(ChannelEvent::Resynced { url: url.clone() }),
        }
        items
    }

    /// Hands one item out while the next GET makes progress; false once nobody listens.
    async fn deliver<F>(
        &self,
        item: ChannelEvent,
        next: &mut Pin<&mut F>,
        fetched: &mut Option<Result<EventBatch, Error>>,
    ) -> bool
    where
        F: Future<Output = Result<EventBatch, Error>>,
    {
        loop {
            tokio::select! {
                biased;
                reply = next.as_mut(), if fetched.is_none() => *fetched = Some(reply),
                permit = self.sender.reserve() => {
                    return match permit {
                        Ok(permit) => {
                            permit.send(Ok(item));
                            true
                        }
                        Err(_) => false,
                    };
                }
            }
        }
    }

    /// One pending GET, retried on transient faults against the same href.
    async fn fetch(&self, url: Url) -> Result<EventBatch, Error> {
        let mut failures: u32 = 0;
        loop {
            let outcome = self
                .client
                .execute(Request {
                    method: Method::GET,
                    url: url.clone(),
                    rel: "events",
                    operation_id: None,
                    body: None,
                    expect: &[StatusCode::OK],
                    timeout: Some(self.read_timeout),
                    retry: false,
                })
                .await;
            let error = match outcome {
                Ok(response) => return response.event_batch(self.client.origin()),
                Err(error) => error,
            };

            let retryable = is_retryable(&error);
            failures += 1;
            if !retryable || self.max_failures.is_some_and(|max| failures >= max) {
                return Err(error);
            }
            let delay = self.backoff(failures, error.retry_after());
            tracing::warn!(
                kind = error.kind().as_str(),
                attempt = failures,
                delay_ms = delay.as_millis() as u64,
                "event channel request failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn backoff(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        let capped = self
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(self.max_backoff);
        let jittered = capped.mul_f64(0.5 + fastrand::f64() / 2.0);
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max_backoff * 10)),
            None => jittered,
        }
    }
}

/// Faults that a later attempt at the same href may not meet.
fn is_retryable(error: &Error) -> bool {
    match error.kind() {
        ErrorKind::Transport | ErrorKind::Timeout => true,
        _ => error
            .status()
            .is_some_and(|status| status.is_server_error() || status.as_u16() == 429),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_is_checked_against_the_documented_ranges() {
        let ok = ChannelTuning {
            timeout: Some(180),
            low: Some(5),
            medium: Some(1800),
            priority: Some(7),
        };
        assert!(ok.check().is_ok());
        for bad in [
            ChannelTuning {
                timeout: Some(179),
                ..ok
            },
            ChannelTuning {
                timeout: Some(1801),
                ..ok
            },
            ChannelTuning { low: Some(4), ..ok },
            ChannelTuning {
                medium: Some(0),
                ..ok
            },
        ] {
            assert_eq!(bad.check().unwrap_err().kind(), ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn tuning_is_added_to_the_href_without_touching_ack() {
        let tuning = ChannelTuning {
            timeout: Some(900),
            low: None,
            medium: Some(300),
            priority: None,
        };
        let url = Url::parse("https://h/ucwa/events?ack=5&medium=60").unwrap();
        assert_eq!(
            tuning.apply(&url).as_str(),
            "https://h/ucwa/events?ack=5&medium=60&timeout=900"
        );
    }
}
