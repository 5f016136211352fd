//! Hostile and broken servers and payloads over loopback: each ends in a typed error (or a
//! bounded success), never a panic or a hang. Every call is bounded by `bounded`, so a hang
//! fails its test instead of stalling the suite.

mod support;

use std::future::IntoFuture;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{Client, DataUri, Error, ErrorKind, Renegotiation, Resource, RetryPolicy};
use wiremock::{MockServer, ResponseTemplate};

use support::{
    OFFER, RENEGOTIATIONS_PATH, TOKEN, fake_session, mount_post, renegotiate_failing,
    renegotiate_replied, requests, service, session_from_links, silent_server, stalling_server,
};

const MIB: usize = 1024 * 1024;
const CREATED_JSON: &str = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n";

/// Awaits `call`, failing the test if it takes more than 20 seconds.
async fn bounded<T>(call: impl IntoFuture<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), call.into_future())
        .await
        .expect("the call hung")
}

/// POSTs a renegotiation to `origin` (no GET first, no retry) with this per-request timeout
/// and body limit, and returns its error.
async fn renegotiation_error(origin: &str, timeout: Duration, max_body: usize) -> Error {
    let builder = Client::builder().origin(origin).token(TOKEN);
    let builder = builder.allow_http(true).timeout(timeout).max_body(max_body);
    let client = builder.build().unwrap();
    let links = json!({"renegotiations": {"href": RENEGOTIATIONS_PATH}});
    let session = session_from_links(&client, links);
    match bounded(session.renegotiate(OFFER)).await {
        Ok(renegotiation) => panic!("the reply parsed: {renegotiation:?}"),
        Err(error) => error,
    }
}

/// Reads one request (head and `Content-Length` body) and discards it.
async fn drain_request(socket: &mut TcpStream) -> std::io::Result<()> {
    let (mut seen, mut chunk) = (Vec::new(), [0u8; 4096]);
    loop {
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        seen.extend_from_slice(&chunk[..read]);
        let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        if seen.len() >= end + 4 + length {
            return Ok(());
        }
    }
}

/// A server that answers each request with `head`, then (when given) `repeat` over and over,
/// up to 64 MiB or until the client goes away, then closes the connection.
async fn raw_server(head: impl Into<Vec<u8>>, repeat: Option<Vec<u8>>) -> String {
    let (head, repeat) = (Arc::new(head.into()), Arc::new(repeat));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (head, repeat) = (Arc::clone(&head), Arc::clone(&repeat));
            tokio::spawn(async move {
                drain_request(&mut socket).await?;
                socket.write_all(&head).await?;
                if let Some(piece) = repeat.as_ref() {
                    for _ in 0..(64 * MIB / piece.len()) {
                        socket.write_all(piece).await?;
                    }
                }
                socket.shutdown().await
            });
        }
    });
    origin
}

#[tokio::test]
async fn a_silent_server_or_a_stalled_body_is_timeout() {
    let mut origins = vec![silent_server().await];
    for head in [
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
    ] {
        origins.push(stalling_server(head).await);
    }
    for origin in origins {
        let started = Instant::now();
        let error = renegotiation_error(&origin, Duration::from_millis(300), MIB).await;
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{error:?}");
    }
}

#[tokio::test]
async fn a_reply_cut_short_or_malformed_is_transport() {
    let filler = format!("X-Filler: {}\r\n", "a".repeat(1000)).into_bytes();
    let replies = [
        format!("{CREATED_JSON}Content-Length: 1000\r\n\r\n{{\"operationId\":\"op-"),
        format!("{CREATED_JSON}Transfer-Encoding: chunked\r\n\r\n40\r\n{{\"operationId\":"),
        format!("{CREATED_JSON}Content-Length: twelve\r\n\r\n{{}}"),
        "HTTP/1.1 201 Cre".to_owned(),
        "SSH-2.0-OpenSSH_9.6\r\n\r\n".to_owned(),
        String::new(),
    ];
    let endless_head = (CREATED_JSON.to_owned(), Some(filler));
    let cases = replies
        .map(|reply| (reply, None))
        .into_iter()
        .chain([endless_head]);
    for (reply, repeat) in cases {
        let origin = raw_server(reply.clone(), repeat).await;
        let error = renegotiation_error(&origin, Duration::from_secs(5), MIB).await;
        assert_eq!(error.kind(), ErrorKind::Transport, "{reply:?}: {error:?}");
    }
}

