//! The event channel over loopback: what it requests, in which order it hands events out, and
//! what each fault does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{
    Application, ApplicationSpec, ChannelEvent, Client, ErrorKind, EventChannel, EventType, Token,
    TokenFuture, TokenProvider,
};

const THINGS: &str = "/ucwa/oauth/v1/applications/101/things";
const ME: &str = "/ucwa/oauth/v1/applications/101/me";

async fn application(server: &FakeUcwa, client: &Client) -> Application {
    Application::from_url(client, &server.application_url())
        .await
        .unwrap()
}

/// A channel tuned for a fast test: short backoff, short read timeout.
async fn channel(server: &FakeUcwa, client: &Client) -> EventChannel {
    EventChannel::builder(&application(server, client).await)
        .backoff(Duration::from_millis(1), Duration::from_millis(10))
        .read_timeout(Duration::from_secs(5))
        .start()
        .unwrap()
}

fn queue_things(server: &FakeUcwa, range: std::ops::Range<usize>) {
    for i in range {
        server.queue_event(
            "me",
            ME,
            json!({ "link": { "rel": "thing", "href": format!("{THINGS}/{i}") }, "type": "added" }),
        );
    }
}

/// The next item, bounded so that a broken channel fails the test instead of hanging it.
async fn next(channel: &mut EventChannel) -> Option<Result<ChannelEvent, ucwa::Error>> {
    tokio::time::timeout(Duration::from_secs(10), channel.next())
        .await
        .expect("the channel produced nothing for 10 s")
}

async fn next_event(channel: &mut EventChannel) -> ucwa::Event {
    match next(channel).await {
        Some(Ok(ChannelEvent::Event(event))) => *event,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn thing_number(event: &ucwa::Event) -> usize {
    event
        .link
        .href
        .path()
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a thing: {}", event.link.href))
}

/// The `ack` of every GET of the event channel the server received, in order.
async fn acks(server: &FakeUcwa) -> Vec<String> {
    server
        .received()
        .await
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Events))
        .map(|r| r.query_param("ack").unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn create_posts_the_spec_and_reads_links_and_embedded_resources() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();

    let app = Application::create(
        &client,
        &server.applications_url(),
        ApplicationSpec::new("bot/1.0", "endpoint-7", "en-US"),
    )
    .await
    .unwrap();

    assert!(app.events_link().unwrap().href.ends_with("/events?ack=1"));
    assert!(
        app.communication()
            .unwrap()
            .links()
            .contains("conversations")
    );
    assert_eq!(app.me().unwrap().property_str("name"), Some("Fake Bot"));
    assert!(app.url().as_str().ends_with("/applications/101"));
    let post = server.received().await.remove(0);
    assert_eq!(post.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(
        body,
        json!({ "userAgent": "bot/1.0", "endpointId": "endpoint-7", "culture": "en-US" })
    );
}

#[tokio::test]
async fn an_overlong_spec_field_is_refused_before_sending() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();

    let spec = ApplicationSpec::new("b".repeat(101), "1", "en-US");
    let error = Application::create(&client, &server.applications_url(), spec)
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(server.received().await.is_empty());
}

#[tokio::test]
async fn the_channel_follows_next_links_and_adds_its_tuning_without_touching_ack() {
    let server = FakeUcwa::start().await;
    server.set_batch_limit(2);
    queue_things(&server, 0..5);
    let client = server.client_builder().build().unwrap();
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

    let gets: Vec<_> = server
        .received()
        .await
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Events))
        .collect();
    assert!(
        gets.len() >= 3,
        "three replies carry five events two at a time"
    );
    for (i, get) in gets.iter().enumerate() {
        assert_eq!(
            get.query.as_deref(),
            Some(format!("ack={}&timeout=900&low=600&medium=300&priority=2", i + 1).as_str())
        );
    }
}

#[tokio::test]
async fn tuning_out_of_range_is_refused_at_start() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let app = application(&server, &client).await;

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
}

