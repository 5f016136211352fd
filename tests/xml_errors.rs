//! Every kind of error, produced over real HTTP on loopback for a client that speaks XML, each
//! the twin of a JSON test: XML error bodies give the same kinds and fields as JSON ones.

mod support;
#[path = "support/xml.rs"]
mod xml_support;

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use serde_json::json;
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{
    DataUri, DeclineReason, Direction, Error, ErrorCode, ErrorKind, ErrorSubcode, RetryAfter,
    StatusCode,
};
use wiremock::ResponseTemplate;

use support::{OFFER, RENEGOTIATIONS_PATH, closed_origin, requests, sdp_uri, service, session_url};
use xml_support::{
    UCWA, assert_asked_for_xml, assert_requests_asked_for_xml, entity_xml, json_fixture,
    resource_xml, xml_client, xml_client_for, xml_fixture, xml_renegotiate_failing,
    xml_renegotiate_replied, xml_renegotiations_server, xml_reply, xml_session,
};

/// A 201 renegotiation reply with this content type and body, sent to an XML client.
async fn xml_replied(content_type: &str, body: impl Into<String>) -> Error {
    let replied = xml_renegotiate_replied(content_type, body).await;
    replied.unwrap_err()
}

/// `kind status code/subcode` of a service error, `-` for what is absent.
fn summary(error: &Error) -> String {
    let service = service(error);
    let code = service.code.as_ref().map_or("-", ErrorCode::as_str);
    let subcode = service.subcode.as_ref().map_or("-", ErrorSubcode::as_str);
    format!(
        "{} {} {code}/{subcode}",
        error.kind(),
        service.status.as_u16()
    )
}

#[tokio::test]
async fn xml_second_renegotiation_while_one_is_pending_is_renegotiation_in_progress() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);
    let first = session.renegotiate(OFFER).await.expect("first");

    let error = session.renegotiate(OFFER).await.unwrap_err();
    let expected = "renegotiation_in_progress 409 Conflict/AlreadyExists";
    assert_eq!(summary(&error), expected);
    let message = service(&error).message.as_deref();
    assert!(message.unwrap().contains("Please wait"), "{message:?}");
    assert_eq!(service(&error).raw_body, None, "the xml body was read");

    first.dismiss(None).await.expect("dismiss");
    session.renegotiate(OFFER).await.expect("none pending");
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_conflict_already_exists_is_renegotiation_in_progress() {
    let failure = Failure::new(409).code("Conflict").subcode("AlreadyExists");
    let error = xml_renegotiate_failing(failure).await;
    assert_eq!(error.kind().as_str(), "renegotiation_in_progress");
    assert_eq!(service(&error).subcode, Some(ErrorSubcode::AlreadyExists));
}

#[tokio::test]
async fn xml_conflict_too_many_groups_is_too_many_groups() {
    let failure = Failure::new(409).code("Conflict").subcode("TooManyGroups");
    let error = xml_renegotiate_failing(failure).await;
    assert_eq!(error.kind(), ErrorKind::TooManyGroups);
    assert_eq!(service(&error).subcode, Some(ErrorSubcode::TooManyGroups));
}

#[tokio::test]
async fn xml_conflict_with_subcode_none_is_unsupported() {
    let error = xml_renegotiate_failing(Failure::new(409).code("Conflict").subcode("None")).await;
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(service(&error).code, Some(ErrorCode::Conflict));
    assert_eq!(service(&error).subcode, None);
}

#[tokio::test]
async fn xml_conflict_without_subcode_is_unsupported() {
    let error = xml_renegotiate_failing(Failure::new(409).code("Conflict")).await;
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(service(&error).subcode, None);
}

#[tokio::test]
async fn xml_gone_cannot_redirect_is_cannot_redirect() {
    let failure = Failure::new(410).code("Gone").subcode("CannotRedirect");
    let error = xml_renegotiate_failing(failure).await;
    assert_eq!(error.kind(), ErrorKind::CannotRedirect);
    assert_eq!(error.status(), Some(StatusCode::GONE));
}

