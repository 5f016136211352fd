//! Renegotiation end to end over loopback with a client that speaks XML: what is sent, what is
//! parsed, and the follow-ups, each the twin of a JSON test.

mod support;
#[path = "support/xml.rs"]
mod xml_support;

use serde_json::{Value, json};
use ucwa::testing::{Endpoint, FakeUcwa};
use ucwa::{
    DeclineReason, Direction, Format, OperationId, Renegotiation, Resource, SequentialOperationIds,
    SessionState,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use support::{OFFER, RENEGOTIATIONS_PATH, SESSION_PATH, TOKEN, requests, session_url};
use xml_support::{
    assert_asked_for_xml, assert_requests_asked_for_xml, expected_input, json_fixture,
    resource_xml, tree, xml_client, xml_client_for, xml_fixture, xml_reply, xml_session,
};

/// A server that serves the reference XML session and answers `renegotiations` with `reply`.
async fn reference_server(reply: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SESSION_PATH))
        .respond_with(xml_reply(
            200,
            xml_fixture("audioVideoSession.get.xml.http"),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(RENEGOTIATIONS_PATH))
        .respond_with(reply)
        .mount(&server)
        .await;
    server
}

/// Renegotiates from an XML client against the reference server, checking that it asked for XML.
async fn renegotiate_against(reply: ResponseTemplate) -> Renegotiation {
    let server = reference_server(reply).await;
    let session = xml_client_for(&server.uri())
        .session(&session_url(&server))
        .unwrap();
    let renegotiation = session.renegotiate(OFFER).await.unwrap();
    assert_requests_asked_for_xml(&requests(&server).await);
    renegotiation
}

fn endpoints(received: &[ucwa::testing::Received]) -> Vec<Endpoint> {
    received.iter().filter_map(|r| r.endpoint).collect()
}

#[tokio::test]
async fn xml_renegotiate_posts_the_exact_sdp_and_reads_the_reference_xml_entity() {
    let reply = xml_reply(201, xml_fixture("renegotiations.post.201.xml.http"));
    let server = reference_server(reply).await;
    let session = xml_client_for(&server.uri())
        .session(&session_url(&server))
        .unwrap();

    let id = OperationId::new("op-42").unwrap();
    let renegotiation = session.renegotiate(OFFER).operation_id(id).await.unwrap();

    let requests = requests(&server).await;
    assert_eq!(requests.len(), 2, "one GET of the session, one POST");
    assert_requests_asked_for_xml(&requests);
    let post = &requests[1];
    assert_eq!(post.method.as_str(), "POST");
    assert_eq!(post.url.query(), Some("operationId=op-42"));
    assert_eq!(post.body, OFFER.as_bytes());
    assert_eq!(post.headers["content-type"], "application/sdp");
    assert_eq!(post.headers["authorization"], format!("Bearer {TOKEN}"));

    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("samplevalue"));
    assert!(renegotiation.answer_link().is_some());
    assert!(renegotiation.dismiss_link().is_some());
    assert!(renegotiation.conversation_link().is_some());
    assert!(renegotiation.audio_video_session_link().is_some());
    assert!(renegotiation.self_link().is_none(), "the root has no href");
    let json =
        Resource::from_json(json_fixture("renegotiations.post.201.json.http").as_bytes()).unwrap();
    assert_eq!(
        renegotiation.links(),
        json.links(),
        "the same links as in json"
    );
    assert_eq!(renegotiation.resource().properties(), json.properties());
}

#[tokio::test]
async fn xml_the_reference_placeholder_sdp_is_a_lazy_decode_error() {
    let reply = xml_reply(201, xml_fixture("renegotiations.post.201.xml.http"));
    let renegotiation = renegotiate_against(reply).await;

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
async fn xml_generated_operation_ids_come_from_the_clients_generator() {
    let server = FakeUcwa::start().await;
    let client = server
        .client_builder()
        .format(Format::Xml)
        .operation_ids(SequentialOperationIds::new("bot", 1).unwrap())
        .build()
        .unwrap();
    let session = client.session(&server.session_url()).unwrap();

    let first = session.renegotiate(OFFER).await.unwrap();
    first.answer().await.unwrap();
    let second = session.renegotiate(OFFER).await.unwrap();

    assert_eq!(first.operation_id(), Some("bot-1"));
    assert_eq!(second.operation_id(), Some("bot-2"));
    let received = server.received().await;
    assert_asked_for_xml(&received);
    let posts: Vec<_> = received
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::Renegotiations))
        .map(|r| r.query_param("operationId"))
        .collect();
    assert_eq!(posts, [Some("bot-1".to_owned()), Some("bot-2".to_owned())]);
}

