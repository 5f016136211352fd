//! What the fake server answers: routing, state, and the protocol's rules.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::{Endpoint, FAKE_ANSWER_SDP, Failure};
use crate::data_uri::DataUri;
use crate::renegotiation::DeclineReason;

pub(crate) const APPLICATION: &str = "/ucwa/oauth/v1/applications/101";
pub(crate) const SESSION: &str =
    "/ucwa/oauth/v1/applications/101/communication/conversations/1/audioVideo/audioVideoSession";
const CONVERSATION: &str = "/ucwa/oauth/v1/applications/101/communication/conversations/1";

/// Where a renegotiation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pending,
    Answered,
    Dismissed,
}

#[derive(Debug)]
struct Entity {
    operation_id: String,
    offer: Bytes,
    outcome: Outcome,
}

#[derive(Debug)]
pub(crate) struct State {
    location_only: bool,
    next_id: u64,
    entities: BTreeMap<u64, Entity>,
    pub(crate) pending: Option<u64>,
    pub(crate) failures: Vec<(Endpoint, Failure)>,
    pub(crate) hidden_links: BTreeSet<String>,
    pub(crate) last_answer: Option<Bytes>,
}

impl State {
    pub(crate) fn new(location_only: bool) -> Self {
        State {
            location_only,
            next_id: 1,
            entities: BTreeMap::new(),
            pending: None,
            failures: Vec::new(),
            hidden_links: BTreeSet::new(),
            last_answer: None,
        }
    }

    /// Takes the first queued failure for this endpoint, if any.
    fn take_failure(&mut self, endpoint: Endpoint) -> Option<Failure> {
        let index = self
            .failures
            .iter()
            .position(|(queued, _)| *queued == endpoint)?;
        let failure = self.failures[index].1.clone();
        match &mut self.failures[index].1.times {
            None => {}
            Some(left) if *left > 1 => *left -= 1,
            Some(_) => {
                drop(self.failures.remove(index));
            }
        }
        Some(failure)
    }
}

pub(crate) struct Router {
    pub(crate) state: Arc<Mutex<State>>,
    pub(crate) token: String,
    pub(crate) origin: String,
}

/// Maps a method and path to an endpoint and, for entity paths, the entity's number.
pub(crate) fn route(method: &str, path: &str) -> Option<(Endpoint, Option<u64>)> {
    let endpoint = match (method, path) {
        ("GET", APPLICATION) => Endpoint::Application,
        ("GET", SESSION) => Endpoint::Session,
        ("POST", _) if path == format!("{SESSION}/renegotiations") => Endpoint::Renegotiations,
        ("POST", _) if path == format!("{SESSION}/resumeAudio") => Endpoint::ResumeAudio,
        ("POST", _) if path == format!("{SESSION}/resumeAudioVideo") => Endpoint::ResumeAudioVideo,
        _ => return route_entity(method, path),
    };
    Some((endpoint, None))
}

fn route_entity(method: &str, path: &str) -> Option<(Endpoint, Option<u64>)> {
    let rest = path
        .strip_prefix(SESSION)?
        .strip_prefix("/renegotiations/")?;
    let (id, action) = match rest.split_once('/') {
        Some((id, action)) => (id, Some(action)),
        None => (rest, None),
    };
    let id = id.parse().ok()?;
    let endpoint = match (method, action) {
        ("GET", None) => Endpoint::Renegotiation,
        ("POST", Some("answer")) => Endpoint::Answer,
        ("POST", Some("dismiss")) => Endpoint::Dismiss,
        _ => return None,
    };
    Some((endpoint, Some(id)))
}

impl Respond for Router {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some((endpoint, id)) = route(request.method.as_str(), request.url.path()) else {
            return error(404, "NotFound", None, "no such resource on the fake server");
        };
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            == Some(format!("Bearer {}", self.token).as_str());
        if !authorized {
            return self.unauthorized();
        }

        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(failure) = state.take_failure(endpoint) {
            return failure_response(&failure);
        }
        match endpoint {
            Endpoint::Application => ok(application()),
            Endpoint::Session => ok(session(&state.hidden_links)),
            Endpoint::Renegotiations | Endpoint::ResumeAudio | Endpoint::ResumeAudioVideo => {
                start_renegotiation(&mut state, request)
            }
            Endpoint::Renegotiation => match id.and_then(|id| Some((id, state.entities.get(&id)?)))
            {
                Some((id, entity)) => ok(entity_json(id, entity)),
                None => error(404, "NotFound", None, "no such renegotiation"),
            },
            Endpoint::Answer => finish(&mut state, id, request, Outcome::Answered),
            Endpoint::Dismiss => finish(&mut state, id, request, Outcome::Dismissed),
        }
    }
}

impl Router {
    fn unauthorized(&self) -> ResponseTemplate {
        let oauth = format!(
            "MsRtcOAuth href=\"{}/WebTicket/oauthtoken\",\
             grant_type=\"urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password\"",
            self.origin
        );
        error(
            401,
            "Unauthorized",
            None,
            "the bearer token is missing or wrong",
        )
        .append_header("WWW-Authenticate", oauth)
        .append_header(
            "WWW-Authenticate",
            "Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", \
                 client_id=\"00000004-0000-0ff1-ce00-000000000000\"",
        )
    }
}

