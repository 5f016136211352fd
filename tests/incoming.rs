//! Renegotiations on the event channel: incoming ones to answer, and outgoing ones awaited to
//! completion; and the one event parser, on channel replies and webhook bodies alike.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{
    Application, ChannelEvent, Client, DeclineReason, Direction, ErrorKind, Event, EventChannel,
    EventType, IncomingRenegotiation, OperationId, RenegotiationMedia,
};
use url::Url;

const OFFER: &str = "v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\ns=far end\r\nt=0 0\r\n";
const ANSWER: &str = "v=0\r\no=- 8 1 IN IP4 127.0.0.1\r\ns=bot\r\nt=0 0\r\na=x-bot:1\r\n";
const SESSION: &str =
    "/ucwa/oauth/v1/applications/101/communication/conversations/1/audioVideo/audioVideoSession";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text
        .find('{')
        .unwrap_or_else(|| panic!("{name} has no json"));
    text.as_bytes()[start..].to_vec()
}

fn origin() -> Url {
    Url::parse("https://fe1.contoso.com/").unwrap()
}

async fn start(server: &FakeUcwa) -> (Client, EventChannel) {
    let client = server.client_builder().build().unwrap();
    let app = Application::from_url(&client, &server.application_url())
        .await
        .unwrap();
    let channel = EventChannel::builder(&app)
        .read_timeout(Duration::from_secs(5))
        .start()
        .unwrap();
    (client, channel)
}

async fn next_event(channel: &mut EventChannel) -> Event {
    let item = tokio::time::timeout(Duration::from_secs(10), channel.next())
        .await
        .expect("the channel produced nothing for 10 s");
    match item {
        Some(Ok(ChannelEvent::Event(event))) => *event,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[test]
fn the_reference_event_batch_parses_in_order() {
    let batch = Event::parse_batch(&fixture("events.json"), &origin()).unwrap();

    let summary: Vec<_> = batch
        .events
        .iter()
        .map(|e| {
            (
                e.sender.rel.as_str(),
                e.event_type.as_str(),
                e.link.rel.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("communication", "updated", "communication"),
            ("me", "updated", "me"),
            ("me", "added", "presence"),
            ("me", "added", "note"),
            ("me", "added", "location"),
        ]
    );
    let communication = batch.events[0].resource.as_ref().unwrap();
    assert_eq!(
        communication.property_str("56de7bbf-1081-43e6-bbf2-1cabf3224c83"),
        Some("please pass this in a PUT request")
    );
    assert_eq!(
        batch.next.unwrap().as_str(),
        "https://fe1.contoso.com/ucwa/oauth/v1/applications/102/events?ack=2"
    );
    assert_eq!(
        batch.events[2].link.href.as_str(),
        "https://fe1.contoso.com/ucwa/oauth/v1/applications/102/me/presence"
    );
}

#[test]
fn an_operation_event_carries_its_operation_id() {
    let batch = Event::parse_batch(&fixture("operation.started.event.http"), &origin()).unwrap();

    let event = &batch.events[0];
    assert_eq!(event.event_type, EventType::Started);
    assert_eq!(event.operation_id(), Some("123"));
    assert_eq!(event.link.rel, "onlineMeetingInvitation");
}

#[test]
fn a_webhook_body_resolves_against_its_baseuri() {
    let body = json!({
        "baseuri": "https://webpoolbl20r04.infra.lync.com",
        "sender": [{
            "rel": "communication",
            "href": "/platformservice/v1/applications/1/communication",
            "events": [{
                "link": { "rel": "audioVideoRenegotiation", "href": "/r/1" },
                "type": "started"
            }]
        }]
    });

    let batch = Event::parse_batch(body.to_string().as_bytes(), &origin()).unwrap();

    assert_eq!(
        batch.events[0].link.href.as_str(),
        "https://webpoolbl20r04.infra.lync.com/r/1"
    );
    assert!(batch.follow.is_none(), "a webhook body has no next link");
}

#[tokio::test]
async fn the_reference_started_event_is_an_incoming_renegotiation_of_its_own_origin() {
    let batch = Event::parse_batch(
        &fixture("audioVideoRenegotiation.started.event.json"),
        &origin(),
    )
    .unwrap();
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();

    let incoming = IncomingRenegotiation::from_event(&client, &batch.events[0]).unwrap();
    assert_eq!(incoming.media(), RenegotiationMedia::AudioVideo);
    assert_eq!(incoming.operation_id(), None);

    // The sample's link is on fe1.contoso.com, not this client's origin: nothing is fetched.
    let error = incoming.renegotiation().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CrossOrigin);
    assert!(server.received().await.is_empty());
}

#[tokio::test]
async fn an_incoming_renegotiation_without_an_embedded_entity_is_fetched_and_answered() {
    let server = FakeUcwa::start().await;
    let (client, mut channel) = start(&server).await;
    let path = server.incoming_renegotiation("far-1", OFFER, false);

    let event = next_event(&mut channel).await;
    let incoming = IncomingRenegotiation::from_event(&client, &event).unwrap();
    let renegotiation = incoming.renegotiation().await.unwrap();
    renegotiation.answer_with(ANSWER).await.unwrap();

    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("far-1"));
    assert_eq!(
        renegotiation.media_offer().unwrap().unwrap(),
        OFFER.as_bytes()
    );
    assert_eq!(server.last_answer_sdp().unwrap(), ANSWER.as_bytes());
    let fetched = server
        .received()
        .await
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Renegotiation))
        .count();
    assert_eq!(fetched, 1, "one GET of {path}");

    let completed = next_event(&mut channel).await;
    assert_eq!(completed.event_type, EventType::Completed);
    assert_eq!(completed.status, Some(ucwa::OperationStatus::Success));
}