#[tokio::test]
async fn the_read_timeout_exceeds_the_clients_request_timeout() {
    let server = FakeUcwa::start().await;
    // The server holds an idle pending GET for a second, far past the client's timeout.
    server.set_idle_delay(Duration::from_secs(1));
    let client = server
        .client_builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut channel = EventChannel::builder(&application(&server, &client).await)
        .max_failures(Some(1))
        .start()
        .unwrap();

    tokio::time::sleep(Duration::from_millis(500)).await;
    queue_things(&server, 0..1);

    assert_eq!(thing_number(&next_event(&mut channel).await), 0);
}

#[tokio::test]
async fn the_next_get_is_sent_before_the_events_are_read() {
    let server = FakeUcwa::start().await;
    queue_things(&server, 0..3);
    let client = server.client_builder().build().unwrap();
    let mut channel = EventChannel::builder(&application(&server, &client).await)
        .buffer(1)
        .start()
        .unwrap();

    // Nothing is read from the channel, and still the second GET goes out.
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
async fn resume_and_resync_are_items_of_their_own_in_their_place() {
    let server = FakeUcwa::start().await;
    queue_things(&server, 0..2);
    server.queue_resume();
    queue_things(&server, 2..3);
    server.queue_resync();
    queue_things(&server, 3..4);
    let client = server.client_builder().build().unwrap();
    let mut channel = channel(&server, &client).await;

    let mut seen = Vec::new();
    while seen.len() < 6 {
        let item = next(&mut channel).await.unwrap().unwrap();
        seen.push(match item {
            ChannelEvent::Event(event) => thing_number(&event).to_string(),
            ChannelEvent::Resumed { .. } => "resumed".to_owned(),
            ChannelEvent::Resynced { .. } => "resynced".to_owned(),
            other => panic!("unexpected {other:?}"),
        });
    }

    assert_eq!(seen, ["0", "1", "resumed", "2", "resynced", "3"]);
}

#[tokio::test]
async fn a_thousand_events_arrive_in_order_exactly_once_through_random_faults() {
    let server = FakeUcwa::start().await;
    let total = 1000;
    queue_things(&server, 0..total);
    let client = server.client_builder().build().unwrap();
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
        let event = next_event(&mut channel).await;
        received.push(thing_number(&event));
        if rng.u8(..) < 40 {
            faults += 1;
            server.set_batch_limit(rng.usize(1..=25));
            let failure = match rng.u8(..4) {
                0 => Failure::new(500).code("ServiceFailure"),
                1 => Failure::new(503)
                    .code("ServiceUnavailable")
                    .header("Retry-After", "0"),
                2 => Failure::disconnect(),
                // Held past the read timeout: the client gives up and asks again.
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
    assert!(
        acks.len() > distinct.len(),
        "failed GETs were repeated with the same ack"
    );
}

#[tokio::test]
async fn a_transport_error_is_retried_against_the_same_href() {
    let server = FakeUcwa::start().await;
    server.fail(Endpoint::Events, Failure::disconnect().times(2));
    queue_things(&server, 0..1);
    let client = server.client_builder().build().unwrap();
    let mut channel = channel(&server, &client).await;

    assert_eq!(thing_number(&next_event(&mut channel).await), 0);
    assert_eq!(acks(&server).await[..3], ["1", "1", "1"]);
}

#[tokio::test]
async fn pget_replaced_ends_the_stream_with_its_kind() {
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Events,
        Failure::new(409).code("Conflict").subcode("PGetReplaced"),
    );
    let client = server.client_builder().build().unwrap();
    let mut channel = channel(&server, &client).await;

    let error = next(&mut channel).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::EventChannelReplaced);
    assert!(next(&mut channel).await.is_none(), "the stream ends");
    assert!(!channel.is_running());
    assert_eq!(acks(&server).await.len(), 1, "no retry after a replacement");
}

#[tokio::test]
async fn application_not_found_ends_the_stream_with_its_kind() {
    let server = FakeUcwa::start().await;
    queue_things(&server, 0..1);
    let client = server.client_builder().build().unwrap();
    let mut channel = channel(&server, &client).await;
    assert_eq!(thing_number(&next_event(&mut channel).await), 0);

    server.fail(
        Endpoint::Events,
        Failure::new(404)
            .code("NotFound")
            .subcode("ApplicationNotFound"),
    );

    let error = next(&mut channel).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ApplicationNotFound);
    assert_eq!(error.kind().as_str(), "application_not_found");
    assert!(next(&mut channel).await.is_none());
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
async fn one_401_asks_the_token_provider_again_and_the_channel_goes_on() {
    let server = FakeUcwa::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let client = Client::builder()
        .origin(server.origin())
        .allow_http(true)
        .token_provider(Counting {
            token: server.token().to_owned(),
            calls: Arc::clone(&calls),
        })
        .build()
        .unwrap();
    let app = application(&server, &client).await;
    server.fail(Endpoint::Events, Failure::new(401).code("Unauthorized"));
    queue_things(&server, 0..1);
    let before = calls.load(Ordering::SeqCst);

    let mut channel = EventChannel::builder(&app).start().unwrap();
    assert_eq!(thing_number(&next_event(&mut channel).await), 0);

    assert!(
        calls.load(Ordering::SeqCst) >= before + 2,
        "asked again after the 401"
    );
    assert_eq!(acks(&server).await[..2], ["1", "1"]);
}

#[tokio::test]
async fn a_second_401_ends_the_stream_as_unauthorized() {
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Events,
        Failure::new(401).code("Unauthorized").times(2),
    );
    let client = server.client_builder().build().unwrap();
    let mut channel = channel(&server, &client).await;

    let error = next(&mut channel).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert!(next(&mut channel).await.is_none());
}

