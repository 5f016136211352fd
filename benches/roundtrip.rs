//! The SDK against what a user would write by hand with reqwest and serde_json, in the same
//! run, against the same minimal loopback server (`support/server.rs`).
//!
//! - `renegotiate_roundtrip`: one renegotiation at a time.
//! - `renegotiate_concurrent`: 1,000 renegotiations in flight across 1,000 sessions on one
//!   client.
//! - `events_delivery`: 1,000 events read through the event channel.
//!
//! The server runs on a runtime and thread of its own, the client on another, so that the two
//! cores of a small machine are split the same way for both sides. Run with
//! `cargo bench --bench roundtrip`.

#[path = "support/server.rs"]
mod server;

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use futures::future::join_all;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;
use server::{BenchServer, TOKEN, sdp};
use ucwa::{ChannelEvent, Client, EventChannel, Session};

const CONCURRENCY: usize = 1000;

/// A server on a thread and runtime of its own, kept alive for the whole run.
fn start_server() -> BenchServer {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            sender.send(BenchServer::start().await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    receiver.recv().unwrap()
}

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// What a user would otherwise write: POST the SDP with an operation id, read the body, parse it
/// into a `serde_json::Value`, pull the links out and base64-decode the two data URIs.
async fn by_hand(http: &reqwest::Client, url: &str, offer: &Bytes) -> (Vec<u8>, Vec<u8>) {
    let operation_id = uuid::Uuid::new_v4().to_string();
    let response = http
        .post(format!("{url}?operationId={operation_id}"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(CONTENT_TYPE, "application/sdp")
        .header(ACCEPT, "application/json")
        .body(offer.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body = response.bytes().await.unwrap();

    let value: Value = serde_json::from_slice(&body).unwrap();
    let links = value["_links"].as_object().unwrap();
    black_box((value["direction"].as_str(), value["operationId"].as_str()));
    for rel in [
        "self",
        "answer",
        "dismiss",
        "audioVideoSession",
        "conversation",
    ] {
        black_box(links[rel]["href"].as_str());
    }
    let decode = |rel: &str| {
        let href = links[rel]["href"].as_str().unwrap();
        let (_, data) = href.split_once(";base64,").unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap()
    };
    (decode("mediaOffer"), decode("mediaAnswer"))
}

/// The same work through the SDK.
async fn with_sdk(session: &Session, offer: &Bytes) -> (Bytes, Bytes) {
    let renegotiation = session.renegotiate(offer.clone()).await.unwrap();
    black_box((renegotiation.direction(), renegotiation.operation_id()));
    black_box((
        renegotiation.self_link(),
        renegotiation.answer_link(),
        renegotiation.dismiss_link(),
        renegotiation.audio_video_session_link(),
        renegotiation.conversation_link(),
    ));
    (
        renegotiation.media_offer().unwrap().unwrap(),
        renegotiation.media_answer().unwrap().unwrap(),
    )
}

fn sdk_client(server: &BenchServer) -> Client {
    Client::builder()
        .origin(server.origin())
        .token(TOKEN)
        .allow_http(true)
        .build()
        .unwrap()
}

/// Sessions whose resource is already read, as a bot holds them during a call.
fn sessions(
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    server: &BenchServer,
) -> Vec<Session> {
    runtime.block_on(async {
        let mut sessions = Vec::with_capacity(CONCURRENCY);
        for n in 0..CONCURRENCY {
            let session = client.session(&server.session_url(n)).unwrap();
            session.resource().await.unwrap();
            sessions.push(session);
        }
        sessions
    })
}

fn renegotiate_roundtrip(c: &mut Criterion) {
    let server = start_server();
    let runtime = client_runtime();
    let offer = Bytes::from(sdp(7));
    let http = reqwest::Client::new();
    let client = sdk_client(&server);
    let session = sessions(&runtime, &client, &server).remove(0);
    let url = server.renegotiations_url(0);

    let mut group = c.benchmark_group("renegotiate_roundtrip");
    group.throughput(Throughput::Elements(1));
    group.bench_function("by_hand", |b| {
        b.iter(|| runtime.block_on(by_hand(&http, &url, &offer)))
    });
    group.bench_function("sdk", |b| {
        b.iter(|| runtime.block_on(with_sdk(&session, &offer)))
    });
    group.finish();
}

fn renegotiate_concurrent(c: &mut Criterion) {
    let server = start_server();
    let runtime = client_runtime();
    let offer = Bytes::from(sdp(7));
    let http = reqwest::Client::new();
    let client = sdk_client(&server);
    let sessions = sessions(&runtime, &client, &server);
    let urls: Vec<String> = (0..CONCURRENCY)
        .map(|n| server.renegotiations_url(n))
        .collect();

    let mut group = c.benchmark_group("renegotiate_concurrent");
    group.throughput(Throughput::Elements(CONCURRENCY as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("by_hand", |b| {
        b.iter(|| runtime.block_on(join_all(urls.iter().map(|url| by_hand(&http, url, &offer)))))
    });
    group.bench_function("sdk", |b| {
        b.iter(|| {
            runtime.block_on(join_all(
                sessions.iter().map(|session| with_sdk(session, &offer)),
            ))
        })
    });
    group.finish();
}

/// Reads `count` events by hand: GET, parse into a `Value`, walk the events, follow `next`.
async fn events_by_hand(http: &reqwest::Client, origin: &str, start: &str, count: usize) {
    let mut url = start.to_owned();
    let mut seen = 0;
    while seen < count {
        let response = http
            .get(&url)
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(ACCEPT, "application/json")
            .send()
            .await
            .unwrap();
        let value: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        for sender in value["sender"].as_array().unwrap() {
            for event in sender["events"].as_array().unwrap() {
                black_box((event["type"].as_str(), event["link"]["href"].as_str()));
                seen += 1;
            }
        }
        url = format!(
            "{origin}{}",
            value["_links"]["next"]["href"].as_str().unwrap()
        );
    }
}

async fn events_with_sdk(client: &Client, start: &str, count: usize) {
    let mut channel = EventChannel::builder_for_url(client, start)
        .start()
        .unwrap();
    let mut seen = 0;
    while seen < count {
        if let Some(Ok(ChannelEvent::Event(event))) = channel.next().await {
            black_box(&event);
            seen += 1;
        }
    }
    channel.close().await;
}

fn events_delivery(c: &mut Criterion) {
    let server = start_server();
    let runtime = client_runtime();
    let http = reqwest::Client::new();
    let client = sdk_client(&server);
    let (origin, start) = (server.origin(), server.events_url());
    let count = 1000;

    let mut group = c.benchmark_group("events_delivery");
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("by_hand", |b| {
        b.iter(|| runtime.block_on(events_by_hand(&http, &origin, &start, count)))
    });
    group.bench_function("sdk", |b| {
        b.iter(|| runtime.block_on(events_with_sdk(&client, &start, count)))
    });
    group.finish();
}

/// Checks that both sides decode the same SDPs, then measures them interleaved: on a shared
/// machine the speed of loopback drifts by several times within minutes, so each sample of one
/// side is taken next to a sample of the other, and the medians are compared.
fn interleaved(_: &mut Criterion) {
    let server = start_server();
    let runtime = client_runtime();
    let offer = Bytes::from(sdp(7));
    let http = reqwest::Client::new();
    let client = sdk_client(&server);
    let sessions = sessions(&runtime, &client, &server);
    let urls: Vec<String> = (0..CONCURRENCY)
        .map(|n| server.renegotiations_url(n))
        .collect();

    let (offer_sdk, answer_sdk) = runtime.block_on(with_sdk(&sessions[0], &offer));
    let (offer_hand, answer_hand) = runtime.block_on(by_hand(&http, &urls[0], &offer));
    assert_eq!(
        (offer_sdk, answer_sdk),
        (offer_hand.into(), answer_hand.into())
    );

    let time = |work: &mut dyn FnMut()| {
        let started = Instant::now();
        work();
        started.elapsed().as_secs_f64()
    };
    let median = |mut samples: Vec<f64>| {
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    };

    // Pairs in A-B-B-A order, so that neither side always runs first; each pair gives a ratio.
    let sequential = |pairs: usize| {
        let (mut hand, mut sdk, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for pair in 0..pairs {
            let mut by_hand_once = || {
                runtime.block_on(by_hand(&http, &urls[0], &offer));
            };
            let mut sdk_once = || {
                runtime.block_on(with_sdk(&sessions[0], &offer));
            };
            let (h, s) = if pair % 2 == 0 {
                let h = time(&mut by_hand_once);
                (h, time(&mut sdk_once))
            } else {
                let s = time(&mut sdk_once);
                (time(&mut by_hand_once), s)
            };
            hand.push(h);
            sdk.push(s);
            ratios.push(s / h);
        }
        (median(hand), median(sdk), median(ratios))
    };
    let (hand, sdk, ratio) = sequential(4000);
    println!(
        "interleaved renegotiate_roundtrip: by_hand median {:.1} µs, sdk median {:.1} µs, \
         median ratio sdk/by_hand {ratio:.3}",
        hand * 1e6,
        sdk * 1e6
    );

    let (mut hand, mut sdk, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..60 {
        let mut by_hand_round = || {
            runtime.block_on(join_all(urls.iter().map(|url| by_hand(&http, url, &offer))));
        };
        let mut sdk_round = || {
            runtime.block_on(join_all(sessions.iter().map(|s| with_sdk(s, &offer))));
        };
        let (h, s) = if pair % 2 == 0 {
            let h = time(&mut by_hand_round);
            (h, time(&mut sdk_round))
        } else {
            let s = time(&mut sdk_round);
            (time(&mut by_hand_round), s)
        };
        hand.push(CONCURRENCY as f64 / h);
        sdk.push(CONCURRENCY as f64 / s);
        ratios.push(h / s);
    }
    println!(
        "interleaved renegotiate_concurrent: by_hand median {:.0}/s, sdk median {:.0}/s, \
         median throughput ratio sdk/by_hand {:.3}",
        median(hand),
        median(sdk),
        median(ratios)
    );
}

criterion_group!(
    benches,
    interleaved,
    renegotiate_roundtrip,
    renegotiate_concurrent,
    events_delivery
);
criterion_main!(benches);
