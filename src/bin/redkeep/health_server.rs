//! `--health-addr`: a tiny HTTP/1.1 server answering `GET /health` and
//! `GET /metrics` from a pool watching the server, one request per
//! connection. The answers themselves (status, JSON, Prometheus text) come
//! from the library.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the endpoints read: the pool's metrics, with the restarts of the
/// server `ensure` supervises.
pub(crate) struct Source {
    pub(crate) pool: redkeep::Pool,
    pub(crate) server: Arc<redkeep::LocalServer>,
}

impl Source {
    fn metrics(&self) -> redkeep::Metrics {
        let mut m = self.pool.metrics();
        if let redkeep::Origin::Spawned { .. } = self.server.origin() {
            m.server_restarts = Some(u64::from(self.server.restarts()));
        }
        m
    }
}

/// Binds `addr` now, so a bad or taken address fails before anything starts.
pub(crate) async fn bind(addr: &str) -> Result<TcpListener, String> {
    let parsed: SocketAddr = addr.parse().map_err(|_| {
        format!("--health-addr: expected HOST:PORT (e.g. 127.0.0.1:9121), got {addr:?}")
    })?;
    TcpListener::bind(parsed)
        .await
        .map_err(|e| format!("--health-addr {addr}: cannot listen: {e}"))
}

/// Serves until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, source: Arc<Source>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: try again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let source = source.clone();
        tokio::spawn(async move {
            // A client that sends nothing does not hold a task forever.
            let _ = tokio::time::timeout(Duration::from_secs(5), answer(stream, &source)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, source: &Source) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // The request head only; bodies are not expected.
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && !buf.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > 16 * 1024 {
            return respond(&mut stream, 431, "text/plain", "request head too large\n").await;
        }
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/health") => {
            let (status, body) = source.metrics().health_json();
            respond(&mut stream, status, "application/json", &body).await
        }
        ("GET", "/metrics") => {
            let body = source.metrics().to_prometheus();
            respond(
                &mut stream,
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
            )
            .await
        }
        ("GET", _) => respond(&mut stream, 404, "text/plain", "try /health or /metrics\n").await,
        _ => respond(&mut stream, 405, "text/plain", "GET only\n").await,
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &str,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}
