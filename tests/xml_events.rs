//! The event channel and applications with a client that speaks XML, each the twin of a JSON
//! test: the channel asks for XML and reads XML batches and XML error bodies.

mod support;
#[path = "support/xml.rs"]
mod xml_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use ucwa::testing::{Endpoint, Failure, FakeUcwa, Received};
use ucwa::{
    Application, ApplicationSpec, ChannelEvent, Client, ErrorKind, ErrorSubcode, Event,
    EventChannel, EventType, Format, OperationStatus, Token, TokenFuture, TokenProvider,
};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use xml_support::{
    UCWA, application, assert_asked_for_xml, assert_requests_asked_for_xml, channel,
    expected_input, next, next_event, tree, xml_client, xml_client_for, xml_reply,
};

const THINGS: &str = "/ucwa/oauth/v1/applications/101/things";
const ME: &str = "/ucwa/oauth/v1/applications/101/me";

/// Queues an `added` event from `me` for each thing in `range`.
fn queue_things(server: &FakeUcwa, range: std::ops::Range<usize>) {
    for i in range {
        let link = json!({ "rel": "thing", "href": format!("{THINGS}/{i}") });
        server.queue_event("me", ME, json!({ "link": link, "type": "added" }));
    }
}

/// The number that ends a thing's href.
fn thing_number(event: &Event) -> usize {
    let number = event.link.href.path().rsplit('/').next();
    number.and_then(|n| n.parse().ok()).expect("a thing")
}

/// Every GET of the event channel, once every request is checked to have asked for XML.
async fn events_gets(server: &FakeUcwa) -> Vec<Received> {
    let received = server.received().await;
    assert_asked_for_xml(&received);
    let events = received
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Events));
    events.collect()
}

