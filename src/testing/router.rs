//! How the fake server answers: routing, the token check, injected failures and delays.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use super::reply::{Body, Reply, asked_format};

use super::events::FakeChannel;
use super::proxy::DISCONNECT_MARKER;
use super::renegotiations::Renegotiations;
use super::{Endpoint, Failure};
use crate::representation::Format;

pub(crate) const APPLICATIONS: &str = "/ucwa/oauth/v1/applications";
pub(crate) const APPLICATION: &str = "/ucwa/oauth/v1/applications/101";
pub(crate) const EVENTS: &str = "/ucwa/oauth/v1/applications/101/events";
pub(crate) const COMMUNICATION: &str = "/ucwa/oauth/v1/applications/101/communication";
pub(crate) const CONVERSATION: &str =
    "/ucwa/oauth/v1/applications/101/communication/conversations/1";
pub(crate) const SESSION: &str =
    "/ucwa/oauth/v1/applications/101/communication/conversations/1/audioVideo/audioVideoSession";

/// Everything the fake server remembers between requests.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) renegotiations: Renegotiations,
    pub(crate) channel: FakeChannel,
    pub(crate) failures: Vec<(Endpoint, Failure)>,
    pub(crate) delays: Vec<(Endpoint, Duration)>,
    pub(crate) hidden_links: BTreeSet<String>,
}

impl State {
    pub(crate) fn new(location_only: bool, auto_complete: bool) -> Self {
        State {
            renegotiations: Renegotiations::new(location_only, auto_complete),
            channel: FakeChannel::new(),
            failures: Vec::new(),
            delays: Vec::new(),
            hidden_links: BTreeSet::new(),
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
            Some(_) => drop(self.failures.remove(index)),
        }
        Some(failure)
    }

    fn take_delay(&mut self, endpoint: Endpoint) -> Option<Duration> {
        let index = self
            .delays
            .iter()
            .position(|(queued, _)| *queued == endpoint)?;
        Some(self.delays.remove(index).1)
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
        ("POST", APPLICATIONS) => Endpoint::Applications,
        ("GET", APPLICATION) => Endpoint::Application,
        ("GET", EVENTS) => Endpoint::Events,
        ("GET", SESSION) => Endpoint::Session,
        ("POST", _) => match path.strip_prefix(SESSION) {
            Some("/renegotiations") => Endpoint::Renegotiations,
            Some("/resumeAudio") => Endpoint::ResumeAudio,
            Some("/resumeAudioVideo") => Endpoint::ResumeAudioVideo,
            _ => return route_entity(method, path),
        },
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
        let format = asked_format(request);
        let Some((endpoint, id)) = route(request.method.as_str(), request.url.path()) else {
            return error(404, "NotFound", None, "no such resource on the fake server")
                .render(format);
        };
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            == Some(format!("Bearer {}", self.token).as_str());
        if !authorized {
            return self.unauthorized().render(format);
        }

        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(failure) = state.take_failure(endpoint) {
            return failure_reply(&failure).render(format);
        }
        let delay = state.take_delay(endpoint);
        let reply = answer(&mut state, endpoint, id, request);
        match delay {
            Some(delay) => reply.delay(delay),
            None => reply,
        }
        .render(format)
    }
}

/// The normal answer of an endpoint.
fn answer(state: &mut State, endpoint: Endpoint, id: Option<u64>, request: &Request) -> Reply {
    let State {
        renegotiations,
        channel,
        hidden_links,
        ..
    } = state;
    match endpoint {
        Endpoint::Applications => create_application(request),
        Endpoint::Application => Reply::resource(200, application()),
        Endpoint::Events => events(channel, request),
        Endpoint::Session => Reply::resource(200, session(hidden_links)),
        Endpoint::Renegotiations | Endpoint::ResumeAudio | Endpoint::ResumeAudioVideo => {
            renegotiations.start(channel, request)
        }
        Endpoint::Renegotiation => renegotiations.get(id),
        Endpoint::Answer => renegotiations.answer(channel, id, request),
        Endpoint::Dismiss => renegotiations.dismiss(channel, id, request),
    }
}

