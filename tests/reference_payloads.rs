//! The protocol reference's own payloads, served over loopback, drive the typed API.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use ucwa::testing::{Endpoint, FakeUcwa};
use ucwa::{
    Application, ApplicationSpec, Client, DeclineReason, Direction, ErrorKind, ErrorSubcode,
    EventChannel, Renegotiation, Resource,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The JSON body of a fixture: from its first `{` (the samples carry headers before it, some
/// indented) to the end.
fn body(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text
        .find('{')
        .unwrap_or_else(|| panic!("{name} has no json"));
    text[start..].to_owned()
}

fn json(status: u16, name: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body(name).into_bytes(), "application/json")
}

fn client(server: &MockServer) -> Client {
    Client::builder()
        .origin(server.uri())
        .token("cwt=PHNhbWw6QXNzZXJ0aW9uIHhtbG5")
        .allow_http(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_reference_application_reply_gives_links_and_embedded_resources() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/ucwa/oauth/v1/applications"))
        .respond_with(json(201, "application.create.201.http"))
        .mount(&server)
        .await;

    let app = Application::create(
        &client(&server),
        &format!("{}/ucwa/oauth/v1/applications", server.uri()),
        ApplicationSpec::new("UCWA Samples", "123456", "en-US"),
    )
    .await
    .unwrap();

    assert_eq!(
        app.events_link().unwrap().href,
        "/ucwa/oauth/v1/applications/105/events?ack=1"
    );
    assert_eq!(app.url().path(), "/ucwa/oauth/v1/applications/105");
    assert_eq!(app.me().unwrap().property_str("name"), Some("Lene Aaling"));
    let communication = app.communication().unwrap();
    assert_eq!(communication.property_str("etag"), Some("3140562359"));
    assert!(
        app.embedded("onlineMeetings")
            .unwrap()
            .links()
            .contains("myOnlineMeetings")
    );
}

#[tokio::test]
async fn the_reference_application_not_found_ends_the_event_channel() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ucwa/oauth/v1/applications/105/events"))
        .respond_with(json(404, "error.404.applicationNotFound.http"))
        .mount(&server)
        .await;
    let client = client(&server);

    let mut channel = EventChannel::builder_for_url(
        &client,
        &format!(
            "{}/ucwa/oauth/v1/applications/105/events?ack=1",
            server.uri()
        ),
    )
    .start()
    .unwrap();
    let item = tokio::time::timeout(Duration::from_secs(10), channel.next())
        .await
        .unwrap();

    let error = item.unwrap().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ApplicationNotFound);
    assert!(
        error
            .service()
            .unwrap()
            .message
            .as_deref()
            .unwrap()
            .contains("Please retry")
    );
}

#[tokio::test]
async fn the_reference_conflict_is_renegotiation_in_progress() {
    let server = MockServer::start().await;
    let session = serde_json::json!({
        "_links": { "renegotiations": { "href": "/s/renegotiations" } }
    });
    Mock::given(method("GET"))
        .and(path("/s"))
        .respond_with(ResponseTemplate::new(200).set_body_json(session))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/s/renegotiations"))
        .respond_with(json(409, "error.json"))
        .mount(&server)
        .await;

    let error = client(&server)
        .session(&format!("{}/s", server.uri()))
        .unwrap()
        .renegotiate("v=0\r\n")
        .await
        .unwrap_err();

    assert_eq!(error.kind(), ErrorKind::RenegotiationInProgress);
    let service = error.service().unwrap();
    assert_eq!(service.subcode, Some(ErrorSubcode::AlreadyExists));
    assert_eq!(
        service.message.as_deref(),
        Some("The requested resource already exists. Please wait and try again.")
    );
}

#[tokio::test]
async fn the_reference_renegotiation_entity_reads_and_dismisses_as_the_reference_shows() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    // The reference entity, with its links pointed at the fake server's real entity.
    let path = server.incoming_renegotiation("samplevalue", "v=0\r\n", false);
    let mut entity: Value =
        serde_json::from_str(&body("audioVideoRenegotiation.get.200.json.http")).unwrap();
    entity["_links"]["dismiss"]["href"] = Value::from(format!("{path}/dismiss"));
    let resource = Resource::from_json(entity.to_string().as_bytes()).unwrap();

    let renegotiation = Renegotiation::from_resource(&client, resource);
    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("samplevalue"));
    assert_eq!(
        renegotiation.resource().rel(),
        Some("audioVideoRenegotiation")
    );
    renegotiation
        .dismiss(Some(DeclineReason::InsufficientBandwidth))
        .await
        .unwrap();

    let sent = server
        .received()
        .await
        .into_iter()
        .find(|r| r.endpoint == Some(Endpoint::Dismiss))
        .unwrap();
    let sent: Value = serde_json::from_slice(&sent.body).unwrap();
    let reference: Value = serde_json::from_str(&body("dismiss.post.json.request.http")).unwrap();
    assert_eq!(
        sent, reference,
        "the same input as the reference's dismiss request"
    );
}