#[tokio::test]
async fn an_embedded_incoming_renegotiation_is_dismissed_without_a_get() {
    let server = FakeUcwa::start().await;
    let (client, mut channel) = start(&server).await;
    server.incoming_renegotiation("far-2", OFFER, true);

    let event = next_event(&mut channel).await;
    let incoming = IncomingRenegotiation::from_event(&client, &event).unwrap();
    assert_eq!(incoming.operation_id(), Some("far-2"));
    incoming
        .renegotiation()
        .await
        .unwrap()
        .dismiss(Some(DeclineReason::UnsupportedMedia))
        .await
        .unwrap();

    let endpoints: Vec<_> = server
        .received()
        .await
        .into_iter()
        .filter_map(|r| r.endpoint)
        .filter(|e| *e != Endpoint::Events)
        .collect();
    assert_eq!(endpoints, [Endpoint::Application, Endpoint::Dismiss]);
    let completed = next_event(&mut channel).await;
    assert_eq!(completed.status, Some(ucwa::OperationStatus::Failure));
}

#[tokio::test]
async fn only_started_renegotiation_events_are_incoming_renegotiations() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let body = |rel: &str, kind: &str| {
        json!({ "sender": [{ "rel": "communication", "href": "/c", "events": [
            { "link": { "rel": rel, "href": "/r" }, "type": kind }
        ]}]})
        .to_string()
    };
    let origin = Url::parse(&server.origin()).unwrap();
    let event = |rel: &str, kind: &str| {
        Event::parse_batch(body(rel, kind).as_bytes(), &origin)
            .unwrap()
            .events
            .remove(0)
    };

    let sharing = IncomingRenegotiation::from_event(
        &client,
        &event("applicationSharingRenegotiation", "started"),
    )
    .unwrap();
    assert_eq!(sharing.media(), RenegotiationMedia::ApplicationSharing);
    for (rel, kind) in [
        ("audioVideoRenegotiation", "completed"),
        ("audioVideoRenegotiation", "updated"),
        ("audioVideoSession", "started"),
    ] {
        assert!(IncomingRenegotiation::from_event(&client, &event(rel, kind)).is_none());
    }
}