#[tokio::test]
async fn xml_default_operation_ids_are_uuids() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);

    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    let id = renegotiation.operation_id().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(id.matches('-').count(), 4);
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_offer_and_answer_decode_from_base64_data_uris() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);

    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    assert_eq!(
        renegotiation.media_offer().unwrap().unwrap(),
        OFFER.as_bytes()
    );
    assert_eq!(
        renegotiation.media_answer().unwrap().unwrap(),
        ucwa::testing::FAKE_ANSWER_SDP.as_bytes()
    );
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_percent_encoded_data_uris_and_absent_links() {
    let encoded: String = url::form_urlencoded::byte_serialize(OFFER.as_bytes()).collect();
    let offer = format!("data:application/sdp,{}", encoded.replace('+', "%20"));
    let entity = resource_xml(
        &[("mediaOffer", &offer), ("answer", "/answer")],
        &[("direction", "Outgoing"), ("operationId", "x")],
        "",
    );
    let renegotiation = renegotiate_against(xml_reply(201, entity)).await;

    assert_eq!(
        renegotiation.media_offer().unwrap().unwrap(),
        OFFER.as_bytes()
    );
    assert_eq!(renegotiation.media_answer().unwrap(), None);
    assert_eq!(renegotiation.direction(), Some(&Direction::Outgoing));
}

#[tokio::test]
async fn xml_unknown_directions_properties_elements_and_links_are_kept() {
    let inner = r#"<link rel="futureAction" href="/future" title="Later" revision="2" x-hint="true"/>
        <link rel="participants" href="/p/1"/><link rel="participants" href="/p/2"/>
        <property name="5d8e1f2a-0000-4000-8000-000000000000">please pass this in a PUT request</property>
        <propertyList name="brandNew"><item>1</item><item>2</item><item>3</item></propertyList>
        <futureElement kind="new">unknown to this version</futureElement>
        <resource rel="thing"><property name="colour">blue</property></resource>"#;
    let entity = resource_xml(
        &[],
        &[("direction", "Sideways"), ("operationId", "x")],
        inner,
    );
    let renegotiation = renegotiate_against(xml_reply(201, entity)).await;

    assert_eq!(
        renegotiation.direction(),
        Some(&Direction::Unknown("Sideways".to_owned()))
    );
    let future = renegotiation.links().get("futureAction").unwrap();
    assert_eq!(future.title.as_deref(), Some("Later"));
    assert_eq!(future.revision().unwrap(), 2);
    assert_eq!(
        future.extra["x-hint"],
        Value::from("true"),
        "attributes are text"
    );
    assert_eq!(renegotiation.links().get_all("participants").len(), 2);
    let resource = renegotiation.resource();
    assert_eq!(
        resource.property_str("5d8e1f2a-0000-4000-8000-000000000000"),
        Some("please pass this in a PUT request")
    );
    assert_eq!(resource.property("brandNew"), Some(&json!(["1", "2", "3"])));
    assert!(resource.property("futureElement").is_none());
    let thing = resource.embedded("thing").unwrap();
    assert_eq!(thing.property_str("colour"), Some("blue"));
}

#[tokio::test]
async fn xml_resume_operations_post_to_their_own_links_and_dismiss_sends_an_empty_input() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);

    let audio = session.resume_audio(OFFER).await.unwrap();
    audio.dismiss(None).await.unwrap();
    let video = session.resume_audio_video(OFFER).await.unwrap();

    assert_eq!(video.media_offer().unwrap().unwrap(), OFFER.as_bytes());
    let received = server.received().await;
    assert_asked_for_xml(&received);
    assert_eq!(
        endpoints(&received),
        [
            Endpoint::Session,
            Endpoint::ResumeAudio,
            Endpoint::Dismiss,
            Endpoint::ResumeAudioVideo
        ]
    );
    let dismiss = &received[2];
    assert_eq!(dismiss.header("content-type"), Some("application/xml"));
    assert_eq!(tree(&dismiss.body), expected_input(&[]));
}

