//! Every kind of error, produced over real HTTP on loopback.

mod support;

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use serde_json::json;
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{
    DataUri, DeclineReason, Error, ErrorCode, ErrorKind, ErrorSubcode, OperationId, RetryAfter,
    StatusCode,
};
use wiremock::{MockServer, ResponseTemplate};

use support::{
    OFFER, RENEGOTIATIONS_PATH, client_for, closed_origin, entity_json, fake_session, mount_post,
    mount_session, renegotiate_failing, renegotiate_replied, requests, sdp_uri, service,
    session_url,
};

#[tokio::test]
async fn second_renegotiation_while_one_is_pending_is_renegotiation_in_progress() {
    let server = FakeUcwa::start().await;
    let (_client, session) = fake_session(&server).await;
    let first = session
        .renegotiate(OFFER)
        .await
        .expect("first renegotiation");

    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RenegotiationInProgress);
    assert_eq!(error.kind().as_str(), "renegotiation_in_progress");
    assert_eq!(error.status(), Some(StatusCode::CONFLICT));
    assert_eq!(service(&error).code, Some(ErrorCode::Conflict));
    assert_eq!(service(&error).subcode, Some(ErrorSubcode::AlreadyExists));

    first.dismiss(None).await.expect("dismiss");
    session
        .renegotiate(OFFER)
        .await
        .expect("a renegotiation once none is pending");
}

#[tokio::test]
async fn conflict_already_exists_is_renegotiation_in_progress() {
    let error =
        renegotiate_failing(Failure::new(409).code("Conflict").subcode("AlreadyExists")).await;
    assert_eq!(error.kind(), ErrorKind::RenegotiationInProgress);
    assert_eq!(error.kind().as_str(), "renegotiation_in_progress");
}

#[tokio::test]
async fn conflict_too_many_groups_is_too_many_groups() {
    let error =
        renegotiate_failing(Failure::new(409).code("Conflict").subcode("TooManyGroups")).await;
    assert_eq!(error.kind(), ErrorKind::TooManyGroups);
    assert_eq!(error.kind().as_str(), "too_many_groups");
    assert_eq!(service(&error).subcode, Some(ErrorSubcode::TooManyGroups));
}

#[tokio::test]
async fn conflict_with_subcode_none_is_unsupported() {
    let error = renegotiate_failing(Failure::new(409).code("Conflict").subcode("None")).await;
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(error.kind().as_str(), "unsupported");
    assert_eq!(service(&error).code, Some(ErrorCode::Conflict));
    assert_eq!(service(&error).subcode, None);
}

#[tokio::test]
async fn conflict_without_subcode_is_unsupported() {
    let error = renegotiate_failing(Failure::new(409).code("Conflict")).await;
    assert_eq!(error.kind(), ErrorKind::Unsupported);
    assert_eq!(service(&error).subcode, None);
}

#[tokio::test]
async fn gone_cannot_redirect_is_cannot_redirect() {
    let error = renegotiate_failing(Failure::new(410).code("Gone").subcode("CannotRedirect")).await;
    assert_eq!(error.kind(), ErrorKind::CannotRedirect);
    assert_eq!(error.kind().as_str(), "cannot_redirect");
    assert_eq!(error.status(), Some(StatusCode::GONE));
}

#[tokio::test]
async fn service_failure_callback_channel_error_is_callback_channel_error() {
    let failure = Failure::new(500)
        .code("ServiceFailure")
        .subcode("CallbackChannelError");
    let error = renegotiate_failing(failure).await;
    assert_eq!(error.kind(), ErrorKind::CallbackChannelError);
    assert_eq!(error.kind().as_str(), "callback_channel_error");
    assert_eq!(service(&error).code, Some(ErrorCode::ServiceFailure));
}

