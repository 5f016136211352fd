//! Helpers shared by the integration tests: servers on loopback and the payloads they serve.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{Client, DataUri, Error, Renegotiation, Resource, ServiceError, Session};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// An SDP offer with CRLF line endings and an unknown attribute.
pub const OFFER: &str = "v=0\r\n\
o=- 1 1 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
m=audio 5000 RTP/AVP 0\r\n\
a=x-mediasettings:none\r\n";

/// The token the plain mock servers' clients send.
pub const TOKEN: &str = "cwt=test-token";

/// Where the plain mock servers serve the session resource.
pub const SESSION_PATH: &str =
    "/ucwa/v1/applications/192/communication/conversations/137/audioVideo/audioVideoSession";

/// Where the plain mock servers accept renegotiations.
pub const RENEGOTIATIONS_PATH: &str = concat!(
    "/ucwa/v1/applications/192/communication/conversations/137/audioVideo/audioVideoSession",
    "/renegotiations"
);

/// A client for the fake server, and a handle on its session.
pub async fn fake_session(server: &FakeUcwa) -> (Client, Session) {
    let client = server.client_builder().build().expect("client");
    let session = client.session(&server.session_url()).expect("session");
    (client, session)
}

/// A client for a plain http origin on loopback.
pub fn client_for(origin: &str) -> Client {
    Client::builder()
        .origin(origin)
        .token(TOKEN)
        .allow_http(true)
        .build()
        .expect("client")
}

/// The absolute URL of the session on a plain mock server.
pub fn session_url(server: &MockServer) -> String {
    format!("{}{SESSION_PATH}", server.uri())
}

/// A session resource with these links.
pub fn session_json(links: Value) -> Value {
    json!({
        "rel": "audioVideoSession",
        "state": "Established",
        "remoteEndpoint": "sip:far@contoso.com",
        "_links": links,
    })
}

/// Serves the session resource with these links.
pub async fn mount_session(server: &MockServer, links: Value) {
    Mock::given(method("GET"))
        .and(path(SESSION_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(session_json(links)))
        .mount(server)
        .await;
}

/// Answers POSTs to `at` with `response`.
pub async fn mount_post(server: &MockServer, at: &str, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(response)
        .mount(server)
        .await;
}

/// A renegotiation entity with these links.
pub fn entity_json(links: Value) -> Value {
    json!({
        "rel": "audioVideoRenegotiation",
        "direction": "Outgoing",
        "operationId": "op-1",
        "_links": links,
    })
}

/// A data URI holding SDP, in the form servers send.
pub fn sdp_uri(sdp: &str) -> String {
    DataUri::encode_base64("application/sdp", sdp.as_bytes())
}

/// Every request a plain mock server received.
pub async fn requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .expect("request recording is on")
}

/// An http origin on loopback where nothing listens.
pub async fn closed_origin() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{address}")
}

/// Starts a fake server told to answer the next renegotiation with `failure`, and sends one.
pub async fn renegotiate_failing(failure: Failure) -> Error {
    let server = FakeUcwa::start().await;
    server.fail(Endpoint::Renegotiations, failure);
    let (_client, session) = fake_session(&server).await;
    session.renegotiate(OFFER).await.unwrap_err()
}

/// The fake server's 201 reply to a renegotiation, replaced by this JSON body.
pub async fn renegotiate_replied(body: Value) -> Result<Renegotiation, Error> {
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Renegotiations,
        Failure::new(201).raw_body("application/json", body.to_string()),
    );
    let (_client, session) = fake_session(&server).await;
    session.renegotiate(OFFER).await
}

/// The service error an error carries; fails the test for any other error.
pub fn service(error: &Error) -> &ServiceError {
    error
        .service()
        .unwrap_or_else(|| panic!("not a service error: {error:?}"))
}

/// Awaits `call`, failing the test instead of hanging if the client's own timeout never fires.
pub async fn within<T>(call: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), call.into_future())
        .await
        .expect("the call outlived the client's timeout")
}

/// Accepts connections and never answers them.
pub async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    origin
}

/// Reads one request, head and body, from the socket.
async fn read_request(socket: &mut TcpStream) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buffer.len() >= end + 4 + length {
                return Ok(());
            }
        }
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}

/// Answers every request with a 201 whose body is sent in chunks, with no Content-Length.
pub async fn chunked_server(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                read_request(&mut socket).await?;
                socket
                    .write_all(
                        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\
                          Transfer-Encoding: chunked\r\n\r\n",
                    )
                    .await?;
                for piece in body.chunks(256) {
                    let size = format!("{:x}\r\n", piece.len());
                    socket.write_all(size.as_bytes()).await?;
                    socket.write_all(piece).await?;
                    socket.write_all(b"\r\n").await?;
                }
                socket.write_all(b"0\r\n\r\n").await?;
                socket.flush().await
            });
        }
    });
    origin
}

/// Answers every request with this status line and these headers, then sends nothing more.
pub async fn stalling_server(head: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            if read_request(&mut socket).await.is_ok()
                && socket.write_all(head.as_bytes()).await.is_ok()
            {
                held.push(socket);
            }
        }
    });
    origin
}

/// A mock server that answers anything not otherwise mounted with a renegotiation entity.
pub async fn accepting_server() -> MockServer {
    let server = MockServer::start().await;
    let entity = entity_json(json!({"self": {"href": "/r/1"}}));
    Mock::given(any())
        .respond_with(ResponseTemplate::new(201).set_body_json(entity))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// A session on `server` whose links are these, and a client for it.
pub async fn session_with_links(server: &MockServer, links: Value) -> Session {
    mount_session(server, links).await;
    client_for(&server.uri())
        .session(&session_url(server))
        .unwrap()
}

/// A session whose resource is already known, so that only the operation itself is sent.
pub fn session_from_links(client: &Client, links: Value) -> Session {
    let body = session_json(links).to_string();
    let resource = Resource::from_json(body.as_bytes()).unwrap();
    client.session_from_resource(resource).unwrap()
}

/// Fails the test if any of these requests is a POST.
pub fn assert_no_posts(received: &[Request]) {
    let posts: Vec<_> = received
        .iter()
        .filter(|request| request.method.as_str() == "POST")
        .map(|request| request.url.to_string())
        .collect();
    assert!(posts.is_empty(), "sent {posts:?}");
}

/// An entity whose JSON is `size` bytes or more.
pub fn padded_entity(size: usize) -> Vec<u8> {
    let mut entity = entity_json(json!({"self": {"href": "/r/1"}}));
    entity["padding"] = json!("x".repeat(size));
    entity.to_string().into_bytes()
}
