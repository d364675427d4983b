//! `redkeep ensure --health-addr`: /health says 200 while Redis answers and
//! 503 within the detection bound after it is SIGKILLed, 200 again after it
//! is back; /metrics parses strictly and its counters move.
#![cfg(all(unix, feature = "cli"))]

mod prom_text;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{free_port, RedisServer};

/// `GET path` on `addr`: (status, body).
fn get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(s, "GET {path} HTTP/1.1\r\nhost: {addr}\r\n\r\n")?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").expect("a head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|n| n.parse().ok())
        .expect("content-length");
    assert_eq!(body.len(), length, "body length matches content-length");
    Ok((status, body.to_owned()))
}

/// Polls /health until it answers `want`; returns how long it took.
fn until_status(addr: &str, want: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok((status, _)) = get(addr, "/health") {
            if status == want {
                return started.elapsed();
            }
        }
        assert!(
            started.elapsed() < limit,
            "/health not {want} within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Ensure(Child);

impl Drop for Ensure {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ensure(args: &[&str]) -> (Ensure, String) {
    // Port 0: redkeep binds a free port itself and prints it (a port picked
    // here could be taken by another test's redis-server before redkeep binds).
    let mut child = Command::new(env!("CARGO_BIN_EXE_redkeep"))
        .arg("ensure")
        .args(args)
        .args(["--health-addr", "127.0.0.1:0", "-q"])
        .env_remove("REDKEEP_PASSWORD")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.contains("/health") {
        line.clear();
        assert!(
            out.read_line(&mut line).expect("read") > 0,
            "redkeep ended early"
        );
    }
    let health = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split("/health").next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    // Keep draining stdout so redkeep never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    (Ensure(child), health)
}

#[test]
fn health_follows_a_sigkilled_server_and_metrics_parse() {
    let mut server = RedisServer::with_password("hunter2-pw");
    let port = server.port().to_string();
    let (_cli, addr) = ensure(&["--port", &port, "--password", "hunter2-pw"]);

    let (status, body) = get(&addr, "/health").expect("GET /health");
    assert_eq!(status, 200, "{body}");
    for field in [
        "\"state\":\"up\"",
        "\"since\":",
        "\"last_error\":null",
        "\"rtt_seconds\":0.",
        "\"restarts\":null",
    ] {
        assert!(body.contains(field), "{field} in {body}");
    }
    let (status, text) = get(&addr, "/metrics").expect("GET /metrics");
    assert_eq!(status, 200);
    assert!(!text.contains("hunter2-pw"), "no password in /metrics");
    let first = prom_text::parse(&text).expect("strict parse");
    let pool = first.samples[0].labels["pool"].clone();
    assert!(pool.contains(&port) && pool.contains("***"), "{pool}");
    let probes = |e: &prom_text::Exposition| e.value("redkeep_probes_total", &[("pool", &pool)]);

    server.kill9();
    // Default health config: a probe every 500 ms, 250 ms timeout, Down
    // after 2 failures; a refused connect is Down at once. 3 s of headroom.
    let took = until_status(&addr, 503, Duration::from_millis(500 + 2 * 250 + 3000));
    eprintln!("/health went 503 {took:?} after SIGKILL");
    let (_, body) = get(&addr, "/health").expect("GET /health");
    assert!(body.contains("\"last_error\":\""), "{body}");
    assert!(!body.contains("hunter2-pw"), "{body}");

    server.restart();
    let took = until_status(&addr, 200, Duration::from_secs(10));
    eprintln!("/health back to 200 {took:?} after the restart");
    let (_, text) = get(&addr, "/metrics").expect("GET /metrics");
    let later = prom_text::parse(&text).expect("strict parse");
    assert!(probes(&later) > probes(&first), "probes move");
    assert!(later.value("redkeep_reconnects_total", &[("pool", &pool)]) >= 1.0);
    assert!(later.value("redkeep_evictions_total", &[("pool", &pool)]) >= 1.0);
    assert_eq!(
        later.value("redkeep_health_state", &[("pool", &pool), ("state", "up")]),
        1.0
    );

    let (status, _) = get(&addr, "/nope").expect("GET /nope");
    assert_eq!(status, 404);
}

#[test]
fn a_supervised_server_reports_its_restarts() {
    let (_cli, addr) = ensure(&["--port", &free_port().to_string()]);
    let (status, body) = get(&addr, "/health").expect("GET /health");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"restarts\":0"), "{body}");
    let e = prom_text::parse(&get(&addr, "/metrics").expect("GET").1).expect("strict parse");
    let pool = e.samples[0].labels["pool"].clone();
    assert_eq!(
        e.value("redkeep_server_restarts_total", &[("pool", &pool)]),
        0.0
    );
}

#[test]
fn a_bad_health_addr_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_redkeep"))
        .args([
            "ensure",
            "--port",
            &free_port().to_string(),
            "--health-addr",
            "localhost",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--health-addr"), "{err}");
}
