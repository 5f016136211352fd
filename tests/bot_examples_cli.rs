//! The `answer_bot` and `events` examples as command-line tools: their output and exit codes.
//!
//! `cargo test` builds the examples before it runs the tests; these tests run the built
//! binaries, against the fake server they embed or against one started here.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};
use ucwa::testing::{Endpoint, Failure, FakeUcwa};

const OFFER: &str = "v=0\r\no=- 9 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";

const SESSION_PATH: &str =
    "/ucwa/oauth/v1/applications/101/communication/conversations/1/audioVideo/audioVideoSession";

fn example_binary(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.push("examples");
    path.push(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the whole suite with `cargo test`, which builds the examples",
        path.display()
    );
    path
}

fn command(name: &str, args: &[String]) -> Command {
    let mut command = Command::new(example_binary(name));
    command
        .args(args)
        .env_remove("UCWA_TOKEN")
        .env("RUST_LOG", "debug");
    command
}

/// Runs a command on a blocking thread so the fake server keeps serving meanwhile.
async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

async fn run(name: &str, args: &[String]) -> Output {
    output(command(name, args)).await
}

/// Arguments written as one string, split at spaces.
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// The arguments that point an example at `server`, then `more`.
fn against(server: &FakeUcwa, more: &str) -> Vec<String> {
    let (url, token) = (server.applications_url(), server.token());
    words(&format!(
        "--applications {url} --token {token} --allow-http {more}"
    ))
}

/// Every line on stdout, each parsed as one JSON object.
fn stdout_lines(output: &Output) -> Vec<Value> {
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn assert_token_hidden(output: &Output, token: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains(token), "the token leaked into the logs");
}