/// The `ack` of every GET of the event channel, in order.
async fn acks(server: &FakeUcwa) -> Vec<String> {
    let gets = events_gets(server).await.into_iter();
    gets.map(|r| r.query_param("ack").unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn the_fake_server_answers_an_xml_client_in_xml() {
    let server = FakeUcwa::start().await;
    queue_things(&server, 0..1);
    let response = reqwest::Client::new()
        .get(server.events_url())
        .header("authorization", format!("Bearer {}", server.token()))
        .header("accept", "application/xml")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/xml");
    let body = response.bytes().await.unwrap();
    assert_eq!(tree(&body).name, "events");
    let origin = Url::parse(&server.origin()).unwrap();
    let batch = Event::parse_batch_as(&body, Format::Xml, &origin).unwrap();
    assert_eq!(thing_number(&batch.events[0]), 0);
}

#[tokio::test]
async fn xml_create_posts_the_spec_as_an_xml_input_and_reads_links_and_embedded_resources() {
    let server = FakeUcwa::start().await;
    let client = xml_client(&server);
    let spec = ApplicationSpec::new("bot & co <1.0>", "endpoint-7", "en-US");

    let app = Application::create(&client, &server.applications_url(), spec)
        .await
        .unwrap();

    assert!(app.events_link().unwrap().href.ends_with("/events?ack=1"));
    let communication = app.communication().unwrap();
    assert!(communication.links().contains("conversations"));
    assert_eq!(
        communication.property("supportedModalities"),
        Some(&json!(["Audio", "Video"]))
    );
    assert_eq!(app.me().unwrap().property_str("name"), Some("Fake Bot"));
    assert!(app.url().as_str().ends_with("/applications/101"));
    let post = server.received().await.remove(0);
    assert_eq!(post.header("accept"), Some("application/xml"));
    assert_eq!(post.header("content-type"), Some("application/xml"));
    let mut sent = tree(&post.body);
    let mut expected = expected_input(&[
        ("culture", "en-US"),
        ("endpointId", "endpoint-7"),
        ("userAgent", "bot & co <1.0>"),
    ]);
    sent.children
        .sort_by_key(|child| child.attributes["name"].clone());
    expected
        .children
        .sort_by_key(|child| child.attributes["name"].clone());
    assert_eq!(sent, expected);
}

#[tokio::test]
async fn xml_a_spec_field_with_a_control_character_is_never_sent_as_malformed_xml() {
    let server = FakeUcwa::start().await;
    let spec = ApplicationSpec::new("bot\u{1}1.0", "endpoint-7", "en-US");

    let created = Application::create(&xml_client(&server), &server.applications_url(), spec).await;

    let received = server.received().await;
    let allowed = |c: char| !c.is_control() || matches!(c, '\t' | '\n' | '\r');
    let sent = received
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned());
    let malformed: Vec<_> = sent.filter(|body| !body.chars().all(allowed)).collect();
    assert!(
        malformed.is_empty(),
        "sent {malformed:?}, created: {created:?}"
    );
}

#[tokio::test]
async fn xml_an_overlong_spec_field_is_refused_before_sending() {
    let server = FakeUcwa::start().await;
    let spec = ApplicationSpec::new("b".repeat(101), "1", "en-US");
    let error = Application::create(&xml_client(&server), &server.applications_url(), spec)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(server.received().await.is_empty());
}

#[tokio::test]
async fn xml_the_channel_follows_next_links_and_adds_its_tuning_without_touching_ack() {
    let server = FakeUcwa::start().await;
    server.set_batch_limit(2);
    queue_things(&server, 0..5);
    let client = xml_client(&server);
    let mut channel = EventChannel::builder(&application(&server, &client).await)
        .timeout(900)
        .low(600)
        .medium(300)
        .priority(2)
        .start()
        .unwrap();

    for expected in 0..5 {
        assert_eq!(thing_number(&next_event(&mut channel).await), expected);
    }
    channel.close().await;

    let gets = events_gets(&server).await;
    assert!(
        gets.len() >= 3,
        "three replies carry five events two at a time"
    );
    for (i, get) in gets.iter().enumerate() {
        let query = format!("ack={}&timeout=900&low=600&medium=300&priority=2", i + 1);
        assert_eq!(get.query.as_deref(), Some(query.as_str()));
    }
}

#[tokio::test]
async fn xml_tuning_out_of_range_is_refused_at_start() {
    let server = FakeUcwa::start().await;
    let app = application(&server, &xml_client(&server)).await;
    for builder in [
        EventChannel::builder(&app).timeout(179),
        EventChannel::builder(&app).timeout(1801),
        EventChannel::builder(&app).low(4),
        EventChannel::builder(&app).medium(1801),
        EventChannel::builder(&app)
            .timeout(180)
            .read_timeout(Duration::from_secs(180)),
    ] {
        assert_eq!(builder.start().unwrap_err().kind(), ErrorKind::InvalidInput);
    }
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_the_read_timeout_exceeds_the_clients_request_timeout() {
    let server = FakeUcwa::start().await;
    server.set_idle_delay(Duration::from_secs(1));
    let client = server
        .client_builder()
        .format(Format::Xml)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let app = application(&server, &client).await;
    let mut channel = EventChannel::builder(&app)
        .max_failures(Some(1))
        .start()
        .unwrap();

    tokio::time::sleep(Duration::from_millis(500)).await;
    queue_things(&server, 0..1);

    assert_eq!(thing_number(&next_event(&mut channel).await), 0);
    assert!(!acks(&server).await.is_empty());
}

#[tokio::test]
async fn xml_the_next_get_is_sent_before_the_events_are_read() {
    let server = FakeUcwa::start().await;
    queue_things(&server, 0..3);
    let client = xml_client(&server);
    let app = application(&server, &client).await;
    let mut channel = EventChannel::builder(&app).buffer(1).start().unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !acks(&server).await.contains(&"2".to_owned()) {
        assert!(tokio::time::Instant::now() < deadline, "no second GET");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    for expected in 0..3 {
        assert_eq!(thing_number(&next_event(&mut channel).await), expected);
    }
}

#[tokio::test]
async fn xml_resume_and_resync_are_items_of_their_own_in_their_place() {
    let server = FakeUcwa::start().await;
    queue_things(&server, 0..2);
    server.queue_resume();
    queue_things(&server, 2..3);
    server.queue_resync();
    queue_things(&server, 3..4);
    let mut channel = channel(&server, &xml_client(&server)).await;

    let mut seen = Vec::new();
    while seen.len() < 6 {
        seen.push(match next(&mut channel).await.unwrap().unwrap() {
            ChannelEvent::Event(event) => thing_number(&event).to_string(),
            ChannelEvent::Resumed { .. } => "resumed".to_owned(),
            ChannelEvent::Resynced { .. } => "resynced".to_owned(),
            other => panic!("unexpected {other:?}"),
        });
    }

    assert_eq!(seen, ["0", "1", "resumed", "2", "resynced", "3"]);
    assert!(!acks(&server).await.is_empty());
}

#[tokio::test]
async fn xml_a_thousand_events_arrive_in_order_exactly_once_through_random_faults() {
    let server = FakeUcwa::start().await;
    let total = 1000;
    queue_things(&server, 0..total);
    let client = xml_client(&server);
    let mut channel = EventChannel::builder(&application(&server, &client).await)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
        .read_timeout(Duration::from_millis(150))
        .max_failures(None)
        .start()
        .unwrap();

    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut faults = 0;
    let mut received = Vec::with_capacity(total);
    while received.len() < total {
        received.push(thing_number(&next_event(&mut channel).await));
        if rng.u8(..) < 40 {
            faults += 1;
            server.set_batch_limit(rng.usize(1..=25));
            let failure = match rng.u8(..4) {
                0 => Failure::new(500).code("ServiceFailure"),
                1 => Failure::new(503)
                    .code("ServiceUnavailable")
                    .header("Retry-After", "0"),
                2 => Failure::disconnect(),
                _ => Failure::new(200).delay(Duration::from_secs(1)),
            };
            server.fail(Endpoint::Events, failure);
        }
    }
    channel.close().await;

    assert_eq!(received, (0..total).collect::<Vec<_>>());
    assert!(faults > 50, "{faults} faults injected");
    let acks = acks(&server).await;
    let distinct: std::collections::BTreeSet<_> = acks.iter().collect();
    assert!(acks.len() > distinct.len(), "failed GETs were repeated");
}

#[tokio::test]
async fn xml_a_transport_error_is_retried_against_the_same_href() {
    let server = FakeUcwa::start().await;
    server.fail(Endpoint::Events, Failure::disconnect().times(2));
    queue_things(&server, 0..1);
    let mut channel = channel(&server, &xml_client(&server)).await;

    assert_eq!(thing_number(&next_event(&mut channel).await), 0);
    assert_eq!(acks(&server).await[..3], ["1", "1", "1"]);
}

#[tokio::test]
async fn xml_pget_replaced_ends_the_stream_with_its_kind() {
    let server = FakeUcwa::start().await;
    let failure = Failure::new(409).code("Conflict").subcode("PGetReplaced");
    server.fail(Endpoint::Events, failure);
    let mut channel = channel(&server, &xml_client(&server)).await;

    let error = next(&mut channel).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::EventChannelReplaced);
    assert_eq!(
        error.service().unwrap().subcode,
        Some(ErrorSubcode::PGetReplaced)
    );
    assert!(next(&mut channel).await.is_none(), "the stream ends");
    assert!(!channel.is_running());
    assert_eq!(acks(&server).await.len(), 1, "no retry after a replacement");
}

#[tokio::test]
async fn xml_application_not_found_ends_the_stream_with_its_kind() {
    let server = FakeUcwa::start().await;
    queue_things(&server, 0..1);
    let mut channel = channel(&server, &xml_client(&server)).await;
    assert_eq!(thing_number(&next_event(&mut channel).await), 0);

    let failure = Failure::new(404)
        .code("NotFound")
        .subcode("ApplicationNotFound");
    server.fail(Endpoint::Events, failure);

    let error = next(&mut channel).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ApplicationNotFound);
    assert!(next(&mut channel).await.is_none());
    assert!(acks(&server).await.len() >= 2);
}

/// Hands out the fake server's token and counts how often it was asked.
struct Counting {
    token: String,
    calls: Arc<AtomicUsize>,
}

impl TokenProvider for Counting {
    fn token(&self) -> TokenFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let token = Token::new(self.token.clone());
        Box::pin(async move { Ok(token) })
    }
}

