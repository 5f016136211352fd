//! The client's bounds: where requests may go, how long and how large they may be, and the
//! secrecy of the token.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{Client, Error, ErrorKind, Token, TokenFuture, TokenProvider};
use wiremock::{MockServer, ResponseTemplate};

use support::{
    OFFER, RENEGOTIATIONS_PATH, SESSION_PATH, TOKEN, accepting_server, assert_no_posts,
    chunked_server, client_for, closed_origin, entity_json, fake_session, mount_post,
    mount_session, padded_entity, requests, sdp_uri, session_from_links, session_url,
    session_with_links, silent_server, stalling_server, within,
};

const SECRET: &str = "SECRET-TOKEN-123";
const SECRET_TOKEN: &str = "cwt=SECRET-TOKEN-123";

#[tokio::test]
async fn link_to_another_origin_is_refused_and_nothing_is_sent_there() {
    let a = MockServer::start().await;
    let b = accepting_server().await;
    let href = format!("{}{RENEGOTIATIONS_PATH}", b.uri());
    let session = session_with_links(&a, json!({"renegotiations": {"href": href}})).await;

    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CrossOrigin);
    assert_eq!(error.kind().as_str(), "cross_origin");
    assert!(error.to_string().contains(&b.uri()), "{error}");
    assert!(requests(&b).await.is_empty());
    assert_eq!(requests(&a).await.len(), 1, "only the session GET");
}

#[tokio::test]
async fn session_url_on_another_origin_is_refused_before_any_request() {
    let a = MockServer::start().await;
    let b = accepting_server().await;
    let error = client_for(&a.uri()).session(&session_url(&b)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CrossOrigin);
    assert!(requests(&a).await.is_empty());
    assert!(requests(&b).await.is_empty());
}

#[tokio::test]
async fn location_on_another_origin_is_refused() {
    let a = MockServer::start().await;
    let b = accepting_server().await;
    let location = format!("{}/r/1", b.uri());
    mount_post(
        &a,
        RENEGOTIATIONS_PATH,
        ResponseTemplate::new(201).insert_header("Location", location.as_str()),
    )
    .await;
    let session =
        session_with_links(&a, json!({"renegotiations": {"href": RENEGOTIATIONS_PATH}})).await;

    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CrossOrigin);
    assert!(requests(&b).await.is_empty());
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let a = MockServer::start().await;
    let b = accepting_server().await;
    let target = format!("{}{RENEGOTIATIONS_PATH}", b.uri());
    mount_post(
        &a,
        RENEGOTIATIONS_PATH,
        ResponseTemplate::new(307).insert_header("Location", target.as_str()),
    )
    .await;
    let client = client_for(&a.uri());
    let links = json!({"renegotiations": {"href": RENEGOTIATIONS_PATH}});

    let error = session_from_links(&client, links)
        .renegotiate(OFFER)
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(307), "{error:?}");
    assert!(requests(&b).await.is_empty());
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed_with_the_same_body() {
    let server = accepting_server().await;
    mount_post(
        &server,
        "/old",
        ResponseTemplate::new(308).insert_header("Location", RENEGOTIATIONS_PATH),
    )
    .await;
    let client = client_for(&server.uri());
    let links = json!({"renegotiations": {"href": "/old"}});

    session_from_links(&client, links)
        .renegotiate(OFFER)
        .await
        .unwrap();
    let received = requests(&server).await;
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].url.path(), RENEGOTIATIONS_PATH);
    assert_eq!(received[1].body, OFFER.as_bytes());
    assert_eq!(
        received[1].headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}")
    );
}

#[tokio::test]
async fn links_with_other_schemes_are_refused() {
    for href in [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://127.0.0.1/x",
    ] {
        let server = accepting_server().await;
        let session = session_with_links(&server, json!({"renegotiations": {"href": href}})).await;
        let error = session.renegotiate(OFFER).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{href}: {error:?}");
        assert_no_posts(&requests(&server).await);
    }
}

