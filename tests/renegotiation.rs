//! Renegotiation end to end over loopback: what is sent, what is parsed, and the follow-ups.

use std::time::Duration;

use serde_json::{Value, json};
use ucwa::testing::{Endpoint, FakeUcwa};
use ucwa::{
    Client, DataUri, DeclineReason, Direction, OperationId, Resource, SequentialOperationIds,
    SessionState,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An offer with CRLF line ends and a vendor attribute, both of which must reach the server
/// untouched.
const OFFER: &str = "v=0\r\n\
o=AudiocodesGW 1293806301 293803040 IN IP4 172.29.107.252\r\n\
s=Phone-Call\r\n\
c=IN IP4 172.29.107.252\r\n\
t=0 0\r\n\
m=audio 6020 RTP/AVP 0 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=x-mediasettings:applicationsharing-disabled\r\n\
a=sendrecv\r\n";

const SESSION_OF_FAKE: &str =
    "/ucwa/oauth/v1/applications/101/communication/conversations/1/audioVideo/audioVideoSession";

const SESSION_PATH: &str =
    "/ucwa/v1/applications/192/communication/conversations/137/audioVideo/audioVideoSession";

/// The body of a fixture: everything from the first line that starts a JSON or XML document.
fn fixture_body(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = text
        .find("\n{")
        .map(|i| i + 1)
        .or_else(|| text.starts_with('{').then_some(0))
        .unwrap_or_else(|| panic!("{name} has no json body"));
    text[start..].to_owned()
}

fn json_response(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

fn client_for(server: &MockServer) -> Client {
    Client::builder()
        .origin(server.uri())
        .token("cwt=PHNhbWw6QXNzZXJ0aW9u")
        .allow_http(true)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A server that serves the reference session and answers `renegotiations` with `reply`.
async fn reference_server(reply: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SESSION_PATH))
        .respond_with(json_response(
            200,
            &fixture_body("audioVideoSession.get.json.http"),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{SESSION_PATH}/renegotiations")))
        .respond_with(reply)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn renegotiate_posts_the_exact_sdp_to_the_renegotiations_link() {
    let reply = json_response(201, &fixture_body("renegotiations.post.201.json.http"));
    let server = reference_server(reply).await;
    let client = client_for(&server);
    let session = client
        .session(&format!("{}{SESSION_PATH}", server.uri()))
        .unwrap();

    let id = OperationId::new("op-42").unwrap();
    let renegotiation = session.renegotiate(OFFER).operation_id(id).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "one GET of the session, one POST");
    let post = &requests[1];
    assert_eq!(post.method.as_str(), "POST");
    assert_eq!(post.url.path(), format!("{SESSION_PATH}/renegotiations"));
    assert_eq!(post.url.query(), Some("operationId=op-42"));
    assert_eq!(post.body, OFFER.as_bytes());
    assert_eq!(post.headers["content-type"], "application/sdp");
    assert_eq!(post.headers["accept"], "application/json");
    assert_eq!(
        post.headers["authorization"],
        "Bearer cwt=PHNhbWw6QXNzZXJ0aW9u"
    );

    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("samplevalue"));
    assert!(renegotiation.answer_link().is_some());
    assert!(renegotiation.dismiss_link().is_some());
    assert!(renegotiation.conversation_link().is_some());
    assert!(renegotiation.audio_video_session_link().is_some());
    assert!(
        renegotiation.self_link().is_none(),
        "the 201 sample has no self link"
    );
}

#[tokio::test]
async fn the_reference_placeholder_sdp_is_a_lazy_decode_error() {
    let reply = json_response(201, &fixture_body("renegotiations.post.201.json.http"));
    let server = reference_server(reply).await;
    let session = client_for(&server)
        .session(&format!("{}{SESSION_PATH}", server.uri()))
        .unwrap();

    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    assert_eq!(
        renegotiation.media_offer().unwrap_err().kind().as_str(),
        "decode"
    );
    assert_eq!(
        renegotiation.media_answer().unwrap_err().kind().as_str(),
        "decode"
    );
}

#[tokio::test]
async fn generated_operation_ids_come_from_the_clients_generator() {
    let server = FakeUcwa::start().await;
    let client = server
        .client_builder()
        .operation_ids(SequentialOperationIds::new("bot", 1).unwrap())
        .build()
        .unwrap();
    let session = client.session(&server.session_url()).unwrap();

    let first = session.renegotiate(OFFER).await.unwrap();
    first.answer().await.unwrap();
    let second = session.renegotiate(OFFER).await.unwrap();

    assert_eq!(first.operation_id(), Some("bot-1"));
    assert_eq!(second.operation_id(), Some("bot-2"));
    let posts: Vec<_> = server
        .received()
        .await
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Renegotiations))
        .map(|r| r.query_param("operationId"))
        .collect();
    assert_eq!(posts, [Some("bot-1".to_owned()), Some("bot-2".to_owned())]);
}

#[tokio::test]
async fn default_operation_ids_are_uuids() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let renegotiation = client
        .session(&server.session_url())
        .unwrap()
        .renegotiate(OFFER)
        .await
        .unwrap();
    let id = renegotiation.operation_id().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(id.matches('-').count(), 4);
}