impl Router {
    fn unauthorized(&self) -> Reply {
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
        .header("WWW-Authenticate", oauth)
        .header(
            "WWW-Authenticate",
            "Bearer trusted_issuers=\"00000001-0000-0000-c000-000000000000@*\", \
                 client_id=\"00000004-0000-0ff1-ce00-000000000000\"",
        )
    }
}

fn events(channel: &mut FakeChannel, request: &Request) -> Reply {
    let query = |name: &str| {
        request
            .url
            .query_pairs()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.parse::<u64>().ok())
    };
    let Some(ack) = query("ack") else {
        return error(
            400,
            "BadRequest",
            Some("ParameterValidationFailure"),
            "ack is required",
        );
    };
    let reply = channel.reply(EVENTS, ack);
    let response = Reply::new(200, Body::Events(reply.body));
    if reply.idle {
        // A real server holds an idle pending GET until its `timeout`; the fake keeps it short.
        let held = query("timeout")
            .map(Duration::from_secs)
            .map_or(channel.idle_delay, |asked| asked.min(channel.idle_delay));
        response.delay(held)
    } else {
        response
    }
}

fn create_application(request: &Request) -> Reply {
    let input = match input_properties(header(request, "content-type"), &request.body) {
        Ok(input) => input,
        Err(message) => return error(400, "BadRequest", None, message),
    };
    for field in ["userAgent", "endpointId", "culture"] {
        let valid = input
            .get(field)
            .and_then(Value::as_str)
            .is_some_and(|value| (1..=100).contains(&value.chars().count()));
        if !valid {
            return error(
                400,
                "BadRequest",
                Some("ParameterValidationFailure"),
                &format!("{field} is required and has at most 100 characters"),
            );
        }
    }
    Reply::resource(201, application())
}

/// The properties of a request input, in JSON (an object) or XML (`<input>`).
pub(crate) fn input_properties(
    content_type: &str,
    body: &[u8],
) -> Result<serde_json::Map<String, Value>, &'static str> {
    match Format::from_content_type(content_type) {
        Some(Format::Json) => match serde_json::from_slice(body) {
            Ok(Value::Object(input)) => Ok(input),
            _ => Err("the input is not a json object"),
        },
        Some(Format::Xml) => crate::xml::input_properties(body)
            .map(|pairs| {
                pairs
                    .into_iter()
                    .map(|(name, value)| (name, Value::String(value)))
                    .collect()
            })
            .map_err(|_| "the input is not an xml input"),
        None => Err("the input must be application/json or application/xml"),
    }
}

pub(crate) fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

fn failure_reply(failure: &Failure) -> Reply {
    if failure.disconnect {
        return Reply::empty(200).header(DISCONNECT_MARKER, "1");
    }
    let body = match (&failure.raw_body, &failure.code) {
        (Some((content_type, body)), _) => Body::Raw(content_type.clone(), body.to_vec()),
        (None, Some(code)) => Body::Error(failure.error_body(code)),
        (None, None) => Body::None,
    };
    let mut reply = Reply::new(failure.status, body);
    for (name, value) in &failure.headers {
        reply = reply.header(name.as_str(), value.as_str());
    }
    match failure.delay {
        Some(delay) => reply.delay(delay),
        None => reply,
    }
}

pub(crate) fn error(status: u16, code: &str, subcode: Option<&str>, message: &str) -> Reply {
    let mut body = json!({ "code": code, "message": message });
    if let Some(subcode) = subcode {
        body["subcode"] = json!(subcode);
    }
    Reply::new(status, Body::Error(body))
}

pub(crate) fn bytes(request: &Request) -> Bytes {
    Bytes::from(request.body.clone())
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
            "events": { "href": format!("{EVENTS}?ack=1") },
            "batch": { "href": format!("{APPLICATION}/batch") },
            "policies": { "href": format!("{APPLICATION}/policies") },
        },
        "_embedded": {
            "me": {
                "rel": "me",
                "name": "Fake Bot",
                "uri": "sip:bot@fake.ucwa.test",
                "_links": { "self": { "href": format!("{APPLICATION}/me") } },
            },
            "communication": {
                "rel": "communication",
                "supportedModalities": ["Audio", "Video"],
                "_links": {
                    "self": { "href": COMMUNICATION },
                    "conversations": {
                        "href": format!("{COMMUNICATION}/conversations?filter=active")
                    },
                },
            },
        },
    })
}
