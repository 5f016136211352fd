//! What the crate logs: one span per request, the token never, SDP bodies only at trace level.
//!
//! This file holds one test on purpose: see the comment on it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use std::time::Duration;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

use futures::StreamExt;
use ucwa::testing::{Endpoint, Failure, FakeUcwa};
use ucwa::{Application, DeclineReason, EventChannel, IncomingRenegotiation, RetryPolicy};

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
    first
        .answer_with("v=0\r\na=x-logging-marker:answer\r\n")
        .await
        .unwrap();
    let second = session.renegotiate(OFFER).await.unwrap();
    server.fail(Endpoint::Dismiss, Failure::new(500).code("ServiceFailure"));
    let failed = second
        .dismiss(Some(DeclineReason::Conflict))
        .await
        .unwrap_err();
    tracing::info!(error = %failed, debug = ?failed, client = ?client, "caller logs more");
    second.answer().await.unwrap();

    let wrong = server.client_builder().token("cwt=wrong").build().unwrap();
    let unauthorized = wrong
        .session(&server.session_url())
        .unwrap()
        .renegotiate(OFFER)
        .await
        .unwrap_err();
    tracing::info!(error = %unauthorized, debug = ?unauthorized, "caller logs a 401");

    // Retries, the event channel and an incoming renegotiation, all logged too.
    let retrying = server
        .client_builder()
        .retry_policy(
            RetryPolicy::new().backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    server.fail(
        Endpoint::Renegotiations,
        Failure::new(503)
            .code("ServiceUnavailable")
            .header("Retry-After", "0"),
    );
    let retried = retrying
        .session(&server.session_url())
        .unwrap()
        .renegotiate(OFFER)
        .await
        .unwrap();
    retried.answer().await.unwrap();
    let application = Application::from_url(&retrying, &server.application_url())
        .await
        .unwrap();
    let mut channel = EventChannel::builder(&application).start().unwrap();
    server.incoming_renegotiation("logged-1", OFFER, false);
    let builder_debug = format!(
        "{:?}",
        retrying
            .session(&server.session_url())
            .unwrap()
            .renegotiate(OFFER)
    );
    while let Some(item) = channel.next().await {
        if let Some(event) = item.unwrap().event() {
            if let Some(incoming) = IncomingRenegotiation::from_event(&retrying, event) {
                let renegotiation = incoming.renegotiation().await.unwrap();
                tracing::info!(
                    incoming = ?incoming,
                    renegotiation = ?renegotiation,
                    builder = %builder_debug,
                    "caller logs what it handles"
                );
                renegotiation.answer_with("v=0\r\n").await.unwrap();
                break;
            }
        }
    }
    channel.close().await;

    captured.text()
}

// The scenarios run one after another in a single test: a thread-local subscriber and the
// callsite interest cache do not mix well with other tests logging in parallel.
#[tokio::test]
async fn logging_keeps_the_token_out_and_sdp_at_trace_level() {
    let trace = full_run(LevelFilter::TRACE).await;
    let debug = full_run(LevelFilter::DEBUG).await;

    // The token never appears, even at trace level.
    assert!(
        trace.contains("ucwa.request"),
        "requests are logged: {trace}"
    );
    assert!(!trace.contains("LOG-SECRET"), "the token leaked:\n{trace}");

    // SDP bodies appear at trace level only.
    assert!(
        trace.contains("x-logging-marker:offer"),
        "trace shows the sdp"
    );
    assert!(
        trace.contains("x-logging-marker:answer"),
        "trace shows the answer sdp"
    );
    assert!(debug.contains("ucwa.request"), "debug shows the requests");
    assert!(
        !debug.contains("x-logging-marker"),
        "debug hides sdp bodies:\n{debug}"
    );

    // Each request's span names its method, rel, status and operation id; the crate's own
    // closing event of the request sits inside the span that by then holds the status.
    let post = debug
        .lines()
        .find(|line| line.contains("rel=\"renegotiations\"") && line.contains("ucwa::request"))
        .unwrap_or_else(|| panic!("no renegotiations span:\n{debug}"));
    assert!(post.contains("method=POST"), "{post}");
    assert!(post.contains("operation_id="), "{post}");
    assert!(post.contains("status=201"), "{post}");
    assert!(debug.contains("status=409"), "{debug}");
    assert!(debug.contains("status=401"), "{debug}");

    // Retries are logged at warn level, and the event channel's requests like any other.
    assert!(debug.contains("sending it again"), "{debug}");
    assert!(debug.contains("rel=\"events\""), "{debug}");
}