#[tokio::test]
async fn xml_one_401_asks_the_token_provider_again_and_the_channel_goes_on() {
    let server = FakeUcwa::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let provider = Counting {
        token: server.token().to_owned(),
        calls: Arc::clone(&calls),
    };
    let client = Client::builder()
        .origin(server.origin())
        .allow_http(true)
        .format(Format::Xml)
        .token_provider(provider)
        .build()
        .unwrap();
    let app = application(&server, &client).await;
    server.fail(Endpoint::Events, Failure::new(401).code("Unauthorized"));
    queue_things(&server, 0..1);
    let before = calls.load(Ordering::SeqCst);

    let mut channel = EventChannel::builder(&app).start().unwrap();
    assert_eq!(thing_number(&next_event(&mut channel).await), 0);

    assert!(calls.load(Ordering::SeqCst) >= before + 2, "asked again");
    assert_eq!(acks(&server).await[..2], ["1", "1"]);
}

#[tokio::test]
async fn xml_a_second_401_ends_the_stream_as_unauthorized() {
    let server = FakeUcwa::start().await;
    let failure = Failure::new(401).code("Unauthorized").times(2);
    server.fail(Endpoint::Events, failure);
    let mut channel = channel(&server, &xml_client(&server)).await;

    let error = next(&mut channel).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert!(next(&mut channel).await.is_none());
    assert_eq!(acks(&server).await.len(), 2);
}

