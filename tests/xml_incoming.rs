//! Incoming renegotiations and event batches with a client that speaks XML, each the twin of a
//! JSON test: XML event batches give the same events as JSON ones.

mod support;
#[path = "support/xml.rs"]
mod xml_support;

use std::time::Duration;

use serde_json::json;
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{
    Client, DeclineReason, Direction, ErrorKind, Event, EventChannel, EventType,
    IncomingRenegotiation, OperationId, OperationStatus, RenegotiationMedia,
};
use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};

use xml_support::{
    UCWA, application, assert_asked_for_xml, assert_requests_asked_for_xml, expected_input,
    json_fixture, next_event, tree, xml_client, xml_client_for, xml_fixture, xml_reply,
};

const OFFER: &str = "v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\ns=far end\r\nt=0 0\r\n";
const EVENTS_102: &str = "/ucwa/oauth/v1/applications/102/events";

/// An XML event batch with these attributes and links, and one sender with these events.
fn batch_xml(attributes: &str, links: &str, sender: &str, events: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><events {attributes} xmlns="{UCWA}">{links}
        <sender rel="communication" href="{sender}">{events}</sender></events>"#
    )
}

/// Parses an event batch from bytes, as a webhook body is.
fn parse(body: &str, origin: &str) -> ucwa::EventBatch {
    Event::parse_batch(body.as_bytes(), &Url::parse(origin).unwrap()).unwrap()
}

/// Serves `body` as the XML reply to `events?ack=1` and reads `count` events from a channel.
async fn served_events(body: String, count: usize) -> (MockServer, Vec<Event>) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(EVENTS_102))
        .and(query_param("ack", "1"))
        .respond_with(xml_reply(200, body))
        .mount(&server)
        .await;
    let client = xml_client_for(&server.uri());
    let url = format!("{}{EVENTS_102}?ack=1", server.uri());
    let mut channel = EventChannel::builder_for_url(&client, &url)
        .start()
        .unwrap();
    let mut events = Vec::new();
    for _ in 0..count {
        events.push(next_event(&mut channel).await);
    }
    channel.close().await;
    assert_requests_asked_for_xml(&support::requests(&server).await);
    (server, events)
}

/// An XML client of the fake server and a channel on its application.
async fn start(server: &FakeUcwa) -> (Client, EventChannel) {
    let client = xml_client(server);
    let app = application(server, &client).await;
    let channel = EventChannel::builder(&app)
        .read_timeout(Duration::from_secs(5))
        .start()
        .unwrap();
    (client, channel)
}

#[tokio::test]
async fn xml_the_reference_event_batch_gives_the_same_events_as_the_json_one() {
    let xml = xml_fixture("events.xml");
    let (server, events) = served_events(xml.clone(), 5).await;

    let json = parse(&json_fixture("events.json"), &server.uri());
    assert_eq!(
        events, json.events,
        "the channel hands out the json sample's events"
    );
    let offline = parse(&xml, "https://fe1.contoso.com/");
    assert_eq!(
        offline,
        parse(&json_fixture("events.json"), "https://fe1.contoso.com/")
    );
    let summary: Vec<_> = events
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
    let communication = events[0].resource.as_ref().unwrap();
    assert_eq!(
        communication.property_str("56de7bbf-1081-43e6-bbf2-1cabf3224c83"),
        Some("please pass this in a PUT request")
    );
    assert_eq!(
        communication.property("supportedModalities"),
        Some(&json!(["Messaging"]))
    );
    assert_eq!(communication.property_str("etag"), Some("2943169141"));
    assert!(communication.links().contains("startOnlineMeeting"));
    let next = offline.next.unwrap();
    assert_eq!(
        next.as_str(),
        "https://fe1.contoso.com/ucwa/oauth/v1/applications/102/events?ack=2"
    );
}

