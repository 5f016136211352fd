//! The redirect policy of the client the crate builds: 307 and 308 within the origin are
//! followed with the same method, body and token, at most five times; every other redirect,
//! and any redirect off the origin, is handed to the caller unfollowed.

mod support;

use std::time::Duration;

use serde_json::json;
use ucwa::{Client, Error, ErrorKind, RetryPolicy, Session};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::{
    RENEGOTIATIONS_PATH, SESSION_PATH, TOKEN, accepting_server, client_for, entity_json,
    mount_post, requests, session_from_links, session_json,
};

/// An SDP offer whose bytes a re-encoding would change: CRLF and bare LF line ends, a trailing
/// space, a tab and a non-ASCII character.
const ODD_SDP: &[u8] =
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\ns=caf\xc3\xa9 \r\nt=0 0\r\na=x-note:\tkept\r\n";

/// Renegotiates through a session whose `renegotiations` link is `href`, bounded in time.
async fn renegotiate_via(client: &Client, href: &str) -> Result<ucwa::Renegotiation, Error> {
    let session = session_from_links(client, json!({"renegotiations": {"href": href}}));
    tokio::time::timeout(Duration::from_secs(20), session.renegotiate(ODD_SDP))
        .await
        .expect("the call ended")
}

/// Answers POSTs to `from` with `status` and a `Location` of `to`.
async fn mount_redirect(server: &MockServer, from: &str, status: u16, to: &str) {
    mount_post(
        server,
        from,
        ResponseTemplate::new(status).insert_header("Location", to),
    )
    .await;
}

/// The paths a server received, in order.
async fn paths(server: &MockServer) -> Vec<String> {
    requests(server)
        .await
        .iter()
        .map(|request| request.url.path().to_owned())
        .collect()
}