#[tokio::test]
async fn xml_service_failure_callback_channel_error_is_callback_channel_error() {
    let failure = Failure::new(500).code("ServiceFailure");
    let error = xml_renegotiate_failing(failure.subcode("CallbackChannelError")).await;
    assert_eq!(error.kind(), ErrorKind::CallbackChannelError);
    assert_eq!(service(&error).code, Some(ErrorCode::ServiceFailure));
}

#[tokio::test]
async fn xml_codes_and_subcodes_match_case_insensitively() {
    let failure = Failure::new(409).code("conflict").subcode("alreadyexists");
    let error = xml_renegotiate_failing(failure).await;
    let expected = "renegotiation_in_progress 409 Conflict/AlreadyExists";
    assert_eq!(summary(&error), expected);

    let failure = Failure::new(410).code("GONE").subcode("CANNOTREDIRECT");
    let error = xml_renegotiate_failing(failure).await;
    assert_eq!(summary(&error), "cannot_redirect 410 Gone/CannotRedirect");

    let error = xml_renegotiate_failing(Failure::new(412).code("PreConditionFailed")).await;
    assert_eq!(service(&error).code, Some(ErrorCode::PreconditionFailed));
}

#[tokio::test]
async fn xml_unknown_code_and_subcode_are_kept_as_strings_with_kind_api() {
    let failure = Failure::new(409).code("Teapot").subcode("BrandNewThing");
    let error = xml_renegotiate_failing(failure).await;
    assert_eq!(summary(&error), "api 409 Teapot/BrandNewThing");
    let subcode = ErrorSubcode::Other("BrandNewThing".to_owned());
    assert_eq!(service(&error).subcode, Some(subcode));
}

