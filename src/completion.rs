//! Correlating operations with their `completed` events, even events that arrive first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use url::Url;

use crate::error::Error;
use crate::event::{Event, EventType, OperationStatus, Reason};

/// How many operation outcomes and href correlations a channel remembers.
const REMEMBERED: usize = 4096;

/// How an operation ended, as the event channel reported it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    pub(crate) status: Option<OperationStatus>,
    pub(crate) reason: Option<Reason>,
}

/// What the channel has seen of operations: outcomes by operation id and by href, and which
/// operation id each href belongs to.
#[derive(Debug, Default)]
pub(crate) struct Completions {
    state: Mutex<Seen>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct Seen {
    by_operation: HashMap<String, Outcome>,
    by_href: HashMap<String, Outcome>,
    operation_of_href: HashMap<String, String>,
    order: VecDeque<Key>,
}

#[derive(Debug)]
enum Key {
    Operation(String),
    Href(String),
    Correlation(String),
}

impl Completions {
    /// Takes note of a batch of events, before they are handed to the caller.
    pub(crate) fn record(&self, events: &[Event]) {
        let mut seen = self.lock();
        let mut any = false;
        for event in events {
            let href = event.link.href.as_str();
            if let Some(operation_id) = event.operation_id() {
                seen.remember(Key::Correlation(href.to_owned()), |seen| {
                    seen.operation_of_href
                        .insert(href.to_owned(), operation_id.to_owned());
                });
            }
            if event.event_type != EventType::Completed {
                continue;
            }
            let outcome = Outcome {
                status: event.status.clone(),
                reason: event.reason.clone(),
            };
            let operation_id = event
                .operation_id()
                .map(str::to_owned)
                .or_else(|| seen.operation_of_href.get(href).cloned());
            if let Some(operation_id) = operation_id {
                let value = outcome.clone();
                seen.remember(Key::Operation(operation_id.clone()), move |seen| {
                    seen.by_operation.insert(operation_id, value);
                });
            }
            seen.remember(Key::Href(href.to_owned()), |seen| {
                seen.by_href.insert(href.to_owned(), outcome);
            });
            any = true;
        }
        drop(seen);
        if any {
            self.changed.notify_waiters();
        }
    }

    /// Waits until the operation completes, by id or (once known) by the entity's URL.
    pub(crate) async fn wait(
        &self,
        operation_id: &str,
        href: Option<&Url>,
        timeout: Duration,
        channel_open: impl Fn() -> bool,
    ) -> Result<Outcome, Error> {
        let wait = async {
            loop {
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some(outcome) = self.find(operation_id, href) {
                    return Ok(outcome);
                }
                if !channel_open() {
                    return Err(Error::ChannelClosed);
                }
                // The channel may end without a completion; look again now and then.
                let _ = tokio::time::timeout(Duration::from_millis(500), notified).await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(Err(Error::Timeout(timeout)))
    }

    fn find(&self, operation_id: &str, href: Option<&Url>) -> Option<Outcome> {
        let seen = self.lock();
        seen.by_operation.get(operation_id).cloned().or_else(|| {
            let href = href?.as_str();
            seen.by_href.get(href).cloned()
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Seen {
    /// Inserts under `key` and forgets the oldest entries past the bound.
    fn remember(&mut self, key: Key, insert: impl FnOnce(&mut Seen)) {
        insert(self);
        self.order.push_back(key);
        while self.order.len() > REMEMBERED {
            match self.order.pop_front() {
                Some(Key::Operation(id)) => {
                    self.by_operation.remove(&id);
                }
                Some(Key::Href(href)) => {
                    self.by_href.remove(&href);
                }
                Some(Key::Correlation(href)) => {
                    self.operation_of_href.remove(&href);
                }
                None => break,
            }
        }
    }
}

/// Turns an outcome into the caller's result: success, or the failure as a typed error.
pub(crate) fn into_result(operation_id: &str, outcome: Outcome) -> Result<(), Error> {
    match outcome.status {
        // A completed event without a status reports no failure.
        Some(OperationStatus::Success) | None => Ok(()),
        Some(_) => Err(Error::OperationFailed {
            operation_id: operation_id.to_owned(),
            reason: outcome.reason.map(Box::new),
        }),
    }
}

/// Shared between a channel's driver and the operations waiting on it.
pub(crate) type SharedCompletions = Arc<Completions>;
