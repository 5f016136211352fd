//! A TCP front for the fake server that can drop a connection instead of answering, so that
//! clients meet real transport errors.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The response header by which the router asks the front to drop the connection. It never
/// reaches the client.
pub(crate) const DISCONNECT_MARKER: &str = "x-fake-ucwa-disconnect";

/// Starts forwarding connections from a new loopback port to `upstream`.
pub(crate) async fn start(upstream: SocketAddr) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(forward(client, upstream));
        }
    });
    Ok((address, task))
}

/// Pumps one connection both ways until either side closes or the marker shows up.
async fn forward(client: TcpStream, upstream: SocketAddr) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();

    let requests = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });

    let marker = DISCONNECT_MARKER.as_bytes();
    let mut carry: Vec<u8> = Vec::new();
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match server_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let chunk = &buffer[..read];
        // The marker may straddle two reads: search the tail of the last one too.
        let mut window = std::mem::take(&mut carry);
        window.extend_from_slice(chunk);
        if window.windows(marker.len()).any(|part| part == marker) {
            break;
        }
        let keep = window.len().min(marker.len());
        carry = window[window.len() - keep..].to_vec();
        if client_write.write_all(chunk).await.is_err() {
            break;
        }
    }
    requests.abort();
    // Dropping both halves closes the client's connection without a response.
}