#[tokio::test]
async fn codes_and_subcodes_match_case_insensitively() {
    let error =
        renegotiate_failing(Failure::new(409).code("conflict").subcode("alreadyexists")).await;
    assert_eq!(error.kind(), ErrorKind::RenegotiationInProgress);
    assert_eq!(service(&error).code, Some(ErrorCode::Conflict));
    assert_eq!(service(&error).subcode, Some(ErrorSubcode::AlreadyExists));

    let error = renegotiate_failing(Failure::new(410).code("GONE").subcode("CANNOTREDIRECT")).await;
    assert_eq!(error.kind(), ErrorKind::CannotRedirect);
    assert_eq!(service(&error).code, Some(ErrorCode::Gone));

    let error = renegotiate_failing(Failure::new(412).code("PreConditionFailed")).await;
    assert_eq!(service(&error).code, Some(ErrorCode::PreconditionFailed));
}

#[tokio::test]
async fn unknown_code_and_subcode_are_kept_as_strings_with_kind_api() {
    let error =
        renegotiate_failing(Failure::new(409).code("Teapot").subcode("BrandNewThing")).await;
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.kind().as_str(), "api");
    let service = service(&error);
    assert_eq!(service.code, Some(ErrorCode::Other("Teapot".to_owned())));
    assert_eq!(
        service.subcode,
        Some(ErrorSubcode::Other("BrandNewThing".to_owned()))
    );
    assert_eq!(service.code.as_ref().map(ErrorCode::as_str), Some("Teapot"));
}

#[tokio::test]
async fn other_error_statuses_are_api() {
    let cases = [
        (400, Some(("BadRequest", "ParameterValidationFailure"))),
        (403, Some(("Forbidden", "None"))),
        (404, Some(("NotFound", "None"))),
        (404, None),
        (409, None),
        (410, Some(("Gone", "None"))),
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
    let (_client, session) = fake_session(&server).await;
    for (status, body) in cases {
        let error = session.renegotiate(OFFER).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Api, "{status} {body:?}: {error:?}");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        let code = service(&error).code.as_ref().map(ErrorCode::as_str);
        assert_eq!(code, body.map(|(code, _)| code));
    }
}

#[tokio::test]
async fn wrong_token_is_unauthorized_with_the_servers_challenges() {
    let server = FakeUcwa::start().await;
    let client = ucwa::Client::builder()
        .origin(server.origin())
        .token("cwt=not-the-right-token")
        .allow_http(true)
        .build()
        .unwrap();
    let session = client.session(&server.session_url()).unwrap();

    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    assert_eq!(error.kind().as_str(), "unauthorized");
    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));

    let challenges = &service(&error).challenges;
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    let oauth = challenges
        .iter()
        .find(|c| c.scheme == "MsRtcOAuth")
        .expect("an MsRtcOAuth challenge");
    assert_eq!(
        oauth.param("href"),
        Some(format!("{}/WebTicket/oauthtoken", server.origin()).as_str())
    );
    assert_eq!(
        oauth.param("grant_type"),
        Some("urn:microsoft.rtc:windows,urn:microsoft.rtc:anonmeeting,password")
    );
    let bearer = challenges
        .iter()
        .find(|c| c.scheme == "Bearer")
        .expect("a Bearer challenge");
    assert_eq!(
        bearer.param("client_id"),
        Some("00000004-0000-0ff1-ce00-000000000000")
    );
    assert!(bearer.param("trusted_issuers").is_some());
}

#[tokio::test]
async fn html_401_from_a_proxy_keeps_the_raw_body() {
    let html = "<html><head><title>401</title></head><body>Unauthorized</body></html>";
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Session,
        Failure::new(401)
            .raw_body("text/html; charset=utf-8", html)
            .times(2),
    );
    let (_client, session) = fake_session(&server).await;

    let error = session.refresh().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unauthorized);
    let service = service(&error);
    assert_eq!(service.code, None);
    assert_eq!(service.message, None);
    assert_eq!(service.raw_body.as_deref(), Some(html.as_bytes()));
}