#[tokio::test]
async fn xml_retryable_faults_end_the_stream_after_the_configured_count() {
    let server = FakeUcwa::start().await;
    let failure = Failure::new(503).code("ServiceUnavailable").always();
    server.fail(Endpoint::Events, failure);
    let client = xml_client(&server);
    let mut channel = EventChannel::builder(&application(&server, &client).await)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .max_failures(Some(3))
        .start()
        .unwrap();

    let error = next(&mut channel).await.unwrap().unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(
        error.service().unwrap().code,
        Some(ucwa::ErrorCode::ServiceUnavailable)
    );
    assert!(next(&mut channel).await.is_none());
    assert_eq!(acks(&server).await, ["1", "1", "1"]);
}

#[tokio::test]
async fn xml_close_and_drop_leave_no_task_polling() {
    let server = FakeUcwa::start().await;
    let client = xml_client(&server);

    let closed = channel(&server, &client).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    closed.close().await;
    let after_close = acks(&server).await.len();

    let dropped = channel(&server, &client).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    drop(dropped);
    tokio::task::yield_now().await;
    let after_drop = acks(&server).await.len();

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(after_close >= 1);
    assert_eq!(acks(&server).await.len(), after_drop, "nothing polls");
}

#[tokio::test]
async fn xml_events_carry_their_sender_link_type_in_status_reason_and_resource() {
    let server = FakeUcwa::start().await;
    let presence =
        json!({ "rel": "presence", "href": format!("{ME}/presence"), "title": "Presence" });
    server.queue_event(
        "me",
        ME,
        json!({ "link": presence, "in": { "rel": "me", "href": ME }, "type": "added",
                "_embedded": { "presence": { "availability": "Online" } } }),
    );
    server.queue_event(
        "communication",
        "/ucwa/oauth/v1/applications/101/communication",
        json!({ "link": { "rel": "operation", "href": "/ops/1" }, "type": "completed",
                "status": "Failure",
                "reason": { "code": "Gone", "subcode": "CallTerminated", "message": "bye" } }),
    );
    let moved = json!({ "link": { "rel": "note", "href": "/n" }, "type": "moved" });
    server.queue_event("me", ME, moved);
    let mut channel = channel(&server, &xml_client(&server)).await;

    let added = next_event(&mut channel).await;
    assert_eq!(added.sender.rel, "me");
    assert_eq!(
        added.sender.href.as_str(),
        format!("{}{ME}", server.origin())
    );
    assert_eq!(added.event_type, EventType::Added);
    assert_eq!(added.link.title.as_deref(), Some("Presence"));
    assert_eq!(added.in_link.as_ref().unwrap().rel, "me");
    let presence = added.resource.as_ref().unwrap();
    assert_eq!(presence.property_str("availability"), Some("Online"));

    let completed = next_event(&mut channel).await;
    assert_eq!(completed.event_type, EventType::Completed);
    assert_eq!(completed.status, Some(OperationStatus::Failure));
    let reason = completed.reason.as_ref().unwrap();
    assert_eq!(reason.code, Some(ucwa::ErrorCode::Gone));
    assert_eq!(reason.subcode, Some(ErrorSubcode::CallTerminated));
    assert_eq!(reason.message.as_deref(), Some("bye"));
    assert!(completed.link.href.as_str().starts_with(&server.origin()));

    let unknown = next_event(&mut channel).await;
    assert_eq!(unknown.event_type, EventType::Other("moved".to_owned()));
    assert!(!acks(&server).await.is_empty());
}

