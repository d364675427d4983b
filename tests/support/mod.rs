//! Test support shared by the pool tests: a real `redis-server` guard, a TCP
//! proxy the tests control, and small servers that are not Redis.
//!
//! Everything listens on 127.0.0.1 on a free port chosen at start; nothing
//! assumes 6379 is free, and every process started here is killed and reaped
//! when its guard drops.

#![allow(dead_code)] // each test file uses a different part of this module

pub mod multi;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use redkeep::server::OwnedChild;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redkeep::redis;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Bounds every await that could hang: panics with `what` after `limit`.
pub async fn within<F: std::future::Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(out) => out,
        Err(_) => panic!("{what}: still waiting after {limit:?}"),
    }
}

/// Waits until the pool's watch publishes `state`; returns how long it took.
pub async fn wait_for_state(
    rx: &mut watch::Receiver<redkeep::Health>,
    state: redkeep::State,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    within(
        limit,
        &format!("waiting for the pool to be {state}"),
        async {
            rx.wait_for(|h| h.state == state)
                .await
                .expect("the health watch ended");
        },
    )
    .await;
    started.elapsed()
}

/// Waits until the health watch has its own connection and one probe
/// answered, so a test measures the steady state, not the start-up race.
pub async fn first_probe(pool: &redkeep::Pool) {
    within(Duration::from_secs(5), "the first health probe", async {
        while pool.stats().probes == 0 || !pool.health().is_up() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// Waits until every connection that was open through `proxy` at its last
/// `reset_all` is closed (a reconnect made since may stay open), then a
/// little longer so the clients have read their RST.
pub async fn all_closed(proxy: &Proxy) {
    within(
        Duration::from_secs(5),
        "proxied connections to close",
        async {
            while proxy.live_from_before_reset() > 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Runs `f` on a plain OS thread outside any runtime, as an FFI caller's
/// thread would (`query_blocking` must not run on a runtime thread), and
/// awaits its result without blocking the runtime.
pub async fn on_a_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.expect("the thread panicked")
}

/// The `pct` percentile (0–100, nearest rank) of `samples`.
pub fn percentile(samples: &[Duration], pct: f64) -> Duration {
    assert!(!samples.is_empty(), "no samples");
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A config with short timeouts and a fast health watch, for tests.
pub fn fast_config(url: impl Into<String>) -> redkeep::Config {
    let mut cfg = redkeep::Config::from_url(url);
    cfg.timeouts.connect = Duration::from_millis(500);
    cfg.timeouts.wait = Duration::from_millis(500);
    cfg.timeouts.command = Duration::from_millis(500);
    cfg.health.interval = Duration::from_millis(100);
    cfg.health.timeout = Duration::from_millis(100);
    cfg.health.failures_before_down = 2;
    cfg.backoff.initial = Duration::from_millis(20);
    cfg.backoff.max = Duration::from_millis(200);
    cfg
}

/// A port that was free a moment ago on 127.0.0.1 (callers retry if they
/// lose the race for it).
pub fn free_port() -> u16 {
    StdListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A port on 127.0.0.1 where nothing listens (connects are refused).
pub fn closed_port() -> u16 {
    free_port()
}

// ---------------------------------------------------------------------------
// redis-server
// ---------------------------------------------------------------------------

/// The `redis-server` binary: `$REDKEEP_REDIS_SERVER`, else from `PATH`.
pub fn redis_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("REDKEEP_REDIS_SERVER") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .expect("redis-server not found: install it or set REDKEEP_REDIS_SERVER")
}

/// Options for [`RedisServer::start_with`].
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// `--requirepass`.
    pub password: Option<String>,
    /// More arguments for redis-server (e.g. `--tls-port`).
    pub args: Vec<String>,
}

/// A real `redis-server` on a free 127.0.0.1 port, in a private temporary
/// directory, without persistence. Killed and reaped on drop, and — through
/// redkeep's own guard (`OwnedChild`) — killed by the kernel if the test
/// process itself dies, even by SIGKILL.
pub struct RedisServer {
    child: Option<OwnedChild>,
    port: u16,
    dir: PathBuf,
    options: ServerOptions,
}

static DIR_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl RedisServer {
    /// Starts a server and waits for a real `PONG`.
    pub fn start() -> Self {
        Self::start_with(ServerOptions::default())
    }

    /// Starts a server with `--requirepass password`.
    pub fn with_password(password: &str) -> Self {
        Self::start_with(ServerOptions {
            password: Some(password.to_owned()),
            ..ServerOptions::default()
        })
    }

    /// Starts a server with `options`, retrying on a new port if another
    /// process took the chosen one first.
    pub fn start_with(options: ServerOptions) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "redkeep-test-{}-{}-{}",
            std::process::id(),
            DIR_COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).expect("create the server's temp dir");
        let mut server = Self {
            child: None,
            port: 0,
            dir,
            options,
        };
        let mut last_error = String::new();
        for _ in 0..10 {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return server,
                Err(e) => last_error = e,
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    /// The URL to connect with (password included if the server has one).
    pub fn url(&self) -> String {
        match &self.options.password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}", self.port),
            None => self.url_without_password(),
        }
    }

    /// The URL without credentials.
    pub fn url_without_password(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Its process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(OwnedChild::pid)
    }

    /// Kills the server with SIGKILL (no shutdown, sockets closed by the
    /// kernel) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(child) = self.child.take() {
            let _ = child.kill(); // SIGKILL on unix
            let _ = child.wait();
        }
    }

    /// Stops the server cleanly (`SHUTDOWN NOSAVE`), killing it if it does
    /// not exit within 5 s.
    pub fn stop(&mut self) {
        let Some(child) = self.child.take() else {
            return;
        };
        let _ = self.raw(&["SHUTDOWN", "NOSAVE"]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts the server again on the same port (after `kill9` or `stop`),
    /// and waits for a real `PONG`.
    pub fn restart(&mut self) {
        self.kill9();
        let mut last_error = String::new();
        // The port is ours, but give the kernel a moment if it disagrees.
        for _ in 0..20 {
            match self.spawn() {
                Ok(()) => return,
                Err(e) => last_error = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "could not restart redis-server on port {}: {last_error}",
            self.port
        );
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// A fresh direct connection to the server (not through any pool).
    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        let client = redis::Client::open(self.url()).expect("valid url");
        within(
            Duration::from_secs(5),
            "direct connection",
            client.get_multiplexed_async_connection(),
        )
        .await
        .expect("direct connection to the test server")
    }

    /// Calls of `command` counted by `INFO commandstats` (`cmdstat_<name>`).
    pub async fn command_calls(&self, command: &str) -> u64 {
        let mut conn = self.client().await;
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await
            .expect("INFO commandstats");
        let key = format!("cmdstat_{}:calls=", command.to_ascii_lowercase());
        info.lines()
            .find_map(|line| line.strip_prefix(&key))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = self.dir.join("redis.log");
        let _ = std::fs::remove_file(&log);
        let mut cmd = Command::new(redis_server_binary());
        cmd.arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log);
        if redis_major_version() >= 7 {
            // DEBUG SLEEP is used by the timeout tests.
            cmd.args(["--enable-debug-command", "yes"]);
        }
        if let Some(pw) = &self.options.password {
            cmd.args(["--requirepass", pw]);
        }
        cmd.args(&self.options.args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = OwnedChild::spawn(cmd).map_err(|e| format!("cannot run redis-server: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(5).collect();
                return Err(format!("redis-server exited with {status}: {tail:?}"));
            }
            if self.ping_ok(child.pid()) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("redis-server did not answer PONG within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// A real `PONG` (not `LOADING`, not merely an open port) from this
    /// very process (`INFO server` names its pid), not from another test's
    /// server that won the race for the port.
    fn ping_ok(&self, pid: u32) -> bool {
        let mut commands = Vec::new();
        if let Some(pw) = &self.options.password {
            commands.push(vec!["AUTH".to_owned(), pw.clone()]);
        }
        commands.push(vec!["PING".to_owned()]);
        commands.push(vec!["INFO".to_owned(), "server".to_owned()]);
        let needle = format!("process_id:{pid}\r\n");
        self.raw_until(&commands, &needle)
            .map(|reply| reply.contains("+PONG") && reply.contains(&needle))
            .unwrap_or(false)
    }

    fn raw(&self, argv: &[&str]) -> std::io::Result<String> {
        let mut all = Vec::new();
        if let Some(pw) = &self.options.password {
            all.push(vec!["AUTH".to_owned(), pw.clone()]);
        }
        all.push(argv.iter().map(|s| s.to_string()).collect());
        self.raw_until(&all, "\n")
    }

    /// Sends commands on a plain blocking socket and reads until the reply
    /// contains `needle`, the peer closes, or 500 ms pass.
    fn raw_until(&self, commands: &[Vec<String>], needle: &str) -> std::io::Result<String> {
        let mut stream = StdStream::connect_timeout(&self.addr(), Duration::from_millis(200))?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        let mut out = Vec::new();
        for argv in commands {
            out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
            for arg in argv {
                out.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
            }
        }
        stream.write_all(&out)?;
        let mut reply = String::new();
        let mut buf = [0u8; 4096];
        while !reply.contains(needle) {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            reply.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        Ok(reply)
    }
}

impl RedisServer {
    /// Stops the server with SIGSTOP: its sockets stay open and silent (no
    /// FIN, no RST, new connects still accepted by the kernel), like a hung
    /// host. It runs again when the returned guard is resumed or dropped.
    pub fn pause(&self) -> Paused {
        let pid = self.pid().expect("the server is running");
        signal(pid, "STOP");
        Paused { pid: Some(pid) }
    }

    /// Sends one command on a fresh plain socket (not through any pool) and
    /// returns the start of the raw reply.
    pub fn send_raw(&self, argv: &[&str]) -> String {
        self.raw(argv).expect("raw command to the test server")
    }

    /// Clients the server holds blocked (`INFO clients`: `blocked_clients`),
    /// e.g. in a `BLPOP`.
    pub async fn blocked_clients(&self) -> u64 {
        let mut conn = self.client().await;
        let info: String = redis::cmd("INFO")
            .arg("clients")
            .query_async(&mut conn)
            .await
            .expect("INFO clients");
        info.lines()
            .find_map(|line| line.strip_prefix("blocked_clients:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Waits until exactly `n` clients are blocked on the server.
    pub async fn wait_for_blocked_clients(&self, n: u64, limit: Duration) {
        within(
            limit,
            &format!("{n} blocked client(s) on the server"),
            async {
                while self.blocked_clients().await != n {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            },
        )
        .await;
    }
}

/// A server stopped by [`RedisServer::pause`]; SIGCONT on `resume` or drop.
pub struct Paused {
    pid: Option<u32>,
}

impl Paused {
    /// Lets the server run again.
    pub fn resume(mut self) {
        if let Some(pid) = self.pid.take() {
            signal(pid, "CONT");
        }
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            signal(pid, "CONT");
        }
    }
}

/// Sends `SIG<name>` to `pid` with the `kill` utility (no `unsafe` in tests).
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid}: {status}");
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The major version of the test `redis-server`.
pub fn redis_major_version() -> u32 {
    static VERSION: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let out = Command::new(redis_server_binary())
            .arg("--version")
            .output()
            .expect("run redis-server --version");
        let text = String::from_utf8_lossy(&out.stdout);
        // "Redis server v=7.0.15 sha=..."
        text.split("v=")
            .nth(1)
            .and_then(|rest| rest.split('.').next())
            .and_then(|major| major.parse().ok())
            .unwrap_or(0)
    })
}

// ---------------------------------------------------------------------------
// TCP proxy
// ---------------------------------------------------------------------------

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards bytes both ways.
    Forward,
    /// Accepts connections and keeps them open but forwards nothing in
    /// either direction — existing connections too (a half-open peer).
    /// Bytes read before the switch are held, not dropped, and flow again
    /// when the mode goes back to `Forward`.
    Blackhole,
    /// Accepts new connections and closes them at once (RST). Existing
    /// connections stall as in `Blackhole`; drop them with
    /// [`Proxy::reset_all`].
    Refuse,
}

/// A TCP proxy on 127.0.0.1 in front of `upstream`, controlled by the test.
pub struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    delay_us: Arc<AtomicU64>,
    reset: watch::Sender<u64>,
    accepted: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    live: LiveConnections,
    accept_task: JoinHandle<()>,
    password: Mutex<Option<String>>,
}

impl Proxy {
    /// Starts a proxy in `Forward` mode. Must run within a tokio runtime.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (mode, _) = watch::channel(Mode::Forward);
        let (reset, _) = watch::channel(0u64);
        let accepted = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let live = LiveConnections::default();
        let delay_us = Arc::new(AtomicU64::new(0));
        let accept_task = tokio::spawn(
            AcceptLoop {
                upstream,
                mode: mode.clone(),
                delay_us: delay_us.clone(),
                reset: reset.clone(),
                accepted: accepted.clone(),
                bytes: bytes.clone(),
                live: live.clone(),
            }
            .run(listener),
        );
        Self {
            addr,
            mode,
            delay_us,
            reset,
            accepted,
            bytes,
            live,
            accept_task,
            password: Mutex::new(None),
        }
    }

    /// Makes [`Proxy::url`] carry a password.
    pub fn set_password(&self, password: &str) {
        *self.password.lock().unwrap() = Some(password.to_owned());
    }

    /// `redis://127.0.0.1:<proxy port>`.
    pub fn url(&self) -> String {
        match &*self.password.lock().unwrap() {
            Some(pw) => format!("redis://:{pw}@{}", self.addr),
            None => format!("redis://{}", self.addr),
        }
    }

    /// The proxy's listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switches the mode; applies to existing connections at once.
    pub fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Delays every chunk forwarded from Redis to the client by `delay`
    /// (a slow link: each round trip takes at least that long).
    pub fn set_reply_delay(&self, delay: Duration) {
        self.delay_us
            .store(delay.as_micros() as u64, Ordering::SeqCst);
    }

    /// Drops every live connection abruptly (RST via `SO_LINGER 0`).
    pub fn reset_all(&self) {
        self.reset.send_modify(|n| *n += 1);
    }

    /// Connections accepted so far (in any mode): the connect attempts.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Bytes forwarded so far, both directions.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }

    /// Connections open through the proxy now.
    pub fn live(&self) -> usize {
        self.live.lock().unwrap().len()
    }

    /// Connections open now that were accepted before the last `reset_all`.
    pub fn live_from_before_reset(&self) -> usize {
        let resets = *self.reset.borrow();
        self.live
            .lock()
            .unwrap()
            .values()
            .filter(|&&born| born < resets)
            .count()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.reset_all();
    }
}

/// What the proxy's accept task shares with the test's [`Proxy`] handle.
struct AcceptLoop {
    upstream: SocketAddr,
    mode: watch::Sender<Mode>,
    delay_us: Arc<AtomicU64>,
    reset: watch::Sender<u64>,
    accepted: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    live: LiveConnections,
}

impl AcceptLoop {
    async fn run(self, listener: TcpListener) {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                continue;
            };
            self.accepted.fetch_add(1, Ordering::SeqCst);
            if *self.mode.borrow() == Mode::Refuse {
                let _ = client.set_zero_linger();
                drop(client);
                continue;
            }
            let conn = ProxiedConnection {
                upstream: self.upstream,
                mode: self.mode.subscribe(),
                delay_us: self.delay_us.clone(),
                reset: self.reset.subscribe(),
                bytes: self.bytes.clone(),
                live: self.live.clone(),
            };
            tokio::spawn(conn.serve(client));
        }
    }
}

/// Open proxied connections: id → the reset count when it was accepted.
type LiveConnections = Arc<Mutex<std::collections::HashMap<u64, u64>>>;

struct ProxiedConnection {
    upstream: SocketAddr,
    mode: watch::Receiver<Mode>,
    delay_us: Arc<AtomicU64>,
    reset: watch::Receiver<u64>,
    bytes: Arc<AtomicU64>,
    live: LiveConnections,
}

impl ProxiedConnection {
    async fn serve(mut self, mut client: TcpStream) {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        let born = *self.reset.borrow();
        self.live.lock().unwrap().insert(id, born);
        let _ = client.set_nodelay(true);
        let server = tokio::select! {
            server = TcpStream::connect(self.upstream) => server.ok(),
            _ = self.reset.changed() => None,
        };
        let Some(mut server) = server else {
            let _ = client.set_zero_linger();
            self.live.lock().unwrap().remove(&id);
            return;
        };
        let _ = server.set_nodelay(true);
        let was_reset = {
            let (mut cr, mut cw) = client.split();
            let (mut sr, mut sw) = server.split();
            tokio::select! {
                _ = pump(&mut cr, &mut sw, self.mode.clone(), &self.bytes, None) => false,
                _ = pump(&mut sr, &mut cw, self.mode.clone(), &self.bytes, Some(&self.delay_us)) => false,
                _ = self.reset.changed() => true,
            }
        };
        if was_reset {
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
        drop(client);
        drop(server);
        self.live.lock().unwrap().remove(&id);
    }
}

/// Copies `from` to `to` while the mode is `Forward`. Otherwise it keeps
/// reading (so a peer's close is noticed) but holds the bytes instead of
/// writing them, so the other side sees silence, not a close; held bytes
/// flow when forwarding resumes.
async fn pump<R, W>(
    from: &mut R,
    to: &mut W,
    mut mode: watch::Receiver<Mode>,
    bytes: &AtomicU64,
    delay_us: Option<&AtomicU64>,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    const MAX_HELD: usize = 1 << 20;
    let mut buf = vec![0u8; 16 * 1024];
    let mut held = Vec::new();
    loop {
        let forwarding = *mode.borrow_and_update() == Mode::Forward;
        if forwarding && !held.is_empty() {
            let delay = delay_us.map_or(0, |d| d.load(Ordering::SeqCst));
            if delay > 0 {
                tokio::time::sleep(Duration::from_micros(delay)).await;
            }
            if to.write_all(&held).await.is_err() {
                return;
            }
            bytes.fetch_add(held.len() as u64, Ordering::SeqCst);
            held.clear();
            continue;
        }
        if held.len() >= MAX_HELD {
            // Stop reading until forwarding resumes.
            if mode.changed().await.is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => held.extend_from_slice(&buf[..n]),
            },
            changed = mode.changed() => if changed.is_err() { return },
        }
    }
}

// ---------------------------------------------------------------------------
// servers that are not Redis
// ---------------------------------------------------------------------------

/// How a [`NotRedis`] server behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRedisKind {
    /// Answers whatever it gets with `HTTP/1.1 400 Bad Request` and closes.
    Http,
    /// Accepts and never answers nor closes.
    Silent,
}

/// A TCP server on 127.0.0.1 that is not Redis.
pub struct NotRedis {
    addr: SocketAddr,
    task: JoinHandle<()>,
    accepted: Arc<AtomicU64>,
}

impl NotRedis {
    /// Starts one. Must run within a tokio runtime.
    pub async fn start(kind: NotRedisKind) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                match kind {
                    NotRedisKind::Silent => held.push(sock),
                    NotRedisKind::Http => {
                        tokio::spawn(async move {
                            let mut buf = [0u8; 1024];
                            let _ =
                                tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf))
                                    .await;
                            let _ = sock
                                .write_all(
                                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\
                                      Connection: close\r\n\r\n",
                                )
                                .await;
                            let _ = sock.shutdown().await;
                        });
                    }
                }
            }
        });
        Self {
            addr,
            task,
            accepted,
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for NotRedis {
    fn drop(&mut self) {
        self.task.abort();
    }
}