#[tokio::test]
async fn xml_resume_audio_video_reads_an_xml_reply() {
    let server = MockServer::start().await;
    let resume = format!("{SESSION_PATH}/resumeAudioVideo");
    let session_body = resource_xml(
        &[("resumeAudioVideo", &resume)],
        &[("state", "Established")],
        "",
    );
    Mock::given(method("GET"))
        .and(path(SESSION_PATH))
        .respond_with(xml_reply(200, session_body))
        .mount(&server)
        .await;
    // The reference gives the same reply to resumeAudioVideo as to renegotiations.
    Mock::given(method("POST"))
        .and(path(resume.as_str()))
        .respond_with(xml_reply(
            201,
            xml_fixture("renegotiations.post.201.xml.http"),
        ))
        .mount(&server)
        .await;
    let session = xml_client_for(&server.uri())
        .session(&session_url(&server))
        .unwrap();

    let renegotiation = session.resume_audio_video(OFFER).await.unwrap();

    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("samplevalue"));
    assert_requests_asked_for_xml(&requests(&server).await);
}

#[tokio::test]
async fn xml_a_location_only_201_is_completed_by_a_get() {
    let server = FakeUcwa::builder().location_only(true).start().await;
    let (_client, session) = xml_session(&server);

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
    let received = server.received().await;
    assert_asked_for_xml(&received);
    assert_eq!(
        endpoints(&received),
        [
            Endpoint::Session,
            Endpoint::Renegotiations,
            Endpoint::Renegotiation
        ]
    );
}

#[tokio::test]
async fn xml_answer_posts_no_body_and_answer_with_posts_the_exact_sdp() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);

    session
        .renegotiate(OFFER)
        .await
        .unwrap()
        .answer()
        .await
        .unwrap();
    let answer_sdp = "v=0\r\na=x-answer:yes\r\n";
    let second = session.renegotiate(OFFER).await.unwrap();
    second.answer_with(answer_sdp).await.unwrap();

    let received = server.received().await;
    assert_asked_for_xml(&received);
    let answers: Vec<_> = received
        .iter()
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
async fn xml_dismiss_sends_each_documented_reason_as_an_xml_input() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);

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

    let received = server.received().await;
    assert_asked_for_xml(&received);
    let bodies: Vec<_> = received
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::Dismiss))
        .inspect(|r| assert_eq!(r.header("content-type"), Some("application/xml")))
        .map(|r| tree(&r.body))
        .collect();
    let mut expected: Vec<_> = DeclineReason::ALL
        .iter()
        .map(|reason| expected_input(&[("reason", reason.as_str())]))
        .collect();
    expected.push(expected_input(&[]));
    assert_eq!(bodies, expected);
    assert_eq!(bodies[0].namespace.as_deref(), Some(xml_support::UCWA));
}

#[tokio::test]
async fn xml_the_session_resource_is_fetched_once_and_refreshed_on_demand() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);

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

    let received = server.received().await;
    assert_asked_for_xml(&received);
    let gets = received
        .iter()
        .filter(|r| r.endpoint == Some(Endpoint::Session))
        .count();
    assert_eq!(gets, 2, "one lazy GET, one refresh");
}

#[tokio::test]
async fn xml_the_reference_session_is_establishing_with_the_json_samples_links() {
    let server = reference_server(ResponseTemplate::new(500)).await;
    let session = xml_client_for(&server.uri())
        .session(&session_url(&server))
        .unwrap();

    assert_eq!(
        session.state().await.unwrap(),
        Some(SessionState::Establishing)
    );
    assert_eq!(
        session.remote_endpoint().await.unwrap().as_deref(),
        Some("samplevalue")
    );
    assert_eq!(
        session.session_context().await.unwrap().as_deref(),
        Some("samplevalue")
    );
    let resource = session.resource().await.unwrap();
    assert_eq!(resource.rel(), Some("session"));
    assert!(resource.links().contains("publishCallQualityFeedback"));
    let json =
        Resource::from_json(json_fixture("audioVideoSession.get.json.http").as_bytes()).unwrap();
    assert_eq!(resource.links(), json.links());
    assert_requests_asked_for_xml(&requests(&server).await);
}

