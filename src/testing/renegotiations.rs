//! The fake server's renegotiations: entities, the one-pending rule, and the events they cause.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde_json::{Value, json};
use wiremock::Request;

use super::FAKE_ANSWER_SDP;
use super::events::{FakeChannel, Queued};
use super::reply::Reply;
use super::router::{COMMUNICATION, CONVERSATION, SESSION, bytes, error, header, input_properties};
use crate::data_uri::DataUri;
use crate::renegotiation::DeclineReason;

/// Where a renegotiation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pending,
    Answered,
    Dismissed,
    Completed,
}

#[derive(Debug)]
struct Entity {
    operation_id: String,
    direction: &'static str,
    offer: Bytes,
    answer: Option<Bytes>,
    outcome: Outcome,
}

/// The reason a dismissed renegotiation's `completed` event carries.
#[derive(Debug, Clone)]
pub(crate) struct CompletionReason {
    pub(crate) code: String,
    pub(crate) subcode: Option<String>,
    pub(crate) message: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Renegotiations {
    location_only: bool,
    auto_complete: bool,
    next_id: u64,
    entities: BTreeMap<u64, Entity>,
    /// Renegotiations neither answered, dismissed nor completed.
    pub(crate) pending: BTreeSet<u64>,
    pub(crate) last_answer: Option<Bytes>,
}

impl Renegotiations {
    pub(crate) fn new(location_only: bool, auto_complete: bool) -> Self {
        Renegotiations {
            location_only,
            auto_complete,
            next_id: 1,
            entities: BTreeMap::new(),
            pending: BTreeSet::new(),
            last_answer: None,
        }
    }

    /// A POST of an offer to `renegotiations`, `resumeAudio` or `resumeAudioVideo`.
    pub(crate) fn start(&mut self, channel: &mut FakeChannel, request: &Request) -> Reply {
        if !header(request, "content-type").eq_ignore_ascii_case("application/sdp") {
            return error(
                415,
                "UnsupportedMediaType",
                None,
                "the offer must be application/sdp",
            );
        }
        let operation_id = request
            .url
            .query_pairs()
            .find(|(key, _)| key == "operationId")
            .map(|(_, value)| value.into_owned());
        let Some(operation_id) = operation_id.filter(|id| (1..=50).contains(&id.chars().count()))
        else {
            return error(
                400,
                "BadRequest",
                Some("ParameterValidationFailure"),
                "operationId is required and has at most 50 characters",
            );
        };
        if request.body.is_empty() {
            return error(
                400,
                "BadRequest",
                Some("InvalidMediaDescription"),
                "empty offer",
            );
        }
        if !self.pending.is_empty() {
            return error(
                409,
                "Conflict",
                Some("AlreadyExists"),
                "The requested resource already exists. Please wait and try again.",
            );
        }

        let id = self.create(operation_id, "Outgoing", bytes(request));
        channel.queue.push_back(self.event(id, "started", None));
        if self.auto_complete {
            self.settle(id, Outcome::Completed);
            channel
                .queue
                .push_back(self.event(id, "completed", Some(Ok(()))));
        }

        if self.location_only {
            Reply::empty(201).header("Location", entity_path(id))
        } else {
            Reply::resource(201, self.json(id))
        }
    }

    /// A renegotiation the far end starts: pending, announced by a `started` event.
    pub(crate) fn incoming(
        &mut self,
        channel: &mut FakeChannel,
        operation_id: String,
        offer: Bytes,
        embed: bool,
    ) -> String {
        let id = self.create(operation_id, "Incoming", offer);
        let mut event = self.event(id, "started", None);
        if !embed {
            if let Queued::Event { event, .. } = &mut event {
                event.as_object_mut().map(|event| event.remove("_embedded"));
            }
        }
        channel.queue.push_back(event);
        entity_path(id)
    }

    /// Ends the renegotiation with this operation id and announces it: success, or failure
    /// with a reason. False when there is no such pending renegotiation.
    pub(crate) fn complete(
        &mut self,
        channel: &mut FakeChannel,
        operation_id: &str,
        result: Result<(), CompletionReason>,
    ) -> bool {
        let found = self.entities.iter().find(|(_, entity)| {
            entity.operation_id == operation_id && entity.outcome == Outcome::Pending
        });
        let Some((&id, _)) = found else {
            return false;
        };
        self.settle(id, Outcome::Completed);
        channel
            .queue
            .push_back(self.event(id, "completed", Some(result)));
        true
    }

    pub(crate) fn get(&self, id: Option<u64>) -> Reply {
        match id.filter(|id| self.entities.contains_key(id)) {
            Some(id) => Reply::resource(200, self.json(id)),
            None => error(404, "NotFound", None, "no such renegotiation"),
        }
    }