#[tokio::test]
async fn offer_and_answer_decode_from_base64_data_uris() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();

    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    assert_eq!(
        renegotiation.media_offer().unwrap().unwrap(),
        OFFER.as_bytes()
    );
    assert_eq!(
        renegotiation.media_answer().unwrap().unwrap(),
        ucwa::testing::FAKE_ANSWER_SDP.as_bytes()
    );
}

#[tokio::test]
async fn percent_encoded_data_uris_and_absent_links() {
    let encoded: String =
        url::form_urlencoded::byte_serialize(OFFER.as_bytes()).collect::<String>();
    let entity = json!({
        "direction": "Outgoing",
        "operationId": "x",
        "_links": {
            "mediaOffer": {
                "href": format!("data:application/sdp,{}", encoded.replace('+', "%20"))
            },
            "answer": { "href": "/answer" }
        }
    });
    let server = reference_server(json_response(201, &entity.to_string())).await;
    let session = client_for(&server)
        .session(&format!("{}{SESSION_PATH}", server.uri()))
        .unwrap();

    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    assert_eq!(
        renegotiation.media_offer().unwrap().unwrap(),
        OFFER.as_bytes()
    );
    assert_eq!(renegotiation.media_answer().unwrap(), None);
    assert_eq!(renegotiation.direction(), Some(&Direction::Outgoing));
}

#[tokio::test]
async fn unknown_directions_properties_and_links_are_kept() {
    let entity = json!({
        "direction": "Sideways",
        "operationId": "x",
        "5d8e1f2a-0000-4000-8000-000000000000": "please pass this in a PUT request",
        "brandNew": { "nested": [1, 2, 3] },
        "_links": {
            "futureAction": {
                "href": "/future", "title": "Later", "revision": "2", "x-hint": true
            },
            "participants": [{ "href": "/p/1" }, { "href": "/p/2" }]
        },
        "_embedded": { "thing": { "rel": "thing" } }
    });
    let server = reference_server(json_response(201, &entity.to_string())).await;
    let session = client_for(&server)
        .session(&format!("{}{SESSION_PATH}", server.uri()))
        .unwrap();

    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    assert_eq!(
        renegotiation.direction(),
        Some(&Direction::Unknown("Sideways".to_owned()))
    );
    let future = renegotiation.links().get("futureAction").unwrap();
    assert_eq!(future.title.as_deref(), Some("Later"));
    assert_eq!(future.revision().unwrap(), 2);
    assert_eq!(future.extra["x-hint"], Value::Bool(true));
    assert_eq!(renegotiation.links().get_all("participants").len(), 2);
    assert_eq!(
        renegotiation.resource().property("brandNew"),
        Some(&json!({ "nested": [1, 2, 3] }))
    );
    assert!(renegotiation.resource().embedded("thing").is_some());
}

#[tokio::test]
async fn resume_operations_post_to_their_own_links() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();

    let audio = session.resume_audio(OFFER).await.unwrap();
    audio.dismiss(None).await.unwrap();
    let video = session.resume_audio_video(OFFER).await.unwrap();

    assert_eq!(video.media_offer().unwrap().unwrap(), OFFER.as_bytes());
    let endpoints: Vec<_> = server
        .received()
        .await
        .into_iter()
        .filter_map(|r| r.endpoint)
        .collect();
    assert_eq!(
        endpoints,
        [
            Endpoint::Session,
            Endpoint::ResumeAudio,
            Endpoint::Dismiss,
            Endpoint::ResumeAudioVideo
        ]
    );
}

#[tokio::test]
async fn resume_audio_video_reads_the_reference_reply() {
    let server = MockServer::start().await;
    let session_body = json!({
        "state": "Established",
        "_links": { "resumeAudioVideo": { "href": format!("{SESSION_PATH}/resumeAudioVideo") } }
    });
    Mock::given(method("GET"))
        .and(path(SESSION_PATH))
        .respond_with(json_response(200, &session_body.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{SESSION_PATH}/resumeAudioVideo")))
        .respond_with(json_response(
            201,
            &fixture_body("resumeAudioVideo.post.201.json.http"),
        ))
        .mount(&server)
        .await;
    let session = client_for(&server)
        .session(&format!("{}{SESSION_PATH}", server.uri()))
        .unwrap();

    let renegotiation = session.resume_audio_video(OFFER).await.unwrap();

    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("samplevalue"));
}

#[tokio::test]
async fn a_location_only_201_is_completed_by_a_get() {
    let server = FakeUcwa::builder().location_only(true).start().await;
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();

    let renegotiation = session
        .renegotiate(OFFER)
        .operation_id(OperationId::new("loc-1").unwrap())
        .await
        .unwrap();

    assert_eq!(renegotiation.operation_id(), Some("loc-1"));
    assert_eq!(
        renegotiation.media_offer().unwrap().unwrap(),
        OFFER.as_bytes()
    );
    let endpoints: Vec<_> = server
        .received()
        .await
        .into_iter()
        .filter_map(|r| r.endpoint)
        .collect();
    assert_eq!(
        endpoints,
        [
            Endpoint::Session,
            Endpoint::Renegotiations,
            Endpoint::Renegotiation
        ]
    );
}

#[tokio::test]
async fn answer_posts_no_body_and_answer_with_posts_the_exact_sdp() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();

    session
        .renegotiate(OFFER)
        .await
        .unwrap()
        .answer()
        .await
        .unwrap();
    let answer_sdp = "v=0\r\na=x-answer:yes\r\n";
    session
        .renegotiate(OFFER)
        .await
        .unwrap()
        .answer_with(answer_sdp)
        .await
        .unwrap();

    let answers: Vec<_> = server
        .received()
        .await
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Answer))
        .collect();
    assert_eq!(answers.len(), 2);
    assert!(answers[0].body.is_empty());
    assert_eq!(answers[0].header("content-type"), None);
    assert_eq!(answers[1].body, answer_sdp.as_bytes());
    assert_eq!(answers[1].header("content-type"), Some("application/sdp"));
    assert_eq!(server.last_answer_sdp().unwrap(), answer_sdp.as_bytes());
    assert!(!server.has_pending_renegotiation());
}