#[tokio::test]
async fn message_debug_info_parameters_and_diagnostics_are_kept() {
    let body = json!({
        "code": "BadRequest",
        "subcode": "ParameterValidationFailure",
        "message": "The operationId is not valid.",
        "debugInfo": {"errorReportId": "abc"},
        "parameters": [{"name": "operationId", "reason": "TooLong"}],
    });
    let diagnostics = r#"1000;reason="Bad parameter";faultcode="ParameterValidationFailure""#;
    let failure = Failure::new(400)
        .raw_body("application/json; charset=utf-8", body.to_string())
        .header("X-Ms-diagnostics", diagnostics);
    let error = renegotiate_failing(failure).await;

    assert_eq!(error.kind(), ErrorKind::Api);
    let service = service(&error);
    assert_eq!(service.code, Some(ErrorCode::BadRequest));
    assert_eq!(
        service.subcode,
        Some(ErrorSubcode::ParameterValidationFailure)
    );
    assert_eq!(
        service.message.as_deref(),
        Some("The operationId is not valid.")
    );
    assert_eq!(service.debug_info, Some(json!({"errorReportId": "abc"})));
    assert_eq!(
        service.parameters,
        Some(json!([{"name": "operationId", "reason": "TooLong"}]))
    );
    assert_eq!(service.diagnostics.as_deref(), Some(diagnostics));
    assert_eq!(service.raw_body, None);
    assert!(error.to_string().contains("The operationId is not valid."));
}

#[tokio::test]
async fn retry_after_in_seconds_is_kept() {
    let failure = Failure::new(503)
        .code("ServiceUnavailable")
        .header("Retry-After", "120");
    let error = renegotiate_failing(failure).await;
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(
        service(&error).retry_after,
        Some(RetryAfter::Delay(Duration::from_secs(120)))
    );
}

#[tokio::test]
async fn retry_after_as_an_http_date_gives_the_delay_until_then() {
    let at = SystemTime::now() + Duration::from_secs(300);
    let failure = Failure::new(503)
        .code("ServiceUnavailable")
        .header("Retry-After", httpdate::fmt_http_date(at));
    let error = renegotiate_failing(failure).await;

    assert!(matches!(
        service(&error).retry_after,
        Some(RetryAfter::At(_))
    ));
    let delay = error.retry_after().expect("a delay").as_secs();
    assert!((290..=300).contains(&delay), "delay {delay}");
}

#[tokio::test]
async fn messages_start_lowercase_and_do_not_repeat_their_source() {
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
        Failure::new(201).raw_body("application/json", "not json"),
    );
    let (client, session) = fake_session(&server).await;
    let transport = client_for(&closed_origin().await)
        .session("/session")
        .unwrap()
        .refresh()
        .await
        .unwrap_err();

    let errors = vec![
        session.renegotiate(OFFER).await.unwrap_err(),
        session.renegotiate(OFFER).await.unwrap_err(),
        session.resume_audio(OFFER).await.unwrap_err(),
        session.renegotiate("").await.unwrap_err(),
        client.session("https://elsewhere.example/").unwrap_err(),
        transport,
    ];
    let kinds: Vec<_> = errors.iter().map(Error::kind).collect();
    assert_eq!(
        kinds,
        [
            ErrorKind::RenegotiationInProgress,
            ErrorKind::Decode,
            ErrorKind::MissingLink,
            ErrorKind::InvalidInput,
            ErrorKind::CrossOrigin,
            ErrorKind::Transport,
        ]
    );
    for error in &errors {
        let message = error.to_string();
        let first = message.chars().next().expect("a message");
        assert!(first.is_lowercase(), "{message:?}");
        if let Some(source) = error.source() {
            let cause = source.to_string();
            assert!(!message.contains(&cause), "{message:?} repeats {cause:?}");
        }
    }
    assert!(
        errors[1].source().is_some(),
        "a decode error keeps the parser's error"
    );
}

#[tokio::test]
async fn transport_errors_give_their_cause_as_source() {
    let client = client_for(&closed_origin().await);
    let error = client
        .session("/session")
        .unwrap()
        .refresh()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport);
    assert_eq!(error.kind().as_str(), "transport");
    assert_eq!(error.status(), None);
    let source = error.source().expect("a cause");
    let cause = source
        .downcast_ref::<reqwest::Error>()
        .expect("the http client's error");
    assert!(cause.is_connect(), "{cause:?}");
}