    pub(crate) fn answer(
        &mut self,
        channel: &mut FakeChannel,
        id: Option<u64>,
        request: &Request,
    ) -> Reply {
        let id = match self.pending_entity(id) {
            Ok(id) => id,
            Err(message) => return error(404, "NotFound", None, message),
        };
        if !request.body.is_empty() {
            if !header(request, "content-type").eq_ignore_ascii_case("application/sdp") {
                return error(
                    415,
                    "UnsupportedMediaType",
                    None,
                    "an answer is application/sdp",
                );
            }
            self.last_answer = Some(bytes(request));
            if let Some(entity) = self.entities.get_mut(&id) {
                entity.answer = Some(bytes(request));
            }
        }
        self.settle(id, Outcome::Answered);
        channel
            .queue
            .push_back(self.event(id, "completed", Some(Ok(()))));
        Reply::empty(204)
    }

    pub(crate) fn dismiss(
        &mut self,
        channel: &mut FakeChannel,
        id: Option<u64>,
        request: &Request,
    ) -> Reply {
        let id = match self.pending_entity(id) {
            Ok(id) => id,
            Err(message) => return error(404, "NotFound", None, message),
        };
        let reason = match dismiss_reason(header(request, "content-type"), &request.body) {
            Ok(reason) => reason,
            Err(message) => {
                return error(
                    400,
                    "BadRequest",
                    Some("ParameterValidationFailure"),
                    message,
                );
            }
        };
        self.settle(id, Outcome::Dismissed);
        let reason = CompletionReason {
            code: "Forbidden".to_owned(),
            subcode: None,
            message: Some(format!(
                "the renegotiation was dismissed ({})",
                reason.as_deref().unwrap_or("no reason")
            )),
        };
        channel
            .queue
            .push_back(self.event(id, "completed", Some(Err(reason))));
        Reply::empty(204)
    }

    fn create(&mut self, operation_id: String, direction: &'static str, offer: Bytes) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.entities.insert(
            id,
            Entity {
                operation_id,
                direction,
                offer,
                // The fake far end answers every offer the client sends.
                answer: (direction == "Outgoing")
                    .then(|| Bytes::from_static(FAKE_ANSWER_SDP.as_bytes())),
                outcome: Outcome::Pending,
            },
        );
        self.pending.insert(id);
        id
    }

    fn settle(&mut self, id: u64, outcome: Outcome) {
        if let Some(entity) = self.entities.get_mut(&id) {
            entity.outcome = outcome;
        }
        self.pending.remove(&id);
    }

    /// The pending entity `id`, or why there is none (answered as a 404).
    fn pending_entity(&self, id: Option<u64>) -> Result<u64, &'static str> {
        match id.and_then(|id| Some((id, self.entities.get(&id)?))) {
            None => Err("no such renegotiation"),
            Some((_, entity)) if entity.outcome != Outcome::Pending => {
                Err("the renegotiation is already over")
            }
            Some((id, _)) => Ok(id),
        }
    }

    /// An event about entity `id`, with the entity embedded.
    fn event(
        &self,
        id: u64,
        event_type: &str,
        result: Option<Result<(), CompletionReason>>,
    ) -> Queued {
        let mut event = json!({
            "link": { "rel": "audioVideoRenegotiation", "href": entity_path(id) },
            "type": event_type,
            "_embedded": { "audioVideoRenegotiation": self.json(id) },
        });
        match result {
            Some(Ok(())) => event["status"] = json!("Success"),
            Some(Err(reason)) => {
                event["status"] = json!("Failure");
                let mut body = json!({ "code": reason.code });
                if let Some(subcode) = reason.subcode {
                    body["subcode"] = json!(subcode);
                }
                if let Some(message) = reason.message {
                    body["message"] = json!(message);
                }
                event["reason"] = body;
            }
            None => {}
        }
        Queued::Event {
            sender_rel: "communication".to_owned(),
            sender_href: COMMUNICATION.to_owned(),
            event,
        }
    }

    fn json(&self, id: u64) -> Value {
        let Some(entity) = self.entities.get(&id) else {
            return Value::Null;
        };
        let path = entity_path(id);
        let mut links = json!({
            "self": { "href": path },
            "mediaOffer": { "href": DataUri::encode_base64("application/sdp", &entity.offer) },
            "audioVideoSession": { "href": SESSION },
            "conversation": { "href": CONVERSATION },
        });
        if let Some(answer) = &entity.answer {
            links["mediaAnswer"] = json!({
                "href": DataUri::encode_base64("application/sdp", answer)
            });
        }
        if entity.outcome == Outcome::Pending {
            links["answer"] = json!({ "href": format!("{path}/answer") });
            links["dismiss"] = json!({ "href": format!("{path}/dismiss") });
        }
        json!({
            "rel": "audioVideoRenegotiation",
            "direction": entity.direction,
            "operationId": entity.operation_id,
            "_links": links,
        })
    }
}

fn entity_path(id: u64) -> String {
    format!("{SESSION}/renegotiations/{id}")
}

/// The reason of a dismiss body, checked as the protocol describes it.
fn dismiss_reason(content_type: &str, body: &[u8]) -> Result<Option<String>, &'static str> {
    let properties = input_properties(content_type, body)?;
    match properties.get("reason") {
        None => Ok(None),
        Some(Value::String(reason)) if reason.parse::<DeclineReason>().is_ok() => {
            Ok(Some(reason.clone()))
        }
        Some(_) => Err("the reason is not one of the documented values"),
    }
}
