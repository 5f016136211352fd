//! Certificate verification against a real HTTPS server on loopback: a certificate issued by a
//! trusted authority for the host the client connects to is accepted; anything else ends the
//! TLS handshake before a single HTTP request (and so the token) crosses the connection.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use ucwa::{Client, ErrorKind};

use support::{
    OFFER, RENEGOTIATIONS_PATH, SESSION_PATH, TOKEN, entity_json, sdp_uri, session_json,
};

const ANSWER: &str =
    "v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n";

/// A certificate authority made for one test.
struct Authority {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// How long a server certificate is valid.
#[derive(Clone, Copy)]
enum Validity {
    Current,
    Expired,
    NotYetValid,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = KeyPair::generate().expect("a CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name.push(DnType::CommonName, name);
        let certificate = params.self_signed(&key).expect("a CA certificate");
        Authority {
            pem: certificate.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn root(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.pem.as_bytes()).expect("the CA certificate parses")
    }

    /// A server certificate for these names (DNS names or IP addresses).
    fn issue(
        &self,
        names: &[&str],
        validity: Validity,
    ) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().expect("a server key");
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "ucwa test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        match validity {
            Validity::Current => {}
            Validity::Expired => {
                params.not_before = rcgen::date_time_ymd(2000, 1, 1);
                params.not_after = rcgen::date_time_ymd(2001, 1, 1);
            }
            Validity::NotYetValid => {
                params.not_before = rcgen::date_time_ymd(4000, 1, 1);
                params.not_after = rcgen::date_time_ymd(4001, 1, 1);
            }
        }
        let certificate = params
            .signed_by(&key, &self.issuer)
            .expect("a server certificate");
        let key = PrivatePkcs8KeyDer::from(key.serialize_der());
        (certificate.der().clone(), key.into())
    }
}

/// What an HTTPS server on loopback saw.
#[derive(Default)]
struct Seen {
    /// Handshakes that failed (the client refused the certificate, or gave up).
    failed_handshakes: AtomicUsize,
    /// Every HTTP request read after a handshake: its request line and lowercased headers.
    requests: Mutex<Vec<String>>,
}