fn start_renegotiation(state: &mut State, request: &Request) -> ResponseTemplate {
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !content_type.eq_ignore_ascii_case("application/sdp") {
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
    if state.pending.is_some() {
        return error(
            409,
            "Conflict",
            Some("AlreadyExists"),
            "The requested resource already exists. Please wait and try again.",
        );
    }

    let id = state.next_id;
    state.next_id += 1;
    let entity = Entity {
        operation_id,
        offer: Bytes::from(request.body.clone()),
        outcome: Outcome::Pending,
    };
    let body = entity_json(id, &entity);
    state.entities.insert(id, entity);
    state.pending = Some(id);

    if state.location_only {
        ResponseTemplate::new(201).insert_header("Location", entity_path(id))
    } else {
        ResponseTemplate::new(201).set_body_json(body)
    }
}

fn finish(
    state: &mut State,
    id: Option<u64>,
    request: &Request,
    outcome: Outcome,
) -> ResponseTemplate {
    let Some(entity) = id.and_then(|id| state.entities.get_mut(&id)) else {
        return error(404, "NotFound", None, "no such renegotiation");
    };
    if entity.outcome != Outcome::Pending {
        return error(404, "NotFound", None, "the renegotiation is already over");
    }
    let content_type = request
        .headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();

    match outcome {
        Outcome::Answered if !request.body.is_empty() => {
            if !content_type.eq_ignore_ascii_case("application/sdp") {
                return error(
                    415,
                    "UnsupportedMediaType",
                    None,
                    "an answer is application/sdp",
                );
            }
            state.last_answer = Some(Bytes::from(request.body.clone()));
        }
        Outcome::Dismissed => {
            if let Err(message) = check_dismiss_body(content_type, &request.body) {
                return error(
                    400,
                    "BadRequest",
                    Some("ParameterValidationFailure"),
                    message,
                );
            }
        }
        _ => {}
    }
    entity.outcome = outcome;
    state.pending = None;
    ResponseTemplate::new(204)
}

fn check_dismiss_body(content_type: &str, body: &[u8]) -> Result<(), &'static str> {
    if !content_type.eq_ignore_ascii_case("application/json") {
        return Err("the dismiss input must be application/json");
    }
    let input: Value = serde_json::from_slice(body).map_err(|_| "the body is not json")?;
    match input.get("reason") {
        None => Ok(()),
        Some(Value::String(reason)) if reason.parse::<DeclineReason>().is_ok() => Ok(()),
        Some(_) => Err("the reason is not one of the documented values"),
    }
}

fn failure_response(failure: &Failure) -> ResponseTemplate {
    let mut response = ResponseTemplate::new(failure.status);
    if let Some((content_type, body)) = &failure.raw_body {
        response = response.set_body_raw(body.to_vec(), content_type);
    } else if let Some(code) = &failure.code {
        let mut body = json!({ "code": code });
        if let Some(subcode) = &failure.subcode {
            body["subcode"] = json!(subcode);
        }
        if let Some(message) = &failure.message {
            body["message"] = json!(message);
        }
        response = response.set_body_json(body);
    }
    for (name, value) in &failure.headers {
        response = response.append_header(name.as_str(), value.as_str());
    }
    if let Some(delay) = failure.delay {
        response = response.set_delay(delay);
    }
    response
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn error(status: u16, code: &str, subcode: Option<&str>, message: &str) -> ResponseTemplate {
    let mut body = json!({ "code": code, "message": message });
    if let Some(subcode) = subcode {
        body["subcode"] = json!(subcode);
    }
    ResponseTemplate::new(status).set_body_json(body)
}

fn entity_path(id: u64) -> String {
    format!("{SESSION}/renegotiations/{id}")
}

fn entity_json(id: u64, entity: &Entity) -> Value {
    let path = entity_path(id);
    let mut links = json!({
        "self": { "href": path },
        "mediaOffer": { "href": DataUri::encode_base64("application/sdp", &entity.offer) },
        "mediaAnswer": {
            "href": DataUri::encode_base64("application/sdp", FAKE_ANSWER_SDP.as_bytes())
        },
        "audioVideoSession": { "href": SESSION },
        "conversation": { "href": CONVERSATION },
    });
    if entity.outcome == Outcome::Pending {
        links["answer"] = json!({ "href": format!("{path}/answer") });
        links["dismiss"] = json!({ "href": format!("{path}/dismiss") });
    }
    json!({
        "rel": "audioVideoRenegotiation",
        "direction": "Outgoing",
        "operationId": entity.operation_id,
        "_links": links,
    })
}

fn session(hidden: &BTreeSet<String>) -> Value {
    let mut links = serde_json::Map::new();
    let all = [
        ("self", SESSION.to_owned()),
        ("audioVideo", format!("{CONVERSATION}/audioVideo")),
        ("conversation", CONVERSATION.to_owned()),
        ("renegotiations", format!("{SESSION}/renegotiations")),
        ("resumeAudio", format!("{SESSION}/resumeAudio")),
        ("resumeAudioVideo", format!("{SESSION}/resumeAudioVideo")),
    ];
    for (rel, href) in all {
        if !hidden.contains(rel) {
            links.insert(rel.to_owned(), json!({ "href": href }));
        }
    }
    json!({
        "rel": "audioVideoSession",
        "remoteEndpoint": "sip:far-end@fake.ucwa.test",
        "sessionContext": "fake-session-context",
        "state": "Established",
        "_links": links,
    })
}

fn application() -> Value {
    json!({
        "culture": "en-US",
        "userAgent": "ucwa fake server",
        "rel": "application",
        "_links": {
            "self": { "href": APPLICATION },
            "events": { "href": format!("{APPLICATION}/events?ack=1") },
            "batch": { "href": format!("{APPLICATION}/batch") },
            "policies": { "href": format!("{APPLICATION}/policies") },
        },
        "_embedded": {
            "communication": {
                "rel": "communication",
                "supportedModalities": ["Audio", "Video"],
                "_links": {
                    "self": { "href": format!("{APPLICATION}/communication") },
                    "conversations": {
                        "href": format!("{APPLICATION}/communication/conversations?filter=active")
                    },
                },
            },
        },
    })
}