#[tokio::test]
async fn wait_completed_sees_a_completion_that_arrived_before_the_201() {
    let server = FakeUcwa::builder().auto_complete(true).start().await;
    let (client, mut channel) = start(&server).await;
    // The 201 waits while the started and completed events are served on the channel.
    server.delay(Endpoint::Renegotiations, Duration::from_millis(600));
    let session = client.session(&server.session_url()).unwrap();

    let renegotiation = session
        .renegotiate(OFFER)
        .operation_id(OperationId::new("early-1").unwrap())
        .wait_completed(&channel, Duration::from_secs(10))
        .await
        .unwrap();

    assert_eq!(renegotiation.operation_id(), Some("early-1"));
    let started = next_event(&mut channel).await;
    let completed = next_event(&mut channel).await;
    assert_eq!(started.event_type, EventType::Started);
    assert_eq!(completed.event_type, EventType::Completed);
    assert_eq!(completed.operation_id(), Some("early-1"));
}

#[tokio::test]
async fn wait_completed_turns_a_failure_reason_into_a_typed_error() {
    let server = FakeUcwa::start().await;
    let (client, channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    for (subcode, kind) in [
        ("MediaNegotiationFailure", ErrorKind::OperationFailed),
        ("AlreadyExists", ErrorKind::RenegotiationInProgress),
    ] {
        let id = format!("fail-{subcode}");
        let fail = async {
            while !server.has_pending_renegotiation() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let reason = Failure::new(409)
                .code("Conflict")
                .subcode(subcode)
                .message("no");
            assert!(server.complete_renegotiation(&id, Some(reason)));
        };
        let wait = session
            .renegotiate(OFFER)
            .operation_id(OperationId::new(id.as_str()).unwrap())
            .wait_completed(&channel, Duration::from_secs(10));

        let (result, ()) = tokio::join!(wait, fail);

        let error = result.unwrap_err();
        assert_eq!(error.kind(), kind, "{subcode}");
        assert!(error.to_string().contains(&id), "{error}");
    }
}

#[tokio::test]
async fn wait_completed_matches_an_event_without_an_embedded_entity_by_its_href() {
    let server = FakeUcwa::start().await;
    let (client, channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    let complete = async {
        while !server.has_pending_renegotiation() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A bare completion naming only the entity's URL.
        server.queue_event(
            "communication",
            "/ucwa/oauth/v1/applications/101/communication",
            json!({
                "link": {
                    "rel": "audioVideoRenegotiation",
                    "href": format!("{SESSION}/renegotiations/1")
                },
                "type": "completed",
                "status": "Success"
            }),
        );
    };
    let wait = session
        .renegotiate(OFFER)
        .wait_completed(&channel, Duration::from_secs(10));

    let (result, ()) = tokio::join!(wait, complete);

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn wait_completed_times_out_when_nothing_completes() {
    let server = FakeUcwa::start().await;
    let (client, channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    let error = session
        .renegotiate(OFFER)
        .wait_completed(&channel, Duration::from_millis(300))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn wait_completed_reports_a_channel_that_ended() {
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Events,
        Failure::new(409).code("Conflict").subcode("PGetReplaced"),
    );
    let (client, channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    let error = session
        .renegotiate(OFFER)
        .wait_completed(&channel, Duration::from_secs(10))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::ChannelClosed);
}

#[tokio::test]
async fn a_started_event_of_this_sides_own_renegotiation_is_not_incoming() {
    let server = FakeUcwa::start().await;
    let (client, mut channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    session.renegotiate(OFFER).await.unwrap();
    let started = next_event(&mut channel).await;

    assert_eq!(started.event_type, EventType::Started);
    assert!(IncomingRenegotiation::from_event(&client, &started).is_none());
}