#[tokio::test]
async fn xml_other_error_statuses_are_api() {
    let cases = [
        (400, Some(("BadRequest", "ParameterValidationFailure"))),
        (403, Some(("Forbidden", "None"))),
        (404, Some(("NotFound", "None"))),
        (404, None),
        (409, None),
        (415, Some(("UnsupportedMediaType", "None"))),
        (429, Some(("TooManyRequests", "None"))),
        (500, Some(("ServiceFailure", "ServiceTimeout"))),
        (503, Some(("ServiceUnavailable", "None"))),
        (504, Some(("GatewayTimeout", "None"))),
    ];
    let server = FakeUcwa::start().await;
    for (status, body) in cases {
        let failure = match body {
            Some((code, subcode)) => Failure::new(status).code(code).subcode(subcode),
            None => Failure::new(status),
        };
        server.fail(Endpoint::Renegotiations, failure);
    }
    let (_client, session) = xml_session(&server);
    for (status, body) in cases {
        let error = session.renegotiate(OFFER).await.unwrap_err();
        let code = body.map_or("-", |(code, _)| code);
        let summary = summary(&error);
        assert!(
            summary.starts_with(&format!("api {status} {code}/")),
            "{summary}"
        );
    }
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_wrong_token_is_unauthorized_with_the_servers_challenges_and_code() {
    let server = FakeUcwa::start().await;
    let client = server.client_builder().token("cwt=not-the-right-token");
    let client = client.format(ucwa::Format::Xml).build().unwrap();
    let session = client.session(&server.session_url()).unwrap();

    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    let service = service(&error);
    assert_eq!(service.code, Some(ErrorCode::Unauthorized), "xml body");
    let schemes = service.challenges.iter().map(|c| c.scheme.as_str());
    assert_eq!(schemes.collect::<Vec<_>>(), ["MsRtcOAuth", "Bearer"]);
    let oauth = &service.challenges[0];
    let href = format!("{}/WebTicket/oauthtoken", server.origin());
    assert_eq!(oauth.param("href"), Some(href.as_str()));
    let client_id = service.challenges[1].param("client_id");
    assert_eq!(client_id, Some("00000004-0000-0ff1-ce00-000000000000"));
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_html_401_from_a_proxy_keeps_the_raw_body_whatever_its_type_says() {
    let html = "<html><head><title>401</title></head><body>Unauthorized</body></html>";
    let server = FakeUcwa::start().await;
    for content_type in ["text/html; charset=utf-8", "application/xml"] {
        server.fail(
            Endpoint::Session,
            Failure::new(401).raw_body(content_type, html).times(2),
        );
    }
    let (_client, session) = xml_session(&server);

    for content_type in ["text/html", "application/xml"] {
        let error = session.refresh().await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unauthorized, "{content_type}");
        let service = service(&error);
        assert_eq!(service.code, None, "{content_type}");
        assert_eq!(service.raw_body.as_deref(), Some(html.as_bytes()));
    }
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_message_debug_info_parameters_and_diagnostics_are_kept() {
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><reason xmlns="{}">
        <code>BadRequest</code><subcode>ParameterValidationFailure</subcode>
        <message>The operationId is not valid.</message>
        <debugInfo><property name="errorReportId">abc</property></debugInfo>
        <parameters><property name="operationId">TooLong</property></parameters></reason>"#,
        UCWA
    );
    let diagnostics = r#"1000;reason="Bad parameter";faultcode="ParameterValidationFailure""#;
    let failure = Failure::new(400)
        .raw_body(
            "application/vnd.microsoft.com.ucwa+xml; charset=utf-8",
            body,
        )
        .header("X-Ms-diagnostics", diagnostics);
    let error = xml_renegotiate_failing(failure).await;

    let expected = "api 400 BadRequest/ParameterValidationFailure";
    assert_eq!(summary(&error), expected);
    let service = service(&error);
    let message = service.message.as_deref();
    assert_eq!(message, Some("The operationId is not valid."));
    assert_eq!(service.debug_info, Some(json!({"errorReportId": "abc"})));
    assert_eq!(service.parameters, Some(json!({"operationId": "TooLong"})));
    assert_eq!(service.diagnostics.as_deref(), Some(diagnostics));
    assert_eq!(service.raw_body, None);
    assert!(error.to_string().contains("The operationId is not valid."));
}

#[tokio::test]
async fn xml_retry_after_in_seconds_is_kept() {
    let failure = Failure::new(503)
        .code("ServiceUnavailable")
        .header("Retry-After", "120");
    let error = xml_renegotiate_failing(failure).await;
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(service(&error).code, Some(ErrorCode::ServiceUnavailable));
}

#[tokio::test]
async fn xml_retry_after_as_an_http_date_gives_the_delay_until_then() {
    let at = SystemTime::now() + Duration::from_secs(300);
    let failure = Failure::new(503)
        .code("ServiceUnavailable")
        .header("Retry-After", httpdate::fmt_http_date(at));
    let error = xml_renegotiate_failing(failure).await;

    let retry_after = &service(&error).retry_after;
    assert!(
        matches!(retry_after, Some(RetryAfter::At(_))),
        "{retry_after:?}"
    );
    let delay = error.retry_after().expect("a delay").as_secs();
    assert!((290..=300).contains(&delay), "delay {delay}");
}

#[tokio::test]
async fn xml_messages_start_lowercase_and_do_not_repeat_their_source() {
    let server = FakeUcwa::start().await;
    server.hide_session_link("resumeAudio", true);
    server.fail(
        Endpoint::Renegotiations,
        Failure::new(409)
            .code("Conflict")
            .subcode("AlreadyExists")
            .message("Please wait and try again."),
    );
    server.fail(
        Endpoint::Renegotiations,
        Failure::new(201).raw_body("application/xml", "<resource><unclosed></resource>"),
    );
    let (client, session) = xml_session(&server);
    let closed = xml_client_for(&closed_origin().await).session("/session");
    let transport = closed.unwrap().refresh().await.unwrap_err();

    let errors = vec![
        session.renegotiate(OFFER).await.unwrap_err(),
        session.renegotiate(OFFER).await.unwrap_err(),
        session.resume_audio(OFFER).await.unwrap_err(),
        session.renegotiate("").await.unwrap_err(),
        client.session("https://elsewhere.example/").unwrap_err(),
        transport,
    ];
    let kinds: Vec<_> = errors.iter().map(|error| error.kind().as_str()).collect();
    let expected =
        "renegotiation_in_progress decode missing_link invalid_input cross_origin transport";
    assert_eq!(kinds.join(" "), expected);
    for error in &errors {
        let message = error.to_string();
        let first = message.chars().next().unwrap();
        assert!(first.is_lowercase(), "{message:?}");
        if let Some(source) = error.source() {
            let cause = source.to_string();
            assert!(!message.contains(&cause), "{message:?} repeats {cause:?}");
        }
    }
    assert!(errors[1].source().is_some(), "the parser's error is kept");
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_transport_errors_give_their_cause_as_source() {
    let session = xml_client_for(&closed_origin().await).session("/session");
    let error = session.unwrap().refresh().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert_eq!(error.status(), None);
    let cause = error.source().expect("a cause");
    let cause = cause.downcast_ref::<reqwest::Error>().expect("reqwest's");
    assert!(cause.is_connect(), "{cause:?}");
}

#[tokio::test]
async fn xml_answer_errors_are_typed() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);
    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    let pending = Failure::new(409)
        .code("Conflict")
        .subcode("AnotherOperationPending");
    server.fail(Endpoint::Answer, pending);
    let error = renegotiation.answer().await.unwrap_err();
    assert_eq!(summary(&error), "api 409 Conflict/AnotherOperationPending");

    let gone = Failure::new(410).code("Gone").subcode("CannotRedirect");
    server.fail(Endpoint::Answer, gone);
    let error = renegotiation.answer_with(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotRedirect);
    assert!(server.has_pending_renegotiation());

    renegotiation
        .answer()
        .await
        .expect("the failures are used up");
    assert!(!server.has_pending_renegotiation());
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_dismiss_errors_are_typed() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);
    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    let failure = Failure::new(500).code("ServiceFailure");
    server.fail(Endpoint::Dismiss, failure.subcode("CallbackChannelError"));
    let reason = Some(DeclineReason::Conflict);
    let error = renegotiation.dismiss(reason).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CallbackChannelError);

    server.fail(Endpoint::Dismiss, Failure::new(404).code("NotFound"));
    let error = renegotiation.dismiss(None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    assert!(server.has_pending_renegotiation());
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_session_without_renegotiations_link_is_missing_link() {
    let server = FakeUcwa::start().await;
    server.hide_session_link("renegotiations", true);
    let (_client, session) = xml_session(&server);

    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingLink);
    assert_eq!(error.rel(), Some("renegotiations"));
    let received = server.received().await;
    assert_asked_for_xml(&received);
    assert_eq!(received.iter().filter(|r| r.method == "POST").count(), 0);
}