#[tokio::test]
async fn data_uri_action_links_are_refused() {
    let server = MockServer::start().await;
    let data = sdp_uri(OFFER);
    let entity = entity_json(json!({
        "answer": {"href": data},
        "dismiss": {"href": "data:application/json,%7B%7D"},
    }));
    mount_post(
        &server,
        RENEGOTIATIONS_PATH,
        ResponseTemplate::new(201).set_body_json(entity),
    )
    .await;
    let client = client_for(&server.uri());
    let session = session_from_links(
        &client,
        json!({"renegotiations": {"href": RENEGOTIATIONS_PATH}}),
    );
    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    let error = renegotiation.answer().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let error = renegotiation.dismiss(None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let error = client.session(&data).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(requests(&server).await.len(), 1, "only the renegotiation");
}

#[tokio::test]
async fn urls_with_user_information_are_refused() {
    let server = accepting_server().await;
    let port = server.address().port();
    let href = format!("http://user:pw@127.0.0.1:{port}{RENEGOTIATIONS_PATH}");
    let client = client_for(&server.uri());
    let session = session_from_links(&client, json!({"renegotiations": {"href": href}}));

    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let error = client
        .session(&format!("http://user@127.0.0.1:{port}{SESSION_PATH}"))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn http_origin_is_refused_without_allow_http() {
    let error = Client::builder()
        .origin("http://127.0.0.1:8080")
        .token(TOKEN)
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InsecureUrl);
    assert_eq!(error.kind().as_str(), "insecure_url");
}

#[tokio::test]
async fn https_client_refuses_http_links() {
    let server = accepting_server().await;
    let port = server.address().port();
    let client = Client::builder()
        .origin(format!("https://127.0.0.1:{port}"))
        .token(TOKEN)
        .build()
        .unwrap();
    let http = format!("http://127.0.0.1:{port}{RENEGOTIATIONS_PATH}");

    let error = client.session(&session_url(&server)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InsecureUrl);
    let session = session_from_links(&client, json!({"renegotiations": {"href": http}}));
    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InsecureUrl);
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn relative_and_absolute_same_origin_hrefs_both_work() {
    for absolute in [false, true] {
        let server = MockServer::start().await;
        let origin = if absolute {
            server.uri()
        } else {
            String::new()
        };
        let answer = format!("{origin}{RENEGOTIATIONS_PATH}/1/answer");
        let entity = entity_json(json!({"answer": {"href": answer}}));
        mount_post(
            &server,
            RENEGOTIATIONS_PATH,
            ResponseTemplate::new(201).set_body_json(entity),
        )
        .await;
        mount_post(
            &server,
            &format!("{RENEGOTIATIONS_PATH}/1/answer"),
            ResponseTemplate::new(204),
        )
        .await;
        let href = format!("{origin}{RENEGOTIATIONS_PATH}");
        let session = session_with_links(&server, json!({"renegotiations": {"href": href}})).await;

        let renegotiation = session.renegotiate(OFFER).await.unwrap();
        renegotiation.answer().await.unwrap();
        let received = requests(&server).await;
        let paths: Vec<_> = received.iter().map(|r| r.url.path().to_owned()).collect();
        assert_eq!(
            paths,
            [
                SESSION_PATH.to_owned(),
                RENEGOTIATIONS_PATH.to_owned(),
                format!("{RENEGOTIATIONS_PATH}/1/answer"),
            ],
            "absolute: {absolute}"
        );
        assert!(received[1].url.query().unwrap().starts_with("operationId="));
        assert_eq!(received[1].body, OFFER.as_bytes());
    }
}

#[tokio::test]
async fn a_repeated_rel_uses_its_first_link() {
    let server = MockServer::start().await;
    let entity = entity_json(json!({}));
    mount_post(
        &server,
        "/first",
        ResponseTemplate::new(201).set_body_json(entity),
    )
    .await;
    let links = json!({"renegotiations": [{"href": "/first"}, {"href": "/second"}]});
    let session = session_with_links(&server, links).await;

    session.renegotiate(OFFER).await.unwrap();
    let received = requests(&server).await;
    assert_eq!(received.last().unwrap().url.path(), "/first");
    assert!(received.iter().all(|r| r.url.path() != "/second"));
}

#[tokio::test]
async fn unknown_properties_and_links_do_not_fail_parsing() {
    let server = MockServer::start().await;
    let entity = json!({
        "direction": "Sideways",
        "operationId": "op-9",
        "4d221db7-4af0-476b-9443-8bc874283085": "please pass this in a PUT request",
        "nested": {"deep": [1, null, {"x": true}]},
        "_links": {
            "mediaOffer": {"href": sdp_uri(OFFER), "revision": "2", "hreflang": "en"},
            "somethingNew": {"href": "/new", "title": "New", "extra": {"a": 1}},
            "manyNew": [{"href": "/n/1"}, {"href": "/n/2"}],
        },
        "_embedded": {"unknownThing": {"name": "x", "_links": {"self": {"href": "/u"}}}},
    });
    mount_post(
        &server,
        RENEGOTIATIONS_PATH,
        ResponseTemplate::new(201).set_body_json(entity),
    )
    .await;
    let links = json!({
        "renegotiations": {"href": RENEGOTIATIONS_PATH, "revision": 3, "unknownAttribute": "y"},
        "publishCallQualityFeedback": {"href": "/feedback"},
        "unheardOf": [{"href": "/u/1", "title": "One"}],
    });
    mount_session(&server, links).await;
    let session = client_for(&server.uri())
        .session(&session_url(&server))
        .unwrap();

    assert_eq!(
        session.state().await.unwrap(),
        Some(ucwa::SessionState::Established)
    );
    let resource = session.resource().await.unwrap();
    assert!(resource.links().contains("unheardOf"));
    let renegotiation = session.renegotiate(OFFER).await.unwrap();
    assert_eq!(
        renegotiation.direction(),
        Some(&ucwa::Direction::Unknown("Sideways".to_owned()))
    );
    assert_eq!(renegotiation.operation_id(), Some("op-9"));
    assert_eq!(
        renegotiation.media_offer().unwrap().as_deref(),
        Some(OFFER.as_bytes())
    );
    assert_eq!(
        renegotiation.links().get("somethingNew").unwrap().href,
        "/new"
    );
}

#[tokio::test]
async fn a_reply_slower_than_the_timeout_is_timeout() {
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Renegotiations,
        Failure::new(201).delay(Duration::from_secs(5)),
    );
    let client = server
        .client_builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let session = client.session(&server.session_url()).unwrap();
    session.refresh().await.unwrap();

    let started = Instant::now();
    let error = within(session.renegotiate(OFFER)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(error.kind().as_str(), "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_timeout() {
    let origin = silent_server().await;
    let client = Client::builder()
        .origin(origin.as_str())
        .token(TOKEN)
        .allow_http(true)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let session = client.session("/session").unwrap();
    let error = within(session.refresh()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_body_one_byte_over_the_limit_with_content_length_is_body_too_large() {
    let body = padded_entity(4096);
    let server = FakeUcwa::start().await;
    let reply = Failure::new(201).raw_body("application/json", body.clone());
    server.fail(Endpoint::Renegotiations, reply.times(2));
    for (limit, fits) in [(body.len(), true), (body.len() - 1, false)] {
        let client = server.client_builder().max_body(limit).build().unwrap();
        let session = client.session(&server.session_url()).unwrap();
        match session.renegotiate(OFFER).await {
            Ok(_) => assert!(fits, "a body over {limit} bytes was read"),
            Err(error) => {
                assert!(!fits, "{error:?}");
                assert_eq!(error.kind(), ErrorKind::BodyTooLarge);
                assert_eq!(error.kind().as_str(), "body_too_large");
                assert!(error.to_string().contains(&limit.to_string()), "{error}");
            }
        }
    }
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_arrives() {
    let origin = stalling_server(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\
         Content-Length: 1048576\r\n\r\n",
    )
    .await;
    let client = Client::builder()
        .origin(origin.as_str())
        .token(TOKEN)
        .allow_http(true)
        .max_body(1024)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let links = json!({"renegotiations": {"href": RENEGOTIATIONS_PATH}});
    let session = session_from_links(&client, links);

    let error = within(session.renegotiate(OFFER)).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BodyTooLarge, "{error:?}");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_body_too_large() {
    let origin = chunked_server(padded_entity(4096)).await;
    let links = json!({"renegotiations": {"href": RENEGOTIATIONS_PATH}});
    for (limit, fits) in [(64 * 1024, true), (1024, false)] {
        let client = Client::builder()
            .origin(origin.as_str())
            .token(TOKEN)
            .allow_http(true)
            .max_body(limit)
            .build()
            .unwrap();
        let outcome = session_from_links(&client, links.clone())
            .renegotiate(OFFER)
            .await;
        match outcome {
            Ok(renegotiation) => {
                assert!(fits, "a body over {limit} bytes was read");
                assert_eq!(renegotiation.operation_id(), Some("op-1"));
            }
            Err(error) => {
                assert!(!fits, "{error:?}");
                assert_eq!(error.kind(), ErrorKind::BodyTooLarge);
            }
        }
    }
}

fn assert_secret_hidden(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the token: {text}");
}

fn assert_error_hides_secret(error: &Error) {
    assert_secret_hidden("an error's Display", &error.to_string());
    assert_secret_hidden("an error's Debug", &format!("{error:?}"));
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        assert_secret_hidden("an error's source", &cause.to_string());
        source = cause.source();
    }
}

fn secret_client(origin: &str, timeout: Duration) -> Client {
    Client::builder()
        .origin(origin)
        .token(SECRET_TOKEN)
        .allow_http(true)
        .timeout(timeout)
        .build()
        .unwrap()
}

#[tokio::test]
async fn debug_output_never_shows_the_token() {
    let server = FakeUcwa::builder().token(SECRET_TOKEN).start().await;
    let builder = server.client_builder();
    assert_secret_hidden("ClientBuilder", &format!("{builder:?}"));
    let client = builder.build().unwrap();
    assert_secret_hidden("Client", &format!("{client:?}"));
    let session = client.session(&server.session_url()).unwrap();
    assert_secret_hidden("Session", &format!("{session:?}"));
    let pending = session.renegotiate(OFFER);
    assert_secret_hidden("RenegotiateBuilder", &format!("{pending:?}"));
    let renegotiation = pending.await.unwrap();
    assert_secret_hidden("Renegotiation", &format!("{renegotiation:?}"));
    assert_secret_hidden("Token", &format!("{:?}", Token::new(SECRET_TOKEN)));
}

#[tokio::test]
async fn errors_never_show_the_token() {
    let fake = FakeUcwa::builder().token(SECRET_TOKEN).start().await;
    fake.fail(
        Endpoint::Renegotiations,
        Failure::new(201).delay(Duration::from_secs(5)),
    );
    let client = secret_client(&fake.origin(), Duration::from_millis(300));
    let session = client.session(&fake.session_url()).unwrap();
    let timeout = session.renegotiate(OFFER).await.unwrap_err();
    let _first = session.renegotiate(OFFER).await.unwrap();
    let conflict = session.renegotiate(OFFER).await.unwrap_err();

    let other = FakeUcwa::start().await;
    let unauthorized = secret_client(&other.origin(), Duration::from_secs(5))
        .session(&other.session_url())
        .unwrap()
        .refresh()
        .await
        .unwrap_err();
    let transport = secret_client(&closed_origin().await, Duration::from_secs(5))
        .session("/session")
        .unwrap()
        .refresh()
        .await
        .unwrap_err();
    let cross_origin = client.session(&other.session_url()).unwrap_err();

    let errors = [timeout, conflict, unauthorized, transport, cross_origin];
    let kinds: Vec<_> = errors.iter().map(Error::kind).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::Timeout,
            ErrorKind::RenegotiationInProgress,
            ErrorKind::Unauthorized,
            ErrorKind::Transport,
            ErrorKind::CrossOrigin,
        ]
    );
    errors.iter().for_each(assert_error_hides_secret);
}

#[tokio::test]
async fn the_token_is_sent_as_given_in_a_bearer_header() {
    let server = FakeUcwa::builder().token(SECRET_TOKEN).start().await;
    let (_client, session) = fake_session(&server).await;
    session.renegotiate(OFFER).await.unwrap();

    let received = server.received().await;
    assert_eq!(received.len(), 2);
    for request in &received {
        assert_eq!(
            request.header("authorization"),
            Some("Bearer cwt=SECRET-TOKEN-123")
        );
    }
}

/// Hands out a fixed token and counts how often it is asked.
struct CountingTokens {
    token: &'static str,
    calls: Arc<AtomicUsize>,
}

impl TokenProvider for CountingTokens {
    fn token(&self) -> TokenFuture<'_> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let token = Token::new(self.token);
        Box::pin(async move { Ok(token) })
    }
}

struct FailingTokens;

impl TokenProvider for FailingTokens {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async { Err("the token store is offline".into()) })
    }
}