#[tokio::test]
async fn xml_an_operation_event_carries_its_operation_id() {
    let invitation = "/ucwa/v1/applications/23/communication/onlineMeetingInvitations/i1";
    let events = format!(
        r#"<started rel="onlineMeetingInvitation" href="{invitation}">
        <resource rel="onlineMeetingInvitation" href="{invitation}">
        <link rel="conversation" href="/ucwa/v1/applications/23/communication/conversations/c1"/>
        <property name="direction">Outgoing</property><property name="operationId">123</property>
        <property name="state">Connecting</property></resource></started>"#
    );
    let next = r#"<link rel="next" href="/ucwa/v1/applications/23/events?ack=2"/>"#;
    let body = batch_xml("", next, "/ucwa/v1/applications/23/communication", &events);
    let (_server, events) = served_events(body, 1).await;

    let event = &events[0];
    assert_eq!(event.event_type, EventType::Started);
    assert_eq!(event.operation_id(), Some("123"));
    assert_eq!(event.link.rel, "onlineMeetingInvitation");
    let resource = event.resource.as_ref().unwrap();
    assert_eq!(resource.self_link().unwrap().href, invitation);
}

#[tokio::test]
async fn xml_a_webhook_body_resolves_against_its_baseuri() {
    let started = r#"<started rel="audioVideoRenegotiation" href="/r/1"/>"#;
    let body = batch_xml(
        r#"baseuri="https://webpoolbl20r04.infra.lync.com""#,
        "",
        "/platformservice/v1/applications/1/communication",
        started,
    );

    let batch = parse(&body, "https://fe1.contoso.com/");

    assert_eq!(
        batch.events[0].link.href.as_str(),
        "https://webpoolbl20r04.infra.lync.com/r/1"
    );
    assert_eq!(
        batch.events[0].sender.href.host_str(),
        Some("webpoolbl20r04.infra.lync.com")
    );
    assert!(batch.follow.is_none(), "a webhook body has no next link");
}

#[tokio::test]
async fn xml_a_started_event_is_an_incoming_renegotiation_of_its_own_origin() {
    let events = r#"<started rel="audioVideoRenegotiation" href="https://fe1.contoso.com:443/ucwa/v1/applications/192/communication/conversations/137/audioVideo/audioVideoSession/renegotiations/audioVideoRenegotiation"/>"#;
    let body = batch_xml(
        r#"href="http://sample:80/ucwa/v1/applications/appId/events?ack=1""#,
        r#"<link rel="next" href="http://sample:80/ucwa/v1/applications/appId/events?ack=2"/>"#,
        "https://fe1.contoso.com:443/ucwa/v1/applications/192/communication",
        events,
    );
    let batch = parse(&body, "https://fe1.contoso.com/");
    let server = FakeUcwa::start().await;

    let incoming = IncomingRenegotiation::from_event(&xml_client(&server), &batch.events[0]);
    let incoming = incoming.unwrap();
    assert_eq!(incoming.media(), RenegotiationMedia::AudioVideo);
    assert_eq!(incoming.operation_id(), None);
    let error = incoming.renegotiation().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CrossOrigin);
    assert!(server.received().await.is_empty());
}

#[tokio::test]
async fn xml_an_incoming_renegotiation_without_an_embedded_entity_is_fetched_and_answered() {
    let server = FakeUcwa::start().await;
    let (client, mut channel) = start(&server).await;
    server.incoming_renegotiation("far-1", OFFER, false);

    let event = next_event(&mut channel).await;
    assert!(event.resource.is_none());
    let incoming = IncomingRenegotiation::from_event(&client, &event).unwrap();
    let renegotiation = incoming.renegotiation().await.unwrap();
    let answer = "v=0\r\no=- 8 1 IN IP4 127.0.0.1\r\ns=bot\r\nt=0 0\r\n";
    renegotiation.answer_with(answer).await.unwrap();

    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("far-1"));
    assert_eq!(
        renegotiation.media_offer().unwrap().unwrap(),
        OFFER.as_bytes()
    );
    assert_eq!(server.last_answer_sdp().unwrap(), answer.as_bytes());
    let received = server.received().await;
    assert_asked_for_xml(&received);
    let fetched = received
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::Renegotiation));
    assert_eq!(fetched.count(), 1);

    let completed = next_event(&mut channel).await;
    assert_eq!(completed.event_type, EventType::Completed);
    assert_eq!(completed.status, Some(OperationStatus::Success));
}

