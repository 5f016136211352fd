//! The `renegotiate` example as a command-line tool: its output and exit codes.
//!
//! `cargo test` builds the examples before it runs the tests; these tests run the built binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;
use ucwa::testing::{Endpoint, Failure, FakeUcwa};

fn example_binary() -> PathBuf {
    let mut path = std::env::current_exe().unwrap();
    path.pop();
    if path.ends_with("deps") {
        path.pop();
    }
    path.push("examples");
    path.push(format!("renegotiate{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the whole suite with `cargo test`, which builds the examples",
        path.display()
    );
    path
}

/// Runs the example on a blocking thread so the fake server keeps serving meanwhile.
async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(example_binary())
            .args(args)
            .env_remove("UCWA_TOKEN")
            .env("RUST_LOG", "debug")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn stdout_json(output: &Output) -> Value {
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "exactly one line on stdout: {text:?}"
    );
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_arguments_it_renegotiates_against_the_embedded_server() {
    let output = run(&[]).await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let value = stdout_json(&output);
    assert_eq!(value["direction"], "Outgoing");
    assert!(
        value["media_offer"]
            .as_str()
            .unwrap()
            .starts_with("v=0\r\n")
    );
    assert!(
        value["media_answer"]
            .as_str()
            .unwrap()
            .starts_with("v=0\r\n")
    );
    assert!(
        value["links"]["answer"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(value["followed_up"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn against_a_server_it_sends_the_given_id_and_answers() {
    let server = FakeUcwa::start().await;
    let dir = std::env::temp_dir().join(format!("ucwa-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let offer = dir.join("offer.sdp");
    let answer = dir.join("answer.sdp");
    std::fs::write(&offer, "v=0\r\na=x-offer\r\n").unwrap();
    std::fs::write(&answer, "v=0\r\na=x-answer\r\n").unwrap();

    let output = run(&[
        "--session",
        &server.session_url(),
        "--token",
        server.token(),
        "--allow-http",
        "--sdp",
        offer.to_str().unwrap(),
        "--operation-id",
        "cli-7",
        "--answer",
        answer.to_str().unwrap(),
    ])
    .await;

    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let value = stdout_json(&output);
    assert_eq!(value["operation_id"], "cli-7");
    assert_eq!(value["media_offer"], "v=0\r\na=x-offer\r\n");
    assert_eq!(value["followed_up"], "answered");
    assert_eq!(
        server.last_answer_sdp().unwrap(),
        "v=0\r\na=x-answer\r\n".as_bytes()
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains(server.token()),
        "the token leaked into the logs"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_error_prints_the_error_object_and_exits_1() {
    let server = FakeUcwa::start().await;
    server.fail(
        Endpoint::Renegotiations,
        Failure::new(503)
            .code("ServiceUnavailable")
            .message("busy")
            .header("Retry-After", "7"),
    );

    let output = run(&[
        "--session",
        &server.session_url(),
        "--token",
        server.token(),
        "--allow-http",
    ])
    .await;

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let error = &stdout_json(&output)["error"];
    assert_eq!(error["kind"], "api");
    assert_eq!(error["status"], 503);
    assert_eq!(error["code"], "ServiceUnavailable");
    assert!(error["subcode"].is_null());
    assert_eq!(error["message"], "busy");
    assert_eq!(error["retry_after_secs"], 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_link_names_the_rel() {
    let server = FakeUcwa::start().await;
    server.hide_session_link("renegotiations", true);

    let output = run(&[
        "--session",
        &server.session_url(),
        "--token",
        server.token(),
        "--allow-http",
    ])
    .await;

    assert_eq!(output.status.code(), Some(1));
    let error = &stdout_json(&output)["error"];
    assert_eq!(error["kind"], "missing_link");
    assert_eq!(error["rel"], "renegotiations");
    assert!(error["status"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_without_the_flag_is_refused() {
    let server = FakeUcwa::start().await;

    let output = run(&["--session", &server.session_url(), "--token", "t"]).await;

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout_json(&output)["error"]["kind"], "insecure_url");
    assert!(server.received().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_exit_2_with_nothing_on_stdout() {
    for args in [
        &["--bogus"][..],
        &["--dismiss", "Bored"],
        &["--operation-id", ""],
        &["--timeout", "-1"],
        &["--answer", "a.sdp", "--dismiss", "Unknown"],
        &["--session", "https://fe1.contoso.com/x"],
        &["--sdp", "/nonexistent/offer.sdp"],
    ] {
        let output = run(args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_output_is_the_same_whichever_format_the_server_speaks() {
    let server = FakeUcwa::start().await;
    let mut outputs = Vec::new();
    for (format, id) in [("json", "fmt-1"), ("xml", "fmt-2")] {
        let output = run(&[
            "--session",
            &server.session_url(),
            "--token",
            server.token(),
            "--allow-http",
            "--format",
            format,
            "--operation-id",
            id,
            "--dismiss",
            "Unknown",
        ])
        .await;
        assert_eq!(output.status.code(), Some(0), "{format}: {output:?}");
        let mut value = stdout_json(&output);
        value["operation_id"] = Value::Null;
        outputs.push(
            value
                .to_string()
                .replace("renegotiations/2", "renegotiations/1"),
        );
    }

    assert_eq!(outputs[0], outputs[1]);
    let accepts: Vec<_> = server
        .received()
        .await
        .into_iter()
        .filter_map(|r| r.header("accept").map(str::to_owned))
        .collect();
    assert!(accepts.contains(&"application/xml".to_owned()));
    assert!(accepts.contains(&"application/json".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_format_exits_2() {
    let output = run(&["--format", "yaml"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}