impl Seen {
    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until the server has noticed a failed handshake, for at most two seconds.
    async fn wait_for_failed_handshake(&self) -> usize {
        for _ in 0..200 {
            let failed = self.failed_handshakes.load(Ordering::SeqCst);
            if failed > 0 {
                return failed;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        0
    }
}

/// An HTTPS server on 127.0.0.1 with this certificate, serving the session and its
/// renegotiations; one request per connection.
async fn https_server(
    certificate: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (u16, Arc<Seen>) {
    let config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .expect("a server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let seen = Arc::new(Seen::default());
    let shared = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = Arc::clone(&shared);
            tokio::spawn(async move {
                let Ok(mut stream) = acceptor.accept(socket).await else {
                    seen.failed_handshakes.fetch_add(1, Ordering::SeqCst);
                    return;
                };
                let Ok((head, _body)) = read_request(&mut stream).await else {
                    return;
                };
                seen.requests.lock().unwrap().push(head.clone());
                let reply = reply_to(&head);
                let _ = stream.write_all(&reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (port, seen)
}

/// Reads one request: its head (lowercased after the request line) and its body.
async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let text = String::from_utf8_lossy(&buffer[..end]).into_owned();
    let (line, headers) = text.split_once("\r\n").unwrap_or((&text, ""));
    let headers = headers.to_ascii_lowercase();
    let length = headers
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buffer[end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok((format!("{line}\r\n{headers}"), body))
}

/// The session resource, a renegotiation entity, or 404.
fn reply_to(head: &str) -> Vec<u8> {
    let target = head.split(' ').nth(1).unwrap_or_default();
    let (status, body) = if head.starts_with("GET ") && target == SESSION_PATH {
        let links = json!({"renegotiations": {"href": RENEGOTIATIONS_PATH}});
        ("200 OK", session_json(links))
    } else if head.starts_with("POST ") && target.starts_with(RENEGOTIATIONS_PATH) {
        let links = json!({
            "self": {"href": format!("{RENEGOTIATIONS_PATH}/1")},
            "mediaAnswer": {"href": sdp_uri(ANSWER)},
        });
        ("201 Created", entity_json(links))
    } else {
        ("404 Not Found", json!({"code": "NotFound"}))
    };
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn client(origin: &str, root: Option<reqwest::Certificate>) -> Client {
    let builder = Client::builder()
        .origin(origin)
        .token(TOKEN)
        .timeout(Duration::from_secs(5));
    match root {
        Some(root) => builder.root_certificate(root),
        None => builder,
    }
    .build()
    .expect("client")
}

/// Reads the session over https and fails the test unless the error is a transport error, the
/// handshake was attempted, and no HTTP request reached the server.
async fn assert_refused_before_any_request(
    authority: &Authority,
    names: &[&str],
    validity: Validity,
    trust: bool,
) {
    let (certificate, key) = authority.issue(names, validity);
    let (port, seen) = https_server(certificate, key).await;
    let origin = format!("https://127.0.0.1:{port}");
    let client = client(&origin, trust.then(|| authority.root()));
    let session = client.session(SESSION_PATH).unwrap();

    let outcome = tokio::time::timeout(Duration::from_secs(20), session.refresh())
        .await
        .expect("the call ended");
    let error = outcome.expect_err("the certificate was accepted");
    assert_eq!(error.kind(), ErrorKind::Transport, "{names:?}: {error:?}");
    assert!(
        seen.wait_for_failed_handshake().await > 0,
        "{names:?}: the server saw no handshake"
    );
    assert_eq!(seen.requests(), Vec::<String>::new(), "{names:?}");
}

#[tokio::test]
async fn a_certificate_from_a_trusted_root_renegotiates_over_https() {
    let authority = Authority::new("ucwa test authority");
    let (certificate, key) = authority.issue(&["localhost", "127.0.0.1"], Validity::Current);
    let (port, seen) = https_server(certificate, key).await;
    let origin = format!("https://127.0.0.1:{port}");
    let client = client(&origin, Some(authority.root()));
    let session = client.session(&format!("{origin}{SESSION_PATH}")).unwrap();

    let renegotiation = tokio::time::timeout(Duration::from_secs(20), session.renegotiate(OFFER))
        .await
        .expect("the call ended")
        .expect("the renegotiation over https");
    assert_eq!(renegotiation.operation_id(), Some("op-1"));
    assert_eq!(
        renegotiation.media_answer().unwrap().as_deref(),
        Some(ANSWER.as_bytes())
    );
    let requests = seen.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[0].starts_with(&format!("GET {SESSION_PATH} ")));
    assert!(requests[1].starts_with(&format!("POST {RENEGOTIATIONS_PATH}?operationId=")));
    for request in &requests {
        let bearer = format!("authorization: bearer {}", TOKEN.to_ascii_lowercase());
        assert!(request.contains(&bearer), "{request}");
    }
    assert_eq!(seen.failed_handshakes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_certificate_for_localhost_is_accepted_at_localhost() {
    let authority = Authority::new("ucwa test authority");
    let (certificate, key) = authority.issue(&["localhost"], Validity::Current);
    let (port, seen) = https_server(certificate, key).await;
    let client = client(&format!("https://localhost:{port}"), Some(authority.root()));
    let session = client.session(SESSION_PATH).unwrap();

    let state = tokio::time::timeout(Duration::from_secs(20), session.state())
        .await
        .expect("the call ended")
        .expect("the session over https");
    assert_eq!(state, Some(ucwa::SessionState::Established));
    assert_eq!(seen.requests().len(), 1);
}

#[tokio::test]
async fn without_the_root_the_handshake_fails_and_no_request_is_sent() {
    let authority = Authority::new("ucwa test authority");
    assert_refused_before_any_request(
        &authority,
        &["localhost", "127.0.0.1"],
        Validity::Current,
        false,
    )
    .await;
}

#[tokio::test]
async fn a_root_other_than_the_issuer_does_not_make_the_certificate_trusted() {
    let issuer = Authority::new("ucwa test authority");
    let stranger = Authority::new("another authority");
    let (certificate, key) = issuer.issue(&["127.0.0.1"], Validity::Current);
    let (port, seen) = https_server(certificate, key).await;
    let client = client(&format!("https://127.0.0.1:{port}"), Some(stranger.root()));

    let session = client.session(SESSION_PATH).unwrap();
    let error = tokio::time::timeout(Duration::from_secs(20), session.refresh())
        .await
        .expect("the call ended")
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
    assert!(seen.wait_for_failed_handshake().await > 0);
    assert!(seen.requests().is_empty());
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused() {
    let authority = Authority::new("ucwa test authority");
    for names in [&["fe1.contoso.com"][..], &["localhost"], &["127.0.0.2"]] {
        assert_refused_before_any_request(&authority, names, Validity::Current, true).await;
    }
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let authority = Authority::new("ucwa test authority");
    assert_refused_before_any_request(
        &authority,
        &["localhost", "127.0.0.1"],
        Validity::Expired,
        true,
    )
    .await;
}

#[tokio::test]
async fn a_certificate_not_yet_valid_is_refused() {
    let authority = Authority::new("ucwa test authority");
    assert_refused_before_any_request(
        &authority,
        &["localhost", "127.0.0.1"],
        Validity::NotYetValid,
        true,
    )
    .await;
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_source_file_turns_certificate_verification_off() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 5, "found only {files:?}");
    let forbidden = [
        "danger_accept_invalid_certs",
        "danger_accept_invalid_hostnames",
        "tls_backend_preconfigured",
        ".dangerous()",
    ];
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a readable source file");
        for word in forbidden {
            assert!(!text.contains(word), "{} contains {word}", file.display());
        }
    }
}
