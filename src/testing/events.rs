//! The fake server's event channel: queued events served as numbered, repeatable batches.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde_json::{Value, json};

/// One queued item: an event, or a marker that makes the next reply `resume` or `resync`.
#[derive(Debug, Clone)]
pub(crate) enum Queued {
    Event {
        sender_rel: String,
        sender_href: String,
        event: Value,
    },
    Resume,
    Resync,
}

/// The channel's state. Batch `n` is the reply to `events?ack=n`; it is composed once and
/// served again, unchanged, until the client asks for `n + 1`, as a server must for a client
/// that retries after a fault.
#[derive(Debug)]
pub(crate) struct FakeChannel {
    pub(crate) queue: VecDeque<Queued>,
    last: u64,
    batches: BTreeMap<u64, Value>,
    pub(crate) batch_limit: usize,
    pub(crate) idle_delay: Duration,
}

/// A reply, and whether it carries no events (the server held it until its timeout).
pub(crate) struct Reply {
    pub(crate) body: Value,
    pub(crate) idle: bool,
}

impl FakeChannel {
    pub(crate) fn new() -> Self {
        FakeChannel {
            queue: VecDeque::new(),
            last: 0,
            batches: BTreeMap::new(),
            batch_limit: 50,
            idle_delay: Duration::from_millis(50),
        }
    }

    /// The reply to `events?ack=<ack>`.
    pub(crate) fn reply(&mut self, events_path: &str, ack: u64) -> Reply {
        if let Some(body) = self.batches.get(&ack) {
            return Reply {
                idle: is_idle(body),
                body: body.clone(),
            };
        }
        if ack != self.last + 1 {
            // An ack out of range: tell the client where to carry on.
            let body = json!({
                "_links": {
                    "self": { "href": format!("{events_path}?ack={ack}") },
                    "resync": { "href": format!("{events_path}?ack={}", self.last + 1) },
                },
            });
            return Reply { body, idle: false };
        }

        let body = self.compose(events_path, ack);
        self.last = ack;
        self.batches.retain(|&number, _| number >= ack);
        self.batches.insert(ack, body.clone());
        Reply {
            idle: is_idle(&body),
            body,
        }
    }

    fn compose(&mut self, events_path: &str, ack: u64) -> Value {
        let mut senders: Vec<Value> = Vec::new();
        let mut follow = "next";
        let mut taken = 0;
        while taken < self.batch_limit {
            match self.queue.front() {
                None => break,
                Some(Queued::Resume | Queued::Resync) => {
                    follow = match self.queue.pop_front() {
                        Some(Queued::Resume) => "resume",
                        _ => "resync",
                    };
                    break;
                }
                Some(Queued::Event { .. }) => {}
            }
            let Some(Queued::Event {
                sender_rel,
                sender_href,
                event,
            }) = self.queue.pop_front()
            else {
                break;
            };
            let same_sender = senders
                .last()
                .is_some_and(|last| last["rel"] == sender_rel && last["href"] == sender_href);
            if same_sender {
                if let Some(Value::Array(events)) =
                    senders.last_mut().and_then(|last| last.get_mut("events"))
                {
                    events.push(event);
                }
            } else {
                senders.push(json!({ "rel": sender_rel, "href": sender_href, "events": [event] }));
            }
            taken += 1;
        }

        let mut links = serde_json::Map::new();
        links.insert(
            "self".to_owned(),
            json!({ "href": format!("{events_path}?ack={ack}") }),
        );
        links.insert(
            follow.to_owned(),
            json!({ "href": format!("{events_path}?ack={}", ack + 1) }),
        );
        let mut body = json!({ "_links": links });
        if !senders.is_empty() {
            body["sender"] = Value::Array(senders);
        }
        body
    }
}

fn is_idle(body: &Value) -> bool {
    body.get("sender").is_none() && body["_links"].get("next").is_some()
}