#[tokio::test]
async fn answer_errors_are_typed() {
    let server = FakeUcwa::start().await;
    let (_client, session) = fake_session(&server).await;
    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    server.fail(
        Endpoint::Answer,
        Failure::new(409)
            .code("Conflict")
            .subcode("AnotherOperationPending"),
    );
    let error = renegotiation.answer().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(
        service(&error).subcode,
        Some(ErrorSubcode::AnotherOperationPending)
    );

    server.fail(
        Endpoint::Answer,
        Failure::new(410).code("Gone").subcode("CannotRedirect"),
    );
    let error = renegotiation.answer_with(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotRedirect);
    assert!(server.has_pending_renegotiation());

    renegotiation
        .answer()
        .await
        .expect("answer once the failures are used up");
    assert!(!server.has_pending_renegotiation());
}

#[tokio::test]
async fn dismiss_errors_are_typed() {
    let server = FakeUcwa::start().await;
    let (_client, session) = fake_session(&server).await;
    let renegotiation = session.renegotiate(OFFER).await.unwrap();

    server.fail(
        Endpoint::Dismiss,
        Failure::new(500)
            .code("ServiceFailure")
            .subcode("CallbackChannelError"),
    );
    let error = renegotiation
        .dismiss(Some(DeclineReason::Conflict))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CallbackChannelError);

    server.fail(Endpoint::Dismiss, Failure::new(404).code("NotFound"));
    let error = renegotiation.dismiss(None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
    assert!(server.has_pending_renegotiation());
}

#[tokio::test]
async fn session_without_renegotiations_link_is_missing_link() {
    let server = FakeUcwa::start().await;
    server.hide_session_link("renegotiations", true);
    let (_client, session) = fake_session(&server).await;

    let error = session.renegotiate(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingLink);
    assert_eq!(error.kind().as_str(), "missing_link");
    assert_eq!(error.rel(), Some("renegotiations"));
    let posts = server
        .received()
        .await
        .into_iter()
        .filter(|r| r.method == "POST");
    assert_eq!(posts.count(), 0);
}

#[tokio::test]
async fn session_without_resume_audio_link_is_missing_link() {
    let server = FakeUcwa::start().await;
    server.hide_session_link("resumeAudio", true);
    let (_client, session) = fake_session(&server).await;

    let error = session.resume_audio(OFFER).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingLink);
    assert_eq!(error.rel(), Some("resumeAudio"));
    session
        .resume_audio_video(OFFER)
        .await
        .expect("resumeAudioVideo is still there");
}

#[tokio::test]
async fn renegotiation_without_answer_link_is_missing_link() {
    let server = MockServer::start().await;
    mount_session(
        &server,
        json!({"renegotiations": {"href": RENEGOTIATIONS_PATH}}),
    )
    .await;
    let entity = entity_json(json!({
        "self": {"href": format!("{RENEGOTIATIONS_PATH}/1")},
        "dismiss": {"href": format!("{RENEGOTIATIONS_PATH}/1/dismiss")},
    }));
    mount_post(
        &server,
        RENEGOTIATIONS_PATH,
        ResponseTemplate::new(201).set_body_json(entity),
    )
    .await;
    let client = client_for(&server.uri());
    let renegotiation = client
        .session(&session_url(&server))
        .unwrap()
        .renegotiate(OFFER)
        .await
        .unwrap();

    let error = renegotiation.answer().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::MissingLink);
    assert_eq!(error.rel(), Some("answer"));
    let error = renegotiation.answer_with(OFFER).await.unwrap_err();
    assert_eq!(error.rel(), Some("answer"));
    assert_eq!(
        requests(&server).await.len(),
        2,
        "the GET and the POST only"
    );
}

#[tokio::test]
async fn renegotiation_reply_that_is_not_json_is_decode() {
    let error =
        renegotiate_failing(Failure::new(201).raw_body("application/json", "<<not json>>")).await;
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert_eq!(error.kind().as_str(), "decode");
}