#[tokio::test]
async fn xml_session_without_resume_audio_link_is_missing_link() {
    let server = FakeUcwa::start().await;
    server.hide_session_link("resumeAudio", true);
    let (_client, session) = xml_session(&server);

    let error = session.resume_audio(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingLink);
    assert_eq!(error.rel(), Some("resumeAudio"));
    session
        .resume_audio_video(OFFER)
        .await
        .expect("still there");
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_renegotiation_without_answer_link_is_missing_link() {
    let entity = entity_xml(&[
        ("self", &format!("{RENEGOTIATIONS_PATH}/1")),
        ("dismiss", &format!("{RENEGOTIATIONS_PATH}/1/dismiss")),
    ]);
    let server = xml_renegotiations_server(xml_reply(201, entity)).await;
    let session = xml_client_for(&server.uri()).session(&session_url(&server));
    let renegotiation = session.unwrap().renegotiate(OFFER).await.unwrap();

    assert!(renegotiation.dismiss_link().is_some());
    let error = renegotiation.answer().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingLink);
    assert_eq!(error.rel(), Some("answer"));
    let error = renegotiation.answer_with(OFFER).await.unwrap_err();
    assert_eq!(error.rel(), Some("answer"));
    let requests = requests(&server).await;
    assert_eq!(requests.len(), 2, "the GET and the POST only");
    assert_requests_asked_for_xml(&requests);
}