#[tokio::test]
async fn an_endless_body_without_content_length_is_cut_at_the_limit() {
    let piece = b"[".repeat(8 * 1024);
    let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
    chunk.extend_from_slice(&piece);
    chunk.extend_from_slice(b"\r\n");
    let chunked = format!("{CREATED_JSON}Transfer-Encoding: chunked\r\n\r\n");
    let until_close = format!("{CREATED_JSON}Connection: close\r\n\r\n");
    let servers = [
        raw_server(chunked, Some(chunk)).await,
        raw_server(until_close, Some(piece)).await,
    ];
    for origin in servers {
        let started = Instant::now();
        let error = renegotiation_error(&origin, Duration::from_secs(10), 64 * 1024).await;
        assert_eq!(error.kind(), ErrorKind::BodyTooLarge, "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[tokio::test]
async fn a_location_that_is_not_utf8_is_decode() {
    let head = b"HTTP/1.1 201 Created\r\nLocation: /r/\xff\xfe\r\nContent-Length: 0\r\n\r\n";
    let origin = raw_server(head.to_vec(), None).await;
    let error = renegotiation_error(&origin, Duration::from_secs(5), MIB).await;
    assert_eq!(error.kind(), ErrorKind::Decode, "{error:?}");
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

#[tokio::test]
async fn json_not_utf8_or_nested_a_hundred_thousand_levels_deep_is_decode() {
    let not_utf8: [&[u8]; 5] = [
        b"{\"operationId\":\"op-\xff\"}",
        b"{\"\xc3\x28\":1}",
        b"{\"operationId\":\"\xc0\xaf\"}",
        b"{\"operationId\":\"\xed\xa0\x80\"}",
        b"{\"_links\":{\"self\":{\"href\":\"/r/\x80\"}}}",
    ];
    let depth = 100_000;
    let nested = [
        nested_arrays(depth),
        nested_objects(depth),
        format!("{{\"_links\":{{\"self\":{}}}}}", nested_objects(depth)),
        format!("{{\"_embedded\":{{\"x\":{}}}}}", nested_arrays(depth)),
        "[".repeat(depth),
    ];
    let bodies = not_utf8.map(<[u8]>::to_vec).into_iter();
    for body in bodies.chain(nested.map(String::into_bytes)) {
        let reply = Failure::new(201).raw_body("application/json", body.clone());
        let error = bounded(renegotiate_failing(reply)).await;
        let shown = String::from_utf8_lossy(&body[..body.len().min(20)]).into_owned();
        assert_eq!(error.kind(), ErrorKind::Decode, "{shown}: {error:?}");
    }
}

#[tokio::test]
async fn an_error_body_not_utf8_or_nested_deeply_keeps_its_status_and_raw_bytes() {
    let bodies = [
        b"{\"code\":\"Service\xffFailure\"}".to_vec(),
        nested_objects(100_000).into_bytes(),
    ];
    for (status, body) in [500, 503].into_iter().zip(bodies) {
        let reply = Failure::new(status).raw_body("application/json", body.clone());
        let error = bounded(renegotiate_failing(reply)).await;
        assert_eq!(error.kind(), ErrorKind::Api, "{error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(service(&error).raw_body.as_deref(), Some(&body[..]));
    }
}

#[tokio::test]
async fn a_created_reply_without_links_parses_and_its_actions_are_missing_link() {
    let bodies = [
        json!({}),
        json!({"_links": {}}),
        json!({"direction": "Outgoing"}),
    ];
    for body in bodies {
        let server = FakeUcwa::start().await;
        let reply = Failure::new(201).raw_body("application/json", body.to_string());
        server.fail(Endpoint::Renegotiations, reply);
        let (_client, session) = fake_session(&server).await;
        let renegotiation = bounded(session.renegotiate(OFFER))
            .await
            .unwrap_or_else(|error| panic!("{body}: {error:?}"));

        assert_eq!(renegotiation.media_offer().unwrap(), None, "{body}");
        assert_eq!(renegotiation.media_answer().unwrap(), None, "{body}");
        let missing = [
            ("answer", bounded(renegotiation.answer()).await),
            ("answer", bounded(renegotiation.answer_with(OFFER)).await),
            ("dismiss", bounded(renegotiation.dismiss(None)).await),
            ("self", bounded(renegotiation.refresh()).await.map(drop)),
        ];
        for (rel, outcome) in missing {
            let error = outcome.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::MissingLink, "{body} {rel}");
            assert_eq!(error.rel(), Some(rel));
        }
        let sent = server.received().await.len();
        assert_eq!(sent, 2, "{body}: the GET and the POST only");
    }
}

/// SDP-like text of exactly `size` bytes.
fn big_sdp(size: usize) -> Vec<u8> {
    let lines = (0u64..).flat_map(|n| format!("a=x-filler:{n:016x}\r\n").into_bytes());
    let head = b"v=0\r\ns=-\r\n".iter().copied();
    head.chain(lines).take(size).collect()
}

fn offer_entity(href: &str) -> Value {
    json!({"operationId": "op-big", "_links": {"mediaOffer": {"href": href}}})
}

#[tokio::test]
async fn a_3_mib_base64_media_offer_decodes_within_the_limit_and_4_mib_is_body_too_large() {
    let sdp = big_sdp(3 * MIB / 4 * 3);
    let href = DataUri::encode_base64("application/sdp", &sdp);
    assert_eq!(href.len() - "data:application/sdp;base64,".len(), 3 * MIB);
    let renegotiation = bounded(renegotiate_replied(offer_entity(&href)))
        .await
        .expect("a 3 MiB offer fits in 4 MiB");
    let offer = renegotiation.media_offer().unwrap().expect("an offer");
    assert!(offer == sdp, "the decoded offer differs");

    let href = DataUri::encode_base64("application/sdp", &big_sdp(3 * MIB + 1));
    assert!(href.len() > ucwa::DEFAULT_MAX_BODY);
    let outcome = bounded(renegotiate_replied(offer_entity(&href))).await;
    assert_eq!(outcome.unwrap_err().kind(), ErrorKind::BodyTooLarge);
}

/// The entity with this `mediaOffer` href parses, and reading the offer is a decode error.
async fn assert_offer_does_not_decode(href: &str) {
    let renegotiation = bounded(renegotiate_replied(offer_entity(href)))
        .await
        .unwrap_or_else(|error| panic!("{href}: the entity did not parse: {error:?}"));
    let error = renegotiation.media_offer().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Decode, "{href}");
}

#[tokio::test]
async fn a_data_uri_that_is_malformed_or_not_sdp_is_decode() {
    let malformed = [
        "data:application/sdp;base64",
        "data:application/sdp;base64,dj0wDQo*",
        "data:application/sdp;base64,d",
        "data:application/sdp;base64,dj0wDQo===",
        "data:application/sdp;base64,%ZZdj0w",
        "data:application/sdp;base64,dj0w%",
        "data:,v=0%0D%0A",
        "data:",
        "data",
    ];
    let other_types = [
        "text/html",
        "application/octet-stream",
        "application/sdp+xml",
        "application/sdpx",
        "image/svg+xml",
        "",
    ];
    let other_types = other_types.map(|kind| DataUri::encode_base64(kind, OFFER.as_bytes()));
    for href in malformed.map(str::to_owned).into_iter().chain(other_types) {
        assert_offer_does_not_decode(&href).await;
    }
}

/// A loopback listener that counts the connections it is offered and drops them.
async fn trap() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (origin, count)
}

/// A client for `origin` whose every request to a host other than 127.0.0.1 would go to
/// `trap` instead, so that a refusal that failed could never reach another host.
fn trapped_client(origin: &str, trap: &str) -> Client {
    let proxy = reqwest::Proxy::all(trap)
        .unwrap()
        .no_proxy(reqwest::NoProxy::from_string("127.0.0.1"));
    let http = reqwest::Client::builder().proxy(proxy).build().unwrap();
    let builder = Client::builder().origin(origin).token(TOKEN);
    builder.allow_http(true).http_client(http).build().unwrap()
}

#[tokio::test]
async fn the_trap_catches_requests_for_hosts_other_than_127_0_0_1() {
    let (trap, trapped) = trap().await;
    let client = trapped_client("http://localhost:9", &trap);
    let error = bounded(client.session("/session").unwrap().refresh())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    assert!(trapped.load(Ordering::SeqCst) > 0);
}

/// Hrefs the client must refuse without connecting anywhere, for an origin on `port`.
fn hostile_hrefs(port: u16) -> Vec<String> {
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://127.0.0.1/x",
        "gopher://127.0.0.1:70/x",
        "ws://127.0.0.1:{port}/x",
        "http://user:secret@127.0.0.1:{port}/x",
        "http://user@127.0.0.1:{port}/x",
        "http://127.0.0.1:{port}@10.0.0.1/x",
        "http://10.0.0.1/ucwa/v1/x",
        "http://10.0.0.1:{port}/x",
        "https://10.0.0.1/ucwa/v1/x",
        "http://[::2]/ucwa/v1/x",
        "http://[::2]:{port}/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://0x0a000001/x",
        "http://167772161/x",
        "//10.0.0.1/x",
        "/\\10.0.0.1/x",
        "http://localhost:{port}/x",
    ]
    .iter()
    .map(|href| href.replace("{port}", &port.to_string()))
    .collect()
}

/// Fails the test unless `outcome` is a refusal that came at once.
fn assert_refused(href: &str, what: &str, started: Instant, outcome: Result<(), Error>) {
    let error = outcome.expect_err(&format!("{what} accepted {href}"));
    let refusals = [ErrorKind::CrossOrigin, ErrorKind::InvalidInput];
    assert!(refusals.contains(&error.kind()), "{what} {href}: {error:?}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "{what} {href} took {took:?}");
}

#[tokio::test]
async fn hostile_hrefs_are_refused_before_any_connection() {
    let server = MockServer::start().await;
    let (trap, trapped) = trap().await;
    let client = trapped_client(&server.uri(), &trap);
    for href in hostile_hrefs(server.address().port()) {
        let now = Instant::now();
        assert_refused(&href, "session", now, client.session(&href).map(drop));

        let entity = json!({"_links": {
            "self": {"href": href}, "answer": {"href": href}, "dismiss": {"href": href},
        }});
        let resource = Resource::from_json(entity.to_string().as_bytes()).unwrap();
        let now = Instant::now();
        let outcome = client.session_from_resource(resource.clone()).map(drop);
        assert_refused(&href, "session self link", now, outcome);

        let links = json!({"renegotiations": {"href": href}});
        let now = Instant::now();
        let outcome = bounded(session_from_links(&client, links).renegotiate(OFFER)).await;
        assert_refused(&href, "renegotiations", now, outcome.map(drop));

        let renegotiation = Renegotiation::from_resource(&client, resource);
        let now = Instant::now();
        assert_refused(&href, "answer", now, bounded(renegotiation.answer()).await);
        let outcome = bounded(renegotiation.answer_with(OFFER)).await;
        assert_refused(&href, "answer_with", now, outcome);
        let outcome = bounded(renegotiation.dismiss(None)).await;
        assert_refused(&href, "dismiss", now, outcome);
        let outcome = bounded(renegotiation.refresh()).await.map(drop);
        assert_refused(&href, "refresh", now, outcome);
    }
    assert_eq!(trapped.load(Ordering::SeqCst), 0, "sent to another host");
    assert!(requests(&server).await.is_empty(), "sent to the origin");
}

#[tokio::test]
async fn a_hostile_location_is_refused_before_any_connection() {
    let server = MockServer::start().await;
    let (trap, trapped) = trap().await;
    let client = trapped_client(&server.uri(), &trap);
    let hrefs = hostile_hrefs(server.address().port());
    for (n, href) in hrefs.iter().enumerate() {
        let at = format!("/created/{n}");
        let reply = ResponseTemplate::new(201).insert_header("Location", href.as_str());
        mount_post(&server, &at, reply).await;
        let links = json!({"renegotiations": {"href": at}});
        let now = Instant::now();
        let outcome = bounded(session_from_links(&client, links).renegotiate(OFFER)).await;
        assert_refused(href, "location", now, outcome.map(drop));
    }
    assert_eq!(trapped.load(Ordering::SeqCst), 0, "sent to another host");
    let methods: Vec<_> = requests(&server)
        .await
        .into_iter()
        .map(|r| r.method)
        .collect();
    assert_eq!(methods, vec![wiremock::http::Method::POST; hrefs.len()]);
}

/// Sends one request to `endpoint` under a policy of three retries; the endpoint answers
/// `status` with this `Retry-After`. Returns the error, the time taken and the requests sent.
async fn told_to_retry_after(
    endpoint: Endpoint,
    status: u16,
    retry_after: &str,
) -> (Error, Duration, usize) {
    let server = FakeUcwa::start().await;
    let failure = Failure::new(status).header("Retry-After", retry_after);
    server.fail(endpoint, failure.always());
    let policy = RetryPolicy::new().max_retries(3);
    let client = server
        .client_builder()
        .retry_policy(policy)
        .build()
        .unwrap();
    let session = client.session(&server.session_url()).unwrap();
    if endpoint != Endpoint::Session {
        bounded(session.refresh()).await.unwrap();
    }
    let started = Instant::now();
    let error = match endpoint {
        Endpoint::Session => bounded(session.refresh()).await.map(drop),
        _ => bounded(session.renegotiate(OFFER)).await.map(drop),
    }
    .unwrap_err();
    let took = started.elapsed();
    let received = server.received().await.into_iter();
    let sent = received.filter(|r| r.endpoint == Some(endpoint)).count();
    (error, took, sent)
}

fn a_year_or_more() -> [String; 3] {
    let in_a_year = SystemTime::now() + Duration::from_secs(365 * 24 * 3600);
    [
        (365 * 24 * 3600).to_string(),
        httpdate::fmt_http_date(in_a_year),
        u64::MAX.to_string(),
    ]
}

#[tokio::test]
async fn a_retry_after_of_a_year_is_handed_back_at_once_instead_of_waited_for() {
    let cases = [
        (Endpoint::Renegotiations, 503),
        (Endpoint::Renegotiations, 429),
        (Endpoint::Session, 503),
    ];
    for (endpoint, status) in cases {
        for value in a_year_or_more() {
            let (error, took, sent) = told_to_retry_after(endpoint, status, &value).await;
            let case = format!("{endpoint:?} {status} {value}");
            assert!(took < Duration::from_secs(2), "{case}: took {took:?}");
            assert_eq!(error.status().map(|s| s.as_u16()), Some(status), "{case}");
            assert!(error.retry_after().unwrap() > Duration::from_secs(300 * 24 * 3600));
            assert_eq!(sent, 1, "{case}: sent again");
        }
    }
}

#[tokio::test]
async fn a_retry_after_too_large_for_sixty_four_bits_is_not_taken_as_no_wait() {
    let huge = "9".repeat(30);
    let (error, _took, sent) = told_to_retry_after(Endpoint::Renegotiations, 503, &huge).await;
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(sent, 1, "sent again");
}