#[tokio::test]
async fn the_token_provider_is_asked_once_per_request() {
    let server = FakeUcwa::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let provider = CountingTokens {
        token: ucwa::testing::DEFAULT_TOKEN,
        calls: Arc::clone(&calls),
    };
    let client = Client::builder()
        .origin(server.origin())
        .token_provider(provider)
        .allow_http(true)
        .build()
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let session = client.session(&server.session_url()).unwrap();
    session.renegotiate(OFFER).await.unwrap();
    assert_eq!(server.received().await.len(), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_token_provider_is_unauthorized_and_sends_nothing() {
    let server = FakeUcwa::start().await;
    let client = Client::builder()
        .origin(server.origin())
        .token_provider(FailingTokens)
        .allow_http(true)
        .build()
        .unwrap();

    let error = client
        .session(&server.session_url())
        .unwrap()
        .renegotiate(OFFER)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert_eq!(error.status(), None);
    let cause = std::error::Error::source(&error).expect("the provider's error");
    assert_eq!(cause.to_string(), "the token store is offline");
    assert!(server.received().await.is_empty());
}

#[tokio::test]
async fn a_token_with_a_newline_is_invalid_input_and_not_echoed() {
    let server = FakeUcwa::start().await;
    let client = Client::builder()
        .origin(server.origin())
        .token("cwt=SECRET-TOKEN-123\r\nX-Injected: yes")
        .allow_http(true)
        .build()
        .unwrap();

    let error = client
        .session(&server.session_url())
        .unwrap()
        .refresh()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_error_hides_secret(&error);
    assert!(server.received().await.is_empty());
}