#[tokio::test]
async fn retryable_faults_end_the_stream_after_the_configured_count() {
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Events,
        Failure::new(503).code("ServiceUnavailable").always(),
    );
    let client = server.client_builder().build().unwrap();
    let mut channel = EventChannel::builder(&application(&server, &client).await)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .max_failures(Some(3))
        .start()
        .unwrap();

    let error = next(&mut channel).await.unwrap().unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert!(next(&mut channel).await.is_none());
    assert_eq!(acks(&server).await, ["1", "1", "1"]);
}

#[tokio::test]
async fn close_and_drop_leave_no_task_polling() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();

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
    assert_eq!(
        acks(&server).await.len(),
        after_drop,
        "nothing polls after close and drop"
    );
}

#[tokio::test]
async fn events_carry_their_sender_link_type_in_status_reason_and_resource() {
    let server = FakeUcwa::start().await;
    server.queue_event(
        "me",
        ME,
        json!({
            "link": { "rel": "presence", "href": format!("{ME}/presence"), "title": "Presence" },
            "in": { "rel": "me", "href": ME },
            "type": "added",
            "_embedded": { "presence": { "availability": "Online" } },
        }),
    );
    server.queue_event(
        "communication",
        "/ucwa/oauth/v1/applications/101/communication",
        json!({
            "link": { "rel": "operation", "href": "/ops/1" },
            "type": "completed",
            "status": "Failure",
            "reason": { "code": "Gone", "subcode": "CallTerminated", "message": "bye" },
        }),
    );
    server.queue_event(
        "me",
        ME,
        json!({ "link": { "rel": "note", "href": "/n" }, "type": "moved" }),
    );
    let client = server.client_builder().build().unwrap();
    let mut channel = channel(&server, &client).await;

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
    assert_eq!(completed.status, Some(ucwa::OperationStatus::Failure));
    let reason = completed.reason.as_ref().unwrap();
    assert_eq!(reason.subcode, Some(ucwa::ErrorSubcode::CallTerminated));
    assert_eq!(reason.message.as_deref(), Some("bye"));
    assert!(completed.link.href.as_str().starts_with(&server.origin()));

    let unknown = next_event(&mut channel).await;
    assert_eq!(unknown.event_type, EventType::Other("moved".to_owned()));
}

#[tokio::test]
async fn a_channel_on_another_origin_is_refused_unsent() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let other = FakeUcwa::start().await;

    let error = EventChannel::builder_for_url(&client, &other.events_url())
        .start()
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::CrossOrigin);
    assert!(other.received().await.is_empty());
}