#[tokio::test]
async fn xml_renegotiation_reply_that_is_not_xml_is_decode() {
    let json = r#"{"direction": "Outgoing"}"#;
    for body in ["<<not xml>>", "not xml at all", json, ""] {
        let error = xml_replied("application/xml", body).await;
        assert_eq!(error.kind(), ErrorKind::Decode, "{body:?}");
    }
}

#[tokio::test]
async fn xml_renegotiation_reply_of_the_wrong_shape_is_decode() {
    let reason = format!(r#"<reason xmlns="{UCWA}"><code>Conflict</code></reason>"#);
    for body in [
        reason.as_str(),
        "<events href=\"/e?ack=1\"/>",
        "<resource xmlns=\"urn:not-ucwa\"/>",
        "<resource/><resource/>",
        "<resource/>trailing text",
    ] {
        let error = xml_replied("application/xml", body).await;
        assert_eq!(error.kind(), ErrorKind::Decode, "{body}");
    }
}

#[tokio::test]
async fn xml_empty_created_reply_without_location_is_decode() {
    let error = xml_renegotiate_failing(Failure::new(201)).await;
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.to_string().contains("Location"), "{error}");
}

#[tokio::test]
async fn xml_placeholder_media_offer_parses_and_decoding_it_fails() {
    let placeholder = "data:application/sdp;base64,base64-encoded-sdp";
    let body = resource_xml(
        &[
            ("mediaOffer", placeholder),
            ("mediaAnswer", placeholder),
            ("answer", "/ucwa/v1/renegotiations/1/answer"),
        ],
        &[("direction", "Incoming"), ("operationId", "samplevalue")],
        "",
    );
    let renegotiation = xml_renegotiate_replied("application/xml", body).await;
    let renegotiation = renegotiation.expect("the entity parses");
    assert_eq!(renegotiation.direction(), Some(&Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("samplevalue"));
    let offer = renegotiation.media_offer().unwrap_err().kind();
    let answer = renegotiation.media_answer().unwrap_err().kind();
    assert_eq!([offer, answer], [ErrorKind::Decode; 2]);
}

#[tokio::test]
async fn xml_media_offer_that_is_not_an_sdp_data_uri_is_decode() {
    let hrefs = [
        "http://127.0.0.1:9/offer.sdp".to_owned(),
        "/ucwa/v1/offer".to_owned(),
        DataUri::encode_base64("text/plain", OFFER.as_bytes()),
    ];
    for href in hrefs {
        let body = resource_xml(&[("mediaOffer", &href)], &[], "");
        let renegotiation = xml_renegotiate_replied("application/xml", body).await;
        let error = renegotiation.unwrap().media_offer().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{href}");
    }
    let body = resource_xml(&[("mediaOffer", &sdp_uri(OFFER))], &[], "");
    let renegotiation = xml_renegotiate_replied("application/xml", body).await;
    let offer = renegotiation.unwrap().media_offer().unwrap();
    assert_eq!(offer.as_deref(), Some(OFFER.as_bytes()));
}

#[tokio::test]
async fn xml_a_reply_is_read_in_the_representation_its_content_type_names() {
    let xml = entity_xml(&[("self", "/r/1")]);
    let json = json!({"direction": "Outgoing", "operationId": "op-1"}).to_string();
    for content_type in [
        "application/xml",
        "text/xml",
        "application/vnd.microsoft.com.ucwa+xml; charset=utf-8",
    ] {
        let renegotiation = xml_renegotiate_replied(content_type, xml.clone()).await;
        let renegotiation = renegotiation.unwrap_or_else(|e| panic!("{content_type}: {e:?}"));
        assert_eq!(renegotiation.operation_id(), Some("op-1"), "{content_type}");
        assert_eq!(renegotiation.self_link().unwrap().href, "/r/1");
    }
    let renegotiation = xml_renegotiate_replied("application/json", json.clone()).await;
    assert_eq!(renegotiation.unwrap().operation_id(), Some("op-1"), "json");

    for (content_type, body) in [
        ("application/json", xml.as_str()),
        ("application/xml", json.as_str()),
        ("text/html", "<html/>"),
    ] {
        let error = xml_replied(content_type, body).await;
        assert_eq!(error.kind(), ErrorKind::Decode, "{content_type} {body}");
    }

    // A json client reads an xml reply as xml.
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Renegotiations,
        Failure::new(201).raw_body("application/vnd.microsoft.com.ucwa+xml; charset=utf-8", xml),
    );
    let (_client, session) = support::fake_session(&server).await;
    let renegotiation = session.renegotiate(OFFER).await.unwrap();
    assert_eq!(renegotiation.direction(), Some(&Direction::Outgoing));
    let accepts: Vec<_> = server
        .received()
        .await
        .into_iter()
        .map(|r| r.headers)
        .collect();
    assert!(accepts.iter().all(|h| h["accept"] == "application/json"));
}