#[tokio::test]
async fn xml_a_channel_on_another_origin_is_refused_unsent() {
    let server = FakeUcwa::start().await;
    let other = FakeUcwa::start().await;
    let error = EventChannel::builder_for_url(&xml_client(&server), &other.events_url())
        .start()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CrossOrigin);
    assert!(other.received().await.is_empty());
}

#[tokio::test]
async fn xml_an_application_reply_gives_links_and_embedded_resources() {
    let app_path = "/ucwa/oauth/v1/applications/105";
    let me = r#"<resource rel="me"><property name="name">Lene Aaling</property></resource>"#;
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><resource rel="application" href="{app_path}" xmlns="{UCWA}">
        <link rel="events" href="{app_path}/events?ack=1"/><property name="culture">en-US</property>
        {me}<resource rel="communication" href="{app_path}/communication">
        <link rel="conversations" href="{app_path}/communication/conversations?filter=active"/>
        <property name="etag">3140562359</property><propertyList name="supportedModalities"/>
        </resource><resource rel="onlineMeetings" href="{app_path}/onlineMeetings">
        <link rel="myOnlineMeetings" href="{app_path}/onlineMeetings/myOnlineMeetings"/></resource></resource>"#
    );
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ucwa/oauth/v1/applications"))
        .respond_with(xml_reply(201, body))
        .mount(&server)
        .await;

    let spec = ApplicationSpec::new("UCWA Samples", "123456", "en-US");
    let applications = format!("{}/ucwa/oauth/v1/applications", server.uri());
    let app = Application::create(&xml_client_for(&server.uri()), &applications, spec)
        .await
        .unwrap();

    assert_eq!(
        app.events_link().unwrap().href,
        format!("{app_path}/events?ack=1")
    );
    assert_eq!(app.url().path(), app_path);
    assert_eq!(app.me().unwrap().property_str("name"), Some("Lene Aaling"));
    let communication = app.communication().unwrap();
    assert_eq!(communication.property_str("etag"), Some("3140562359"));
    assert_eq!(
        communication.property("supportedModalities"),
        Some(&json!([]))
    );
    let meetings = app.embedded("onlineMeetings").unwrap();
    assert!(meetings.links().contains("myOnlineMeetings"));
    let post = support::requests(&server).await.remove(0);
    assert_requests_asked_for_xml(std::slice::from_ref(&post));
    assert_eq!(post.headers["content-type"], "application/xml");
    let sent = tree(&post.body);
    assert_eq!(
        (sent.namespace.as_deref(), sent.name.as_str()),
        (Some(UCWA), "input")
    );
    let mut properties = sent.properties();
    properties.sort();
    let expected = [
        ("culture", "en-US"),
        ("endpointId", "123456"),
        ("userAgent", "UCWA Samples"),
    ];
    let expected: Vec<_> = expected.map(|(n, v)| (n.to_owned(), v.to_owned())).into();
    assert_eq!(properties, expected);
}

#[tokio::test]
async fn xml_an_application_not_found_body_ends_the_event_channel() {
    let message =
        "An error occurred. Please retry. If the problem persists, contact your support team.";
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><reason xmlns="{UCWA}"><code>NotFound</code><subcode>ApplicationNotFound</subcode><message>{message}</message></reason>"#
    );
    let server = MockServer::start().await;
    let events = "/ucwa/oauth/v1/applications/105/events";
    Mock::given(method("GET"))
        .and(path(events))
        .respond_with(xml_reply(404, body))
        .mount(&server)
        .await;
    let client = xml_client_for(&server.uri());
    let url = format!("{}{events}?ack=1", server.uri());

    let mut channel = EventChannel::builder_for_url(&client, &url)
        .start()
        .unwrap();
    let error = next(&mut channel).await.unwrap().unwrap_err();

    assert_eq!(error.kind(), ErrorKind::ApplicationNotFound);
    assert_eq!(error.service().unwrap().message.as_deref(), Some(message));
    assert_requests_asked_for_xml(&support::requests(&server).await);
}