#[tokio::test]
async fn xml_a_session_from_a_fetched_xml_resource_sends_no_get() {
    let server = FakeUcwa::start().await;
    let client = xml_client(&server);
    let renegotiations = format!("{}/renegotiations", server.session_url());
    let body = resource_xml(
        &[
            ("self", &server.session_url()),
            ("renegotiations", &renegotiations),
        ],
        &[("state", "Establishing")],
        "",
    );
    let resource = Resource::from_xml(body.as_bytes()).unwrap();

    let session = client.session_from_resource(resource).unwrap();
    assert_eq!(
        session.state().await.unwrap(),
        Some(SessionState::Establishing)
    );
    session.renegotiate(OFFER).await.unwrap();

    let received = server.received().await;
    assert_asked_for_xml(&received);
    assert_eq!(endpoints(&received), [Endpoint::Renegotiations]);
}

#[tokio::test]
async fn xml_refresh_shows_that_an_answered_renegotiation_has_no_actions_left() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);
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
    assert_eq!(now.direction(), Some(&Direction::Outgoing));
    let again = renegotiation.answer().await.unwrap_err();
    assert_eq!(again.status().map(|s| s.as_u16()), Some(404));
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_the_reference_renegotiation_entity_reads_and_dismisses_as_the_reference_shows() {
    let server = FakeUcwa::start().await;
    let client = xml_client(&server);
    let path = server.incoming_renegotiation("samplevalue", "v=0\r\n", false);
    let reference = xml_fixture("audioVideoRenegotiation.get.200.xml.http");
    let xml = Resource::from_xml(reference.as_bytes()).unwrap();
    let json =
        Resource::from_json(json_fixture("audioVideoRenegotiation.get.200.json.http").as_bytes())
            .unwrap();
    assert_eq!(
        xml.links(),
        json.links(),
        "the same links as the json sample"
    );
    assert_eq!(xml.properties(), json.properties());
    // The reference entity, with its dismiss link pointed at the fake server's real entity.
    let dismiss = &xml.links().get("dismiss").unwrap().href;
    let pointed = reference.replace(dismiss.as_str(), &format!("{path}/dismiss"));

    let resource = Resource::from_xml(pointed.as_bytes()).unwrap();
    let renegotiation = Renegotiation::from_resource(&client, resource);
    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("samplevalue"));
    assert_eq!(
        renegotiation.resource().rel(),
        Some("audioVideoRenegotiation")
    );
    renegotiation
        .dismiss(Some(DeclineReason::Unknown))
        .await
        .unwrap();

    let received = server.received().await;
    assert_asked_for_xml(&received);
    let sent = received
        .iter()
        .find(|r| r.endpoint == Some(Endpoint::Dismiss))
        .unwrap();
    let request = std::fs::read_to_string(format!(
        "{}/tests/fixtures/dismiss.post.xml.request.http",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert!(request.contains("Content-Type: application/xml"));
    assert_eq!(sent.header("content-type"), Some("application/xml"));
    assert_eq!(
        tree(&sent.body),
        tree(xml_fixture("dismiss.post.xml.request.http").as_bytes()),
        "the same input as the reference's dismiss request"
    );
    assert!(!server.has_pending_renegotiation());
}

#[tokio::test]
async fn a_reply_without_a_content_type_starting_with_a_tag_is_read_as_xml() {
    let entity = xml_support::entity_xml(&[("self", "/r/1")]);
    let server = reference_server(ResponseTemplate::new(201).set_body_bytes(entity)).await;
    let session = support::client_for(&server.uri())
        .session(&session_url(&server))
        .unwrap();

    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    let post = requests(&server).await.remove(1);
    assert_eq!(post.headers["accept"], "application/json", "a json client");
    assert_eq!(renegotiation.operation_id(), Some("op-1"));
    assert_eq!(renegotiation.self_link().unwrap().href, "/r/1");
}

#[tokio::test]
async fn an_xml_error_body_without_a_content_type_is_sniffed_like_other_replies() {
    let reason = format!(
        r#"<reason xmlns="{}"><code>Conflict</code><subcode>AlreadyExists</subcode></reason>"#,
        xml_support::UCWA
    );
    let server = reference_server(ResponseTemplate::new(409).set_body_bytes(reason)).await;
    let session = xml_client_for(&server.uri())
        .session(&session_url(&server))
        .unwrap();

    let error = session.renegotiate(OFFER).await.unwrap_err();

    assert_eq!(error.kind(), ucwa::ErrorKind::RenegotiationInProgress);
    assert_eq!(error.service().unwrap().raw_body, None);
}