#[tokio::test]
async fn xml_empty_sdp_is_invalid_input_and_nothing_is_sent() {
    let server = FakeUcwa::start().await;
    let (_client, session) = xml_session(&server);

    let error = session.renegotiate("").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(server.received().await.is_empty());

    let renegotiation = session.renegotiate(OFFER).await.unwrap();
    let error = renegotiation.answer_with("").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(server.has_pending_renegotiation());
    assert_asked_for_xml(&server.received().await);
}

#[tokio::test]
async fn xml_malformed_session_url_is_invalid_input() {
    let server = FakeUcwa::start().await;
    let client = xml_client(&server);
    for url in [
        "http://[::1",
        "https://exa mple.com/session",
        "http://127.0.0.1:99999/",
    ] {
        let error = client.session(url).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{url}");
    }
}

#[tokio::test]
async fn xml_text_that_is_not_a_url_is_invalid_input() {
    let server = FakeUcwa::start().await;
    let error = xml_client(&server).session("not a url ::").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(server.received().await.is_empty());
}

#[tokio::test]
async fn xml_the_reference_conflict_is_renegotiation_in_progress_as_in_json() {
    let mut errors = Vec::new();
    for (content_type, body) in [
        ("application/xml", xml_fixture("error.xml")),
        ("application/json", json_fixture("error.json")),
    ] {
        let reply = ResponseTemplate::new(409).set_body_raw(body.into_bytes(), content_type);
        let server = xml_renegotiations_server(reply).await;
        let session = xml_client_for(&server.uri()).session(&session_url(&server));
        errors.push(session.unwrap().renegotiate("v=0\r\n").await.unwrap_err());
        assert_requests_asked_for_xml(&requests(&server).await);
    }

    let (xml, json) = (&errors[0], &errors[1]);
    let expected = "renegotiation_in_progress 409 Conflict/AlreadyExists";
    assert_eq!(summary(xml), expected);
    assert_eq!(summary(xml), summary(json));
    let (service, other) = (service(xml), service(json));
    let message = "The requested resource already exists. Please wait and try again.";
    assert_eq!(service.message.as_deref(), Some(message));
    assert_eq!(service.message, other.message);
    assert_eq!(service.debug_info, None, "an empty debugInfo is absent");
    assert_eq!(service.parameters, None, "empty parameters are absent");
}