#[tokio::test]
async fn a_307_or_308_within_the_origin_keeps_method_body_and_token() {
    for status in [307, 308] {
        for absolute in [false, true] {
            let server = accepting_server().await;
            let target = if absolute {
                format!("{}{RENEGOTIATIONS_PATH}", server.uri())
            } else {
                RENEGOTIATIONS_PATH.to_owned()
            };
            mount_redirect(&server, "/moved", status, &target).await;
            let client = client_for(&server.uri());

            let renegotiation = renegotiate_via(&client, "/moved").await;
            let renegotiation = renegotiation.unwrap_or_else(|error| {
                panic!("{status} to {target}: {error:?}");
            });
            assert_eq!(renegotiation.operation_id(), Some("op-1"));
            let received = requests(&server).await;
            assert_eq!(received.len(), 2, "{status} to {target}");
            let (first, second) = (&received[0], &received[1]);
            assert_eq!(first.url.path(), "/moved");
            assert_eq!(second.url.path(), RENEGOTIATIONS_PATH);
            for request in [first, second] {
                assert_eq!(request.method.as_str(), "POST", "{status}");
                assert_eq!(request.body, ODD_SDP, "{status}: the body changed");
                assert_eq!(
                    request.headers.get("authorization").unwrap(),
                    &format!("Bearer {TOKEN}"),
                    "{status}"
                );
                assert_eq!(
                    request.headers.get("content-type").unwrap(),
                    "application/sdp",
                    "{status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_301_302_or_303_is_not_followed_and_is_an_api_error() {
    for status in [301, 302, 303] {
        let server = accepting_server().await;
        mount_redirect(&server, "/moved", status, RENEGOTIATIONS_PATH).await;
        let client = client_for(&server.uri());

        let error = renegotiate_via(&client, "/moved").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Api, "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(paths(&server).await, ["/moved"], "{status} was followed");
    }
}

#[tokio::test]
async fn a_get_answered_with_a_301_or_302_is_not_followed() {
    for status in [301, 302] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/moved-session"))
            .respond_with(ResponseTemplate::new(status).insert_header("Location", SESSION_PATH))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(SESSION_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(session_json(json!({}))))
            .mount(&server)
            .await;
        let session = client_for(&server.uri()).session("/moved-session").unwrap();

        let outcome = tokio::time::timeout(Duration::from_secs(20), session.refresh()).await;
        let error = outcome.expect("the call ended").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Api, "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(paths(&server).await, ["/moved-session"]);
    }
}

#[tokio::test]
async fn a_307_or_308_to_another_origin_is_not_followed_and_that_origin_receives_nothing() {
    for status in [307, 308] {
        let server = MockServer::start().await;
        let other = accepting_server().await;
        let target = format!("{}{RENEGOTIATIONS_PATH}", other.uri());
        mount_redirect(&server, "/moved", status, &target).await;
        let client = client_for(&server.uri());

        let error = renegotiate_via(&client, "/moved").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Api, "{status}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert!(requests(&other).await.is_empty(), "{status} was followed");
        assert_eq!(paths(&server).await, ["/moved"]);
    }
}

#[tokio::test]
async fn a_redirect_to_the_same_server_under_another_host_name_is_not_followed() {
    let server = accepting_server().await;
    let port = server.address().port();
    let targets = [
        format!("http://localhost:{port}{RENEGOTIATIONS_PATH}"),
        format!("https://127.0.0.1:{port}{RENEGOTIATIONS_PATH}"),
    ];
    for (n, target) in targets.iter().enumerate() {
        let from = format!("/moved/{n}");
        mount_redirect(&server, &from, 307, target).await;
        let client = client_for(&format!("http://127.0.0.1:{port}"));

        let error = renegotiate_via(&client, &from).await.unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(307), "{target}");
        let received = paths(&server).await;
        assert_eq!(received.last().map(String::as_str), Some(from.as_str()));
        assert!(
            !received.iter().any(|path| path == RENEGOTIATIONS_PATH),
            "{target} was followed"
        );
    }
}

/// Serves a chain of `hops` 307 redirects, `/hop/0` → `/hop/1` → …, ending in a 201.
async fn chain(hops: usize) -> MockServer {
    let server = accepting_server().await;
    for hop in 0..hops {
        let next = if hop + 1 == hops {
            RENEGOTIATIONS_PATH.to_owned()
        } else {
            format!("/hop/{}", hop + 1)
        };
        mount_redirect(&server, &format!("/hop/{hop}"), 307, &next).await;
    }
    server
}

#[tokio::test]
async fn five_redirects_are_followed_and_a_sixth_is_a_transport_error() {
    let server = chain(5).await;
    let client = client_for(&server.uri());
    renegotiate_via(&client, "/hop/0")
        .await
        .expect("five redirects are within the bound");
    assert_eq!(requests(&server).await.len(), 6);

    let server = chain(6).await;
    let client = client_for(&server.uri());
    let error = renegotiate_via(&client, "/hop/0").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    let received = paths(&server).await;
    assert_eq!(received.len(), 6, "{received:?}");
    assert!(!received.iter().any(|path| path == RENEGOTIATIONS_PATH));
}

#[tokio::test]
async fn a_redirect_loop_ends_in_a_transport_error_after_at_most_six_requests() {
    for status in [307, 308] {
        let server = MockServer::start().await;
        mount_redirect(&server, "/loop", status, "/loop").await;
        let client = client_for(&server.uri());

        let error = renegotiate_via(&client, "/loop").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Transport, "{status}: {error:?}");
        let sent = requests(&server).await.len();
        assert!((2..=6).contains(&sent), "{status}: {sent} requests");
    }
}

/// A client for `origin` that retries everything under `policy`.
fn retrying_client(origin: &str, policy: RetryPolicy) -> Client {
    Client::builder()
        .origin(origin)
        .token(TOKEN)
        .allow_http(true)
        .retry_policy(policy)
        .build()
        .unwrap()
}

/// A session whose resource lives at `/loop`, which redirects to itself.
async fn looping_session(client: impl FnOnce(&str) -> Client) -> (MockServer, Session) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/loop"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "/loop"))
        .mount(&server)
        .await;
    let session = client(&server.uri()).session("/loop").unwrap();
    (server, session)
}

#[tokio::test]
async fn a_redirect_loop_on_a_get_is_not_sent_again_by_the_retry_policy() {
    let (server, session) = looping_session(client_for).await;
    let outcome = tokio::time::timeout(Duration::from_secs(20), session.refresh()).await;
    let error = outcome.expect("the call ended").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    let sent = requests(&server).await.len();
    assert!(sent <= 6, "{sent} requests");
}

#[tokio::test]
async fn a_redirect_loop_under_a_retry_policy_is_still_bounded() {
    let policy = RetryPolicy::new()
        .max_retries(2)
        .backoff(Duration::from_millis(10), Duration::from_millis(20));
    let (server, session) = looping_session(|origin| retrying_client(origin, policy)).await;
    let outcome = tokio::time::timeout(Duration::from_secs(20), session.refresh()).await;
    let error = outcome.expect("the call ended").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    let sent = requests(&server).await.len();
    assert!(sent <= 6 * 3, "{sent} requests for three attempts");
}

#[tokio::test]
async fn a_307_keeps_the_entity_reply_of_its_target() {
    let server = MockServer::start().await;
    mount_redirect(&server, "/moved", 307, "/target").await;
    let entity = entity_json(json!({"answer": {"href": "/target/answer"}}));
    mount_post(
        &server,
        "/target",
        ResponseTemplate::new(201).set_body_json(entity),
    )
    .await;
    let client = client_for(&server.uri());

    let renegotiation = renegotiate_via(&client, "/moved").await.unwrap();
    assert_eq!(
        renegotiation.answer_link().map(|link| link.href.as_str()),
        Some("/target/answer")
    );
}
