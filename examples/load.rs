//! Renegotiates many calls at once through one client and prints what it measured as one JSON
//! object: throughput, latency percentiles, peak memory, errors, and the size of the handles.
//!
//! It runs against the minimal loopback UCWA server of the benchmarks, started in a child
//! process of its own so that the memory and CPU measured are the client's alone:
//!
//! ```text
//! cargo run --release --example load -- --sessions 10000 --concurrency 1000
//! ```

#[path = "../benches/support/server.rs"]
mod server;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use ucwa::{Client, Renegotiation, Session};

const USAGE: &str = "\
usage: load [--sessions N] [--concurrency N]

  --sessions N     sessions to renegotiate, one renegotiation each (default 10000)
  --concurrency N  renegotiations in flight at once (default 1000)

Prints one JSON object on stdout; exit 0 when no renegotiation failed, 1 otherwise, 2 on bad
arguments.";

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(SERVE) {
        serve();
        return ExitCode::SUCCESS;
    }
    let (sessions, concurrency) = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("load: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let mut child = match Server::spawn() {
        Ok(child) => child,
        Err(error) => {
            eprintln!("load: cannot start the server: {error}");
            return ExitCode::from(1);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime.block_on(run(&child.origin, sessions, concurrency));
    child.stop();
    println!("{report}");
    if report["errors"] == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The argument that makes this program the server instead of the client.
const SERVE: &str = "--serve-for-load";

/// Serves until its standard input closes, after printing its origin on one line.
fn serve() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let server = server::BenchServer::start().await;
        println!("{}", server.origin());
        // The parent closes the pipe when it is done, or when it dies.
        let _ = tokio::task::spawn_blocking(|| {
            let _ = std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]);
        })
        .await;
    });
}

/// The server's child process.
struct Server {
    child: std::process::Child,
    origin: String,
}

impl Server {
    fn spawn() -> std::io::Result<Server> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};

        let mut child = Command::new(std::env::current_exe()?)
            .arg(SERVE)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut origin = String::new();
        let stdout = child.stdout.take().ok_or(std::io::ErrorKind::BrokenPipe)?;
        std::io::BufReader::new(stdout).read_line(&mut origin)?;
        Ok(Server {
            child,
            origin: origin.trim().to_owned(),
        })
    }

    fn stop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

async fn run(origin: &str, sessions: usize, concurrency: usize) -> serde_json::Value {
    let client = Client::builder()
        .origin(origin)
        .token(server::TOKEN)
        .allow_http(true)
        .build()
        .expect("a client");
    let offer = Bytes::from(server::sdp(7));

    // Read every session first, as a bot holds its sessions during their calls.
    let setup = Instant::now();
    let handles: Vec<Session> = futures::stream::iter(0..sessions)
        .map(|n| {
            let client = client.clone();
            let url = format!("{origin}/s/{n}");
            async move {
                let session = client.session(&url).expect("a session url");
                session.resource().await.map(|_| session)
            }
        })
        .buffer_unordered(concurrency)
        .filter_map(|session| async move { session.ok() })
        .collect()
        .await;
    let setup = setup.elapsed();

    let started = Instant::now();
    let outcomes: Vec<(Duration, bool)> = futures::stream::iter(handles.iter())
        .map(|session| {
            let offer = offer.clone();
            async move {
                let begun = Instant::now();
                let ok = match session.renegotiate(offer).await {
                    Ok(renegotiation) => correct(&renegotiation),
                    Err(error) => {
                        eprintln!("load: {error}");
                        false
                    }
                };
                (begun.elapsed(), ok)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut latencies: Vec<Duration> = outcomes.iter().map(|(latency, _)| *latency).collect();
    latencies.sort();
    let errors = outcomes.iter().filter(|(_, ok)| !ok).count() + (sessions - handles.len());
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies
            .get(index)
            .map_or(0.0, |latency| latency.as_secs_f64() * 1000.0)
    };
    json!({
        "sessions": sessions,
        "concurrency": concurrency,
        "renegotiations": outcomes.len(),
        "elapsed_secs": elapsed.as_secs_f64(),
        "setup_secs": setup.as_secs_f64(),
        "renegotiations_per_sec": outcomes.len() as f64 / elapsed.as_secs_f64(),
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "peak_rss_mb": peak_rss_mb(),
        "errors": errors,
        "size_of": {
            "session": std::mem::size_of::<Session>(),
            "renegotiation": std::mem::size_of::<Renegotiation>(),
            "client": std::mem::size_of::<Client>(),
        },
    })
}

/// Whether a renegotiation is the entity the server sent: both SDPs decode and the id echoes.
fn correct(renegotiation: &Renegotiation) -> bool {
    let offer = renegotiation.media_offer();
    let answer = renegotiation.media_answer();
    matches!((offer, answer), (Ok(Some(_)), Ok(Some(_))))
        && renegotiation
            .operation_id()
            .is_some_and(|id| id.len() == 36)
}

/// The process's peak resident memory in MiB, from `/proc/self/status` (0 where there is none).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib / 1024.0)
        })
        .unwrap_or(0.0)
}

fn parse_args(mut raw: impl Iterator<Item = String>) -> Result<Option<(usize, usize)>, String> {
    let (mut sessions, mut concurrency) = (10_000, 1_000);
    while let Some(flag) = raw.next() {
        let mut number = || {
            let text = raw.next().ok_or_else(|| format!("{flag} needs a value"))?;
            text.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{flag} wants a positive number, not {text:?}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--sessions" => sessions = number()?,
            "--concurrency" => concurrency = number()?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some((sessions, concurrency.min(sessions))))
}