#[tokio::test]
async fn xml_an_embedded_incoming_renegotiation_is_dismissed_without_a_get() {
    let server = FakeUcwa::start().await;
    let (client, mut channel) = start(&server).await;
    server.incoming_renegotiation("far-2", OFFER, true);

    let event = next_event(&mut channel).await;
    let incoming = IncomingRenegotiation::from_event(&client, &event).unwrap();
    assert_eq!(incoming.operation_id(), Some("far-2"));
    let renegotiation = incoming.renegotiation().await.unwrap();
    renegotiation
        .dismiss(Some(DeclineReason::UnsupportedMedia))
        .await
        .unwrap();

    let received = server.received().await;
    assert_asked_for_xml(&received);
    let others: Vec<_> = received
        .iter()
        .filter(|r| r.endpoint != Some(Endpoint::Events))
        .collect();
    let endpoints: Vec<_> = others.iter().filter_map(|r| r.endpoint).collect();
    assert_eq!(endpoints, [Endpoint::Application, Endpoint::Dismiss]);
    assert_eq!(others[1].header("content-type"), Some("application/xml"));
    let expected = expected_input(&[("reason", "UnsupportedMedia")]);
    assert_eq!(tree(&others[1].body), expected);
    let completed = next_event(&mut channel).await;
    assert_eq!(completed.status, Some(OperationStatus::Failure));
    assert_eq!(
        completed.reason.unwrap().code,
        Some(ucwa::ErrorCode::Forbidden)
    );
}

#[tokio::test]
async fn xml_only_started_renegotiation_events_are_incoming_renegotiations() {
    let server = FakeUcwa::start().await;
    let client = xml_client(&server);
    let event = |rel: &str, kind: &str| {
        let events = format!(r#"<{kind} rel="{rel}" href="/r"/>"#);
        parse(&batch_xml("", "", "/c", &events), &server.origin())
            .events
            .remove(0)
    };

    let sharing = event("applicationSharingRenegotiation", "started");
    let sharing = IncomingRenegotiation::from_event(&client, &sharing).unwrap();
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
async fn xml_wait_completed_sees_a_completion_that_arrived_before_the_201() {
    let server = FakeUcwa::builder().auto_complete(true).start().await;
    let (client, mut channel) = start(&server).await;
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
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_wait_completed_turns_a_failure_reason_into_a_typed_error() {
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
                .message("the far end said no");
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
        assert!(error.to_string().contains("the far end said no"), "{error}");
    }
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_wait_completed_matches_an_event_without_an_embedded_entity_by_its_href() {
    let server = FakeUcwa::start().await;
    let (client, channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    let complete = async {
        while !server.has_pending_renegotiation() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let href = format!("{}/renegotiations/1", server.session_url());
        server.queue_event(
            "communication",
            "/ucwa/oauth/v1/applications/101/communication",
            json!({ "link": { "rel": "audioVideoRenegotiation", "href": href },
                    "type": "completed", "status": "Success" }),
        );
    };
    let wait = session
        .renegotiate(OFFER)
        .wait_completed(&channel, Duration::from_secs(10));

    let (result, ()) = tokio::join!(wait, complete);

    assert!(result.is_ok(), "{result:?}");
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_wait_completed_times_out_when_nothing_completes() {
    let server = FakeUcwa::start().await;
    let (client, channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    let error = session
        .renegotiate(OFFER)
        .wait_completed(&channel, Duration::from_millis(300))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_wait_completed_reports_a_channel_that_ended() {
    let server = FakeUcwa::start().await;
    let failure = Failure::new(409).code("Conflict").subcode("PGetReplaced");
    server.fail(Endpoint::Events, failure);
    let (client, channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    let error = session
        .renegotiate(OFFER)
        .wait_completed(&channel, Duration::from_secs(10))
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::ChannelClosed);
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_a_started_event_of_this_sides_own_renegotiation_is_not_incoming() {
    let server = FakeUcwa::start().await;
    let (client, mut channel) = start(&server).await;
    let session = client.session(&server.session_url()).unwrap();

    session.renegotiate(OFFER).await.unwrap();
    let started = next_event(&mut channel).await;

    assert_eq!(started.event_type, EventType::Started);
    let embedded = started.resource.as_ref().unwrap();
    assert_eq!(embedded.property_str("direction"), Some("Outgoing"));
    assert!(IncomingRenegotiation::from_event(&client, &started).is_none());
    assert_asked_for_xml(&server.received().await);
}