#[tokio::test]
async fn dismiss_sends_each_documented_reason() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();

    for reason in DeclineReason::ALL {
        let renegotiation = session.renegotiate(OFFER).await.unwrap();
        renegotiation.dismiss(Some(reason)).await.unwrap();
    }
    session
        .renegotiate(OFFER)
        .await
        .unwrap()
        .dismiss(None)
        .await
        .unwrap();

    let bodies: Vec<Value> = server
        .received()
        .await
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Dismiss))
        .inspect(|r| assert_eq!(r.header("content-type"), Some("application/json")))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let mut expected: Vec<Value> = DeclineReason::ALL
        .iter()
        .map(|reason| json!({ "reason": reason.as_str() }))
        .collect();
    expected.push(json!({}));
    assert_eq!(bodies, expected);
}

#[tokio::test]
async fn the_session_resource_is_fetched_once_and_refreshed_on_demand() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();

    assert_eq!(
        session.state().await.unwrap(),
        Some(SessionState::Established)
    );
    assert_eq!(
        session.remote_endpoint().await.unwrap().as_deref(),
        Some("sip:far-end@fake.ucwa.test")
    );
    assert_eq!(
        session.session_context().await.unwrap().as_deref(),
        Some("fake-session-context")
    );
    session
        .renegotiate(OFFER)
        .await
        .unwrap()
        .answer()
        .await
        .unwrap();
    session.refresh().await.unwrap();

    let gets = server
        .received()
        .await
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::Session))
        .count();
    assert_eq!(gets, 2, "one lazy GET, one refresh");
}

#[tokio::test]
async fn the_reference_session_exposes_its_properties() {
    let server = reference_server(ResponseTemplate::new(500)).await;
    let session = client_for(&server)
        .session(&format!("{}{SESSION_PATH}", server.uri()))
        .unwrap();

    assert_eq!(
        session.state().await.unwrap(),
        Some(SessionState::Established)
    );
    assert_eq!(
        session.remote_endpoint().await.unwrap().as_deref(),
        Some("samplevalue")
    );
    let resource = session.resource().await.unwrap();
    assert_eq!(resource.rel(), Some("session"));
    assert!(resource.links().contains("publishCallQualityFeedback"));
}

#[tokio::test]
async fn a_session_from_a_fetched_resource_sends_no_get() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let resource = Resource::from_json(
        json!({
            "state": "Establishing",
            "_links": {
                "self": { "href": server.session_url() },
                "renegotiations": {
                    "href": format!("{}/renegotiations", SESSION_OF_FAKE)
                }
            }
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();

    let session = client.session_from_resource(resource).unwrap();
    assert_eq!(
        session.state().await.unwrap(),
        Some(SessionState::Establishing)
    );
    session.renegotiate(OFFER).await.unwrap();

    let endpoints: Vec<_> = server
        .received()
        .await
        .into_iter()
        .filter_map(|r| r.endpoint)
        .collect();
    assert_eq!(endpoints, [Endpoint::Renegotiations]);
}

#[tokio::test]
async fn a_data_uri_built_by_the_crate_decodes_to_the_same_bytes() {
    let uri = DataUri::encode_base64("application/sdp", OFFER.as_bytes());
    assert_eq!(DataUri::parse(&uri).unwrap().data, OFFER.as_bytes());
}

#[tokio::test]
async fn refresh_shows_that_an_answered_renegotiation_has_no_actions_left() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();
    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    renegotiation.answer().await.unwrap();
    let now = renegotiation.refresh().await.unwrap();

    assert!(
        renegotiation.answer_link().is_some(),
        "the snapshot is unchanged"
    );
    assert!(now.answer_link().is_none());
    assert!(now.dismiss_link().is_none());
    assert_eq!(now.operation_id(), renegotiation.operation_id());
    let again = renegotiation.answer().await.unwrap_err();
    assert_eq!(again.status().map(|s| s.as_u16()), Some(404));
}
