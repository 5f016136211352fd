//! What the crate logs: one span per request, the token never, SDP bodies only at trace level.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use ucwa::DeclineReason;
use ucwa::testing::{Endpoint, FakeUcwa, Failure};

const TOKEN: &str = "cwt=LOG-SECRET-7f3a9c";
const OFFER: &str = "v=0\r\na=x-logging-marker:offer\r\n";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Renegotiates, answers, dismisses and fails, with every log line at `level` captured.
async fn full_run(level: LevelFilter) -> String {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = FakeUcwa::builder().token(TOKEN).start().await;
    let client = server.client_builder().build().unwrap();
    let session = client.session(&server.session_url()).unwrap();

    let first = session.renegotiate(OFFER).await.unwrap();
    let busy = session.renegotiate(OFFER).await.unwrap_err();
    tracing::info!(error = %busy, debug = ?busy, "caller logs the error");
    first.answer_with("v=0\r\na=x-logging-marker:answer\r\n").await.unwrap();
    let second = session.renegotiate(OFFER).await.unwrap();
    server.fail(Endpoint::Dismiss, Failure::new(500).code("ServiceFailure"));
    let failed = second.dismiss(Some(DeclineReason::Conflict)).await.unwrap_err();
    tracing::info!(error = %failed, debug = ?failed, client = ?client, "caller logs more");

    let wrong = server.client_builder().token("cwt=wrong").build().unwrap();
    let unauthorized = wrong
        .session(&server.session_url())
        .unwrap()
        .renegotiate(OFFER)
        .await
        .unwrap_err();
    tracing::info!(error = %unauthorized, debug = ?unauthorized, "caller logs a 401");

    captured.text()
}

#[tokio::test]
async fn the_token_never_appears_in_trace_output() {
    let logs = full_run(LevelFilter::TRACE).await;

    assert!(logs.contains("ucwa.request"), "requests are logged: {logs}");
    assert!(!logs.contains("LOG-SECRET"), "the token leaked:\n{logs}");
}

#[tokio::test]
async fn sdp_bodies_appear_at_trace_level_only() {
    let trace = full_run(LevelFilter::TRACE).await;
    let debug = full_run(LevelFilter::DEBUG).await;

    assert!(trace.contains("x-logging-marker:offer"), "trace shows the sdp");
    assert!(trace.contains("x-logging-marker:answer"), "trace shows the answer sdp");
    assert!(debug.contains("ucwa.request"), "debug shows the requests");
    assert!(!debug.contains("x-logging-marker"), "debug hides sdp bodies:\n{debug}");
}

#[tokio::test]
async fn each_request_span_names_method_rel_status_and_operation_id() {
    let logs = full_run(LevelFilter::DEBUG).await;

    // The crate's own closing event of the request, inside the span that now holds the status.
    let post = logs
        .lines()
        .find(|line| line.contains("rel=\"renegotiations\"") && line.contains("ucwa::request"))
        .unwrap_or_else(|| panic!("no renegotiations span:\n{logs}"));
    assert!(post.contains("method=POST"), "{post}");
    assert!(post.contains("operation_id="), "{post}");
    assert!(post.contains("status=201"), "{post}");
    assert!(logs.contains("status=409"), "{logs}");
    assert!(logs.contains("status=401"), "{logs}");
}