/// A directory of its own for one test's files.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ucwa-bot-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn answer_bot_with_no_arguments_answers_three_renegotiations_on_the_embedded_server() {
    let output = run("answer_bot", &[]).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (line, operation_id) in lines.iter().zip(["incoming-1", "incoming-2", "incoming-3"]) {
        assert_eq!(line["event"], "started");
        assert_eq!(line["rel"], "audioVideoRenegotiation");
        assert_eq!(line["operation_id"], operation_id);
        assert_eq!(line["action"], "answered");
        let href = line["href"].as_str().unwrap();
        assert!(href.starts_with("http://127.0.0.1:"), "{href}");
        assert!(href.contains("/renegotiations/"), "{href}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answer_bot_dismisses_each_renegotiation_with_the_given_reason() {
    let server = FakeUcwa::start().await;
    server.incoming_renegotiation("far-1", OFFER, true);
    server.incoming_renegotiation("far-2", OFFER, false);

    let args = against(&server, "--count 2 --dismiss InsufficientBandwidth");
    let output = run("answer_bot", &args).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let lines = stdout_lines(&output);
    let summary: Vec<(&str, &str)> = lines
        .iter()
        .map(|line| {
            (
                line["operation_id"].as_str().unwrap(),
                line["action"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [("far-1", "dismissed"), ("far-2", "dismissed")]);
    assert_eq!(
        lines[1]["href"],
        format!("{}{SESSION_PATH}/renegotiations/2", server.origin())
    );

    let dismisses: Vec<Value> = server
        .received()
        .await
        .into_iter()
        .filter(|request| request.endpoint == Some(Endpoint::Dismiss))
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect();
    assert_eq!(
        dismisses,
        [
            json!({ "reason": "InsufficientBandwidth" }),
            json!({ "reason": "InsufficientBandwidth" }),
        ]
    );
    assert!(!server.has_pending_renegotiation());
    assert_token_hidden(&output, server.token());
}

#[tokio::test(flavor = "multi_thread")]
async fn answer_bot_opens_an_application_and_answers_with_the_file_byte_for_byte() {
    let server = FakeUcwa::start().await;
    server.incoming_renegotiation("far-1", OFFER, false);
    let dir = scratch_dir("answer");
    let answer = dir.join("answer.sdp");
    // LF line ends and no final newline: the file is sent as it is, not as SDP ought to be.
    std::fs::write(&answer, "v=0\no=- 5 1 IN IP4 127.0.0.1\na=x-answer").unwrap();

    let mut args = words(&format!(
        "--application {} --token {} --allow-http --count 1 --answer",
        server.application_url(),
        server.token()
    ));
    args.push(answer.to_str().unwrap().to_owned());
    let output = run("answer_bot", &args).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["action"], "answered");
    assert_eq!(
        server.last_answer_sdp().unwrap(),
        "v=0\no=- 5 1 IN IP4 127.0.0.1\na=x-answer".as_bytes()
    );
    let received = server.received().await;
    assert!(
        !received
            .iter()
            .any(|request| request.endpoint == Some(Endpoint::Applications)),
        "--application must not create an application"
    );
    assert_token_hidden(&output, server.token());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn answer_bot_skips_outgoing_renegotiations_and_ignores_ones_it_cannot_answer() {
    let server = FakeUcwa::start().await;
    // A renegotiation this side started is announced by a `started` event too.
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();
    session.renegotiate(OFFER).await.unwrap();
    let stale = format!("{SESSION_PATH}/renegotiations/77");
    server.queue_event(
        "communication",
        "/ucwa/oauth/v1/applications/101/communication",
        json!({
            "link": { "rel": "audioVideoRenegotiation", "href": stale },
            "type": "started",
            "_embedded": { "audioVideoRenegotiation": {
                "rel": "audioVideoRenegotiation",
                "direction": "Incoming",
                "operationId": "over-already",
                "_links": { "self": { "href": stale } },
            } },
        }),
    );
    let far = server.incoming_renegotiation("far-2", OFFER, false);

    let output = run("answer_bot", &against(&server, "--count 2")).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["operation_id"], "over-already");
    assert_eq!(lines[0]["action"], "ignored");
    assert_eq!(lines[0]["href"], format!("{}{stale}", server.origin()));
    assert_eq!(lines[1]["operation_id"], "far-2");
    assert_eq!(lines[1]["action"], "answered");
    let answered: Vec<String> = server
        .received()
        .await
        .into_iter()
        .filter(|request| request.endpoint == Some(Endpoint::Answer))
        .map(|request| request.path)
        .collect();
    assert_eq!(answered, [format!("{far}/answer")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_application_prints_the_error_object_and_exits_1() {
    for example in ["answer_bot", "events"] {
        let server = FakeUcwa::start().await;
        server.fail(
            Endpoint::Events,
            Failure::new(404)
                .code("NotFound")
                .subcode("ApplicationNotFound"),
        );

        let output = run(example, &against(&server, "")).await;

        assert_eq!(output.status.code(), Some(1), "{example}: {output:?}");
        let lines = stdout_lines(&output);
        assert_eq!(lines.len(), 1, "{example}: {lines:?}");
        let error = &lines[0]["error"];
        assert_eq!(error["kind"], "application_not_found", "{example}");
        assert_eq!(error["status"], 404);
        assert_eq!(error["code"], "NotFound");
        assert_eq!(error["subcode"], "ApplicationNotFound");
        assert!(error["rel"].is_null());
        assert!(error["retry_after_secs"].is_null());
        assert_token_hidden(&output, server.token());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_exit_2_with_nothing_on_stdout() {
    let dir = scratch_dir("bad-arguments");
    let empty = dir.join("empty.sdp");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.to_str().unwrap();
    let app = "https://fe1.contoso.com/ucwa/oauth/v1/applications";

    let shared = [
        "--bogus".to_owned(),
        format!("--application {app}/1 --applications {app} --token t"),
        "--count 0".to_owned(),
        "--count x".to_owned(),
        "--count -3".to_owned(),
        "--count".to_owned(),
        "--timeout 0".to_owned(),
        format!("--applications {app}"),
    ];
    let answer_bot_only = [
        "--answer a.sdp --dismiss Unknown".to_owned(),
        "--dismiss Unknown --answer a.sdp".to_owned(),
        "--dismiss Bored".to_owned(),
        "--answer /nonexistent/answer.sdp".to_owned(),
    ];
    let mut cases: Vec<(&str, Vec<String>)> = Vec::new();
    for args in &shared {
        cases.push(("answer_bot", words(args)));
        cases.push(("events", words(args)));
    }
    cases.extend(
        answer_bot_only
            .iter()
            .map(|args| ("answer_bot", words(args))),
    );
    cases.push(("answer_bot", vec!["--answer".to_owned(), empty.to_owned()]));
    cases.push(("events", words("--dismiss Unknown")));

    for (example, args) in cases {
        let output = run(example, &args).await;
        let context = format!("{example} {args:?}: {output:?}");
        assert_eq!(output.status.code(), Some(2), "{context}");
        assert!(output.stdout.is_empty(), "{context}");
        assert!(!output.stderr.is_empty(), "{context}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn events_with_no_arguments_prints_the_embedded_servers_events() {
    let output = run("events", &[]).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let lines = stdout_lines(&output);
    let summary: Vec<(&str, &str, &str, bool)> = lines
        .iter()
        .map(|line| {
            (
                line["sender"].as_str().unwrap(),
                line["type"].as_str().unwrap(),
                line["rel"].as_str().unwrap(),
                line["embedded"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("me", "added", "presence", false),
            ("communication", "added", "conversation", false),
            ("communication", "started", "audioVideoInvitation", true),
            ("conversation", "updated", "audioVideo", false),
            ("communication", "completed", "audioVideoInvitation", false),
        ]
    );
    for line in &lines {
        let href = line["href"].as_str().unwrap();
        assert!(
            href.starts_with("http://127.0.0.1:") && href.contains("/applications/101/"),
            "{href}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_prints_the_servers_events_in_order_across_a_resume() {
    let server = FakeUcwa::start().await;
    let sender = "/ucwa/oauth/v1/applications/101/people";
    let event = |number: u32, event_type: &str| {
        json!({
            "link": { "rel": "contact", "href": format!("{sender}/contact-{number}") },
            "type": event_type,
        })
    };
    server.queue_event("people", sender, event(1, "added"));
    server.queue_event("people", sender, event(2, "updated"));
    server.queue_resume();
    server.queue_event(
        "people",
        sender,
        json!({
            "link": { "rel": "contact", "href": format!("{sender}/contact-3") },
            "type": "deleted",
            "_embedded": { "contact": { "rel": "contact", "name": "Three" } },
        }),
    );
    server.queue_event("people", sender, event(4, "added"));

    // The token comes from the environment this time.
    let args = words(&format!(
        "--application {} --allow-http --count 3",
        server.application_url()
    ));
    let mut events = command("events", &args);
    events.env("UCWA_TOKEN", server.token());
    let output = output(events).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let origin = server.origin();
    let expected: Vec<Value> = [
        (1, "added", false),
        (2, "updated", false),
        (3, "deleted", true),
    ]
    .into_iter()
    .map(|(number, event_type, embedded)| {
        json!({
            "sender": "people",
            "type": event_type,
            "rel": "contact",
            "href": format!("{origin}{sender}/contact-{number}"),
            "embedded": embedded,
        })
    })
    .collect();
    assert_eq!(stdout_lines(&output), expected);
    assert_token_hidden(&output, server.token());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn events_without_a_count_runs_until_ctrl_c_and_exits_0() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let server = FakeUcwa::start().await;
    let sender = "/ucwa/oauth/v1/applications/101/me";
    server.queue_event(
        "me",
        sender,
        json!({
            "link": { "rel": "presence", "href": format!("{sender}/presence") },
            "type": "updated",
        }),
    );
    let args = against(&server, "");

    let (first_line, status) = tokio::task::spawn_blocking(move || {
        let mut child = command("events", &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first_line = String::new();
        stdout.read_line(&mut first_line).unwrap();
        // The line is printed from inside the loop that listens for Ctrl-C.
        let killed = Command::new("sh")
            .args(["-c", &format!("kill -INT {}", child.id())])
            .status()
            .unwrap();
        assert!(killed.success());
        (first_line, child.wait().unwrap())
    })
    .await
    .unwrap();

    let line: Value = serde_json::from_str(&first_line).unwrap();
    assert_eq!(line["rel"], "presence");
    assert_eq!(line["type"], "updated");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// Stdout with the embedded server's port masked, which differs between runs.
fn masked(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout);
    let mut masked = String::new();
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("127.0.0.1:") {
        masked.push_str(&rest[..at + "127.0.0.1:".len()]);
        rest = rest[at + "127.0.0.1:".len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        masked.push_str("PORT");
    }
    masked.push_str(rest);
    masked
}

#[tokio::test(flavor = "multi_thread")]
async fn both_examples_print_the_same_lines_whichever_format_the_server_speaks() {
    for name in ["answer_bot", "events"] {
        let json = run(name, &words("--format json")).await;
        let xml = run(name, &words("--format xml")).await;

        assert_eq!(xml.status.code(), Some(0), "{name}: {xml:?}");
        assert!(!json.stdout.is_empty(), "{name}");
        assert_eq!(masked(&json), masked(&xml), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answer_bot_asks_a_real_server_for_xml_and_dismisses_in_xml() {
    let server = FakeUcwa::start().await;
    server.incoming_renegotiation("xml-1", "v=0\r\n", false);

    let output = run(
        "answer_bot",
        &against(&server, "--format xml --count 1 --dismiss Conflict"),
    )
    .await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout_lines(&output)[0]["action"], "dismissed");
    let received = server.received().await;
    assert!(
        received
            .iter()
            .all(|r| r.header("accept") == Some("application/xml")),
        "every request asks for xml"
    );
    let dismiss = received
        .iter()
        .find(|r| r.endpoint == Some(ucwa::testing::Endpoint::Dismiss))
        .unwrap();
    assert_eq!(dismiss.header("content-type"), Some("application/xml"));
    assert!(
        String::from_utf8_lossy(&dismiss.body)
            .contains(r#"<property name="reason">Conflict</property>"#)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_format_is_a_bad_argument() {
    for name in ["answer_bot", "events"] {
        let output = run(name, &words("--format yaml")).await;
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(output.stdout.is_empty());
    }
}