#[tokio::test]
async fn renegotiation_reply_of_the_wrong_shape_is_decode() {
    for body in [
        json!([1, 2, 3]),
        json!("entity"),
        json!({"_links": {"self": 5}}),
    ] {
        let error = renegotiate_replied(body.clone()).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{body}");
    }
}

#[tokio::test]
async fn empty_created_reply_without_location_is_decode() {
    let error = renegotiate_failing(Failure::new(201)).await;
    assert_eq!(error.kind(), ErrorKind::Decode);
    assert!(error.to_string().contains("Location"), "{error}");
}

#[tokio::test]
async fn placeholder_media_offer_parses_and_decoding_it_fails() {
    let placeholder = "data:application/sdp;base64,base64-encoded-sdp";
    let body = json!({
        "direction": "Incoming",
        "operationId": "samplevalue",
        "_links": {
            "mediaOffer": {"href": placeholder},
            "mediaAnswer": {"href": placeholder},
            "answer": {"href": "/ucwa/v1/renegotiations/1/answer"},
        },
    });
    let renegotiation = renegotiate_replied(body).await.expect("the entity parses");
    assert_eq!(renegotiation.direction(), Some(&ucwa::Direction::Incoming));
    assert_eq!(renegotiation.operation_id(), Some("samplevalue"));
    assert_eq!(
        renegotiation.media_offer().unwrap_err().kind(),
        ErrorKind::Decode
    );
    assert_eq!(
        renegotiation.media_answer().unwrap_err().kind(),
        ErrorKind::Decode
    );
}

#[tokio::test]
async fn media_offer_that_is_not_an_sdp_data_uri_is_decode() {
    let hrefs = [
        "http://127.0.0.1:9/offer.sdp".to_owned(),
        "/ucwa/v1/offer".to_owned(),
        DataUri::encode_base64("text/plain", OFFER.as_bytes()),
    ];
    for href in hrefs {
        let body = json!({"_links": {"mediaOffer": {"href": href}}});
        let renegotiation = renegotiate_replied(body).await.expect("the entity parses");
        let error = renegotiation.media_offer().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Decode, "{href}");
    }
    let body = json!({"_links": {"mediaOffer": {"href": sdp_uri(OFFER)}}});
    let renegotiation = renegotiate_replied(body).await.unwrap();
    assert_eq!(
        renegotiation.media_offer().unwrap().as_deref(),
        Some(OFFER.as_bytes())
    );
}

#[tokio::test]
async fn a_reply_is_read_in_the_representation_its_content_type_names() {
    let json_bytes = entity_json(json!({"self": {"href": "/r/1"}})).to_string();
    let error =
        renegotiate_failing(Failure::new(201).raw_body("application/xml", json_bytes)).await;
    assert_eq!(error.kind(), ErrorKind::Decode, "the Content-Type decides");

    let error = renegotiate_failing(Failure::new(201).raw_body("text/html", "<html/>")).await;
    assert_eq!(error.kind(), ErrorKind::Decode, "neither json nor xml");
}

#[tokio::test]
async fn empty_sdp_is_invalid_input_and_nothing_is_sent() {
    let server = FakeUcwa::start().await;
    let (_client, session) = fake_session(&server).await;

    let error = session.renegotiate("").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.kind().as_str(), "invalid_input");
    assert!(server.received().await.is_empty());

    let renegotiation = session.renegotiate(OFFER).await.unwrap();
    let error = renegotiation.answer_with("").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(server.has_pending_renegotiation());
}

#[tokio::test]
async fn operation_id_longer_than_fifty_characters_is_refused_at_construction() {
    assert!(OperationId::new("x".repeat(50)).is_ok());
    let error = OperationId::new("x".repeat(51)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let error = OperationId::new("").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn malformed_session_url_is_invalid_input() {
    let server = FakeUcwa::start().await;
    let (client, _session) = fake_session(&server).await;
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
async fn text_that_is_not_a_url_is_invalid_input() {
    let server = FakeUcwa::start().await;
    let (client, _session) = fake_session(&server).await;
    let error = client.session("not a url ::").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(server.received().await.is_empty());
}
