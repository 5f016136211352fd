//! 10,000 renegotiations over 1,000 sessions through one client, against a server that fails 5 %
//! of requests at random, with a retry policy on: every call ends with exactly one result, every
//! success is the right entity, a request is only ever sent again with the same operation id and
//! body, and nothing is left running afterwards.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use ucwa::{Client, ErrorKind, RetryPolicy};

const SESSIONS: usize = 1000;
const PER_SESSION: usize = 10;
const TOKEN: &str = "cwt=load-with-faults";

/// What the server saw of one POST: the session, the operation id, the body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    path: String,
    operation_id: String,
    body: Bytes,
}

#[derive(Default)]
struct Chaos {
    seen: Mutex<Vec<Seen>>,
    rng: Mutex<Option<fastrand::Rng>>,
}

/// How the server treats one request.
enum Fate {
    Answer,
    Status500,
    Status503,
    Drop,
}

impl Chaos {
    fn fate(&self) -> Fate {
        let mut rng = self.rng.lock().unwrap();
        let rng = rng.get_or_insert_with(|| fastrand::Rng::with_seed(0xfa17));
        if rng.u8(..100) >= 5 {
            return Fate::Answer;
        }
        match rng.u8(..3) {
            0 => Fate::Status500,
            1 => Fate::Status503,
            _ => Fate::Drop,
        }
    }
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("retry-after", "0")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// Answers a session GET or a renegotiation POST, unless chance says otherwise. A dropped
/// request closes its connection without a reply.
async fn answer(
    chaos: Arc<Chaos>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let path = request.uri().path().to_owned();
    let operation_id = request
        .uri()
        .query()
        .and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("operationId="))
        })
        .unwrap_or_default()
        .to_owned();
    let is_post = request.method() == hyper::Method::POST;
    let body = request
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    if is_post {
        chaos.seen.lock().unwrap().push(Seen {
            path: path.clone(),
            operation_id: operation_id.clone(),
            body: body.clone(),
        });
    }

    match chaos.fate() {
        Fate::Answer => {}
        Fate::Status500 => {
            return Ok(json(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"code":"ServiceFailure"}"#.into(),
            ));
        }
        Fate::Status503 => {
            return Ok(json(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"code":"ServiceUnavailable"}"#.into(),
            ));
        }
        Fate::Drop => return Err(std::io::Error::other("dropped on purpose")),
    }

    if !is_post {
        let body =
            format!(r#"{{"_links":{{"renegotiations":{{"href":"{path}/renegotiations"}}}}}}"#);
        return Ok(json(StatusCode::OK, body));
    }
    let offer = base64::engine::general_purpose::STANDARD.encode(&body);
    let entity = serde_json::json!({
        "direction": "Outgoing",
        "operationId": operation_id,
        "_links": {
            "self": { "href": format!("{path}/{operation_id}") },
            "mediaOffer": { "href": format!("data:application/sdp;base64,{offer}") },
        }
    })
    .to_string();
    Ok(json(StatusCode::CREATED, entity))
}

/// Starts the server on a thread and runtime of its own.
fn start(chaos: Arc<Chaos>) -> SocketAddr {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((stream, _)) = listener.accept().await {
                let chaos = Arc::clone(&chaos);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&chaos), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    receiver.recv().unwrap()
}

/// How one call ended.
#[derive(Debug)]
enum Outcome {
    Correct,
    Wrong(String),
    Failed(ErrorKind),
}

#[test]
fn ten_thousand_renegotiations_through_random_faults_each_end_once() {
    let chaos = Arc::new(Chaos::default());
    let address = start(Arc::clone(&chaos));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let outcomes: Vec<Outcome> = runtime.block_on(async {
        let client = Client::builder()
            .origin(format!("http://{address}"))
            .token(TOKEN)
            .allow_http(true)
            .timeout(Duration::from_secs(20))
            .retry_policy(
                RetryPolicy::new()
                    .max_retries(6)
                    .backoff(Duration::from_millis(1), Duration::from_millis(20)),
            )
            .build()
            .unwrap();
        let outcomes = futures::stream::iter(0..SESSIONS)
            .map(|n| {
                let client = client.clone();
                async move {
                    let session = client.session(&format!("/s/{n}")).unwrap();
                    let mut outcomes = Vec::with_capacity(PER_SESSION);
                    for call in 0..PER_SESSION {
                        let offer = format!("v=0\r\no=- {n} {call} IN IP4 127.0.0.1\r\n");
                        outcomes.push(match session.renegotiate(offer.clone()).await {
                            Ok(renegotiation) => {
                                let decoded = renegotiation.media_offer().ok().flatten();
                                if decoded.as_deref() == Some(offer.as_bytes()) {
                                    Outcome::Correct
                                } else {
                                    Outcome::Wrong(format!("{renegotiation:?}"))
                                }
                            }
                            Err(error) => Outcome::Failed(error.kind()),
                        });
                    }
                    outcomes
                }
            })
            .buffer_unordered(SESSIONS)
            .flat_map(futures::stream::iter)
            .collect()
            .await;
        drop(client);
        outcomes
    });

    // Every call ended exactly once, and every success carries the offer that was sent.
    assert_eq!(outcomes.len(), SESSIONS * PER_SESSION);
    let wrong: Vec<&String> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Wrong(entity) => Some(entity),
            _ => None,
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
    let mut failures: HashMap<String, usize> = HashMap::new();
    for outcome in &outcomes {
        if let Outcome::Failed(kind) = outcome {
            *failures.entry(kind.as_str().to_owned()).or_default() += 1;
        }
    }
    let correct = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Outcome::Correct))
        .count();
    // Only a 500 (never retried) or a run of seven faults in a row may end a call in failure.
    assert!(correct > 9_000, "{correct} correct; failures {failures:?}");
    assert!(
        failures.keys().all(|kind| kind == "api"),
        "only unretried 500s may fail a call: {failures:?}"
    );

    // A request was only ever sent again as itself: one path and one body per operation id.
    let seen = chaos.seen.lock().unwrap();
    let mut by_operation: HashMap<&str, Vec<&Seen>> = HashMap::new();
    for request in seen.iter() {
        by_operation
            .entry(request.operation_id.as_str())
            .or_default()
            .push(request);
    }
    // Each call has an id of its own; a call whose session GET met an unretried 500 never
    // posted at all.
    assert!(
        (correct..=SESSIONS * PER_SESSION).contains(&by_operation.len()),
        "{} operation ids for {correct} successes",
        by_operation.len()
    );
    for (id, requests) in &by_operation {
        assert!(
            requests.iter().all(|request| **request == *requests[0]),
            "operation {id} was sent as different requests"
        );
    }
    let resent = seen.len() - by_operation.len();
    assert!(
        resent > 100,
        "faults made the client send {resent} requests again"
    );

    // Nothing the client started is left running on its runtime.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while runtime.metrics().num_alive_tasks() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} tasks still alive",
            runtime.metrics().num_alive_tasks()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
