//! The `redkeep` command line: `ensure` in the foreground, `run -- CMD`.
#![cfg(all(target_os = "linux", feature = "cli"))]

mod server_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use server_support::{comm, pid_alive, ping, server_pid, signal, wait_dead};

fn redkeep() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_redkeep"));
    cmd.env_remove("REDKEEP_PASSWORD");
    cmd
}

/// Reads stdout lines until one contains `needle`; returns that line.
fn line_with(child: &mut Child, needle: &str) -> String {
    let stdout = child.stdout.as_mut().expect("piped stdout");
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read");
        assert!(n > 0, "redkeep ended before printing {needle:?}");
        if line.contains(needle) {
            return line;
        }
    }
}

/// `redkeep: redis-server pid N ready at URL; ...` → (pid, url).
fn ready_line(line: &str) -> (u32, String) {
    let rest = line.split("pid ").nth(1).expect("pid");
    let (pid, rest) = rest.split_once(' ').expect("pid end");
    let url = rest
        .strip_prefix("ready at ")
        .and_then(|r| r.split(';').next())
        .expect("url");
    (pid.parse().expect("pid"), url.to_owned())
}

#[test]
fn ensure_serves_until_sigterm_then_stops_the_server() {
    let mut child = redkeep()
        .args(["ensure", "--port", "0", "-q"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let (pid, url) = ready_line(&line_with(&mut child, "ready at"));
    // The server process itself (Valkey too), not a reused pid.
    let name = comm(pid);
    assert!(
        matches!(name.as_deref(), Some("redis-server" | "valkey-server")),
        "pid {pid} is {name:?}"
    );
    assert_eq!(ping(&url).expect("PING"), "PONG");
    assert_eq!(server_pid(&url), pid);

    signal(child.id(), "TERM");
    let status = child.wait().expect("wait");
    assert!(status.success(), "a clean stop exits 0: {status}");
    assert!(
        !pid_alive(pid),
        "the server is stopped before redkeep exits"
    );
}

#[test]
fn ensure_restarts_a_crashed_server() {
    let mut child = redkeep()
        .args(["ensure", "--port", "0", "-q"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let (pid, url) = ready_line(&line_with(&mut child, "ready at"));
    signal(pid, "KILL");
    let line = line_with(&mut child, "restarted");
    let new: u32 = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .expect("pid");
    assert_ne!(new, pid);
    assert_eq!(server_pid(&url), new);
    child.kill().expect("SIGKILL redkeep");
    child.wait().expect("wait");
    assert!(
        wait_dead(new, Duration::from_millis(100)).is_some(),
        "no orphan"
    );
}

#[test]
fn ensure_sigkilled_leaves_no_orphan() {
    for _ in 0..5 {
        let mut child = redkeep()
            .args(["ensure", "--port", "0", "-q"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start redkeep");
        let (pid, _) = ready_line(&line_with(&mut child, "ready at"));
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        assert!(
            wait_dead(pid, Duration::from_millis(100)).is_some(),
            "redis-server {pid} outlived a SIGKILLed redkeep"
        );
    }
}

#[test]
fn run_passes_redis_url_and_the_exit_code() {
    let out = redkeep()
        .args(["run", "-q", "--", "sh", "-c", "echo \"$REDIS_URL\"; exit 7"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(7), "CMD's exit code");
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(url.starts_with("redis://127.0.0.1:"), "{url}");
    assert!(ping(&url).is_err(), "torn down after CMD");
}

#[test]
fn run_cmd_can_use_the_server_with_a_password() {
    // CMD prints REDIS_URL, then waits for a line on stdin: the test uses
    // the server meanwhile, then lets CMD finish.
    let mut child = redkeep()
        .args(["run", "--password", "hunter2", "--"])
        .args(["sh", "-c", "echo \"$REDIS_URL\"; read _line; exit 3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let url = line_with(&mut child, "redis://").trim().to_owned();
    assert!(url.starts_with("redis://:hunter2@127.0.0.1:"), "{url}");
    assert_eq!(ping(&url).expect("PING with the password"), "PONG");
    let pid = server_pid(&url);
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(3));
    assert!(!pid_alive(pid), "the server is gone once redkeep returns");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("hunter2"), "password not logged: {stderr}");
}

#[test]
fn run_sigkilled_leaves_no_orphan() {
    let mut child = redkeep()
        .args([
            "run",
            "-q",
            "--",
            "sh",
            "-c",
            "echo \"$REDIS_URL\"; exec sleep 30",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let url = line_with(&mut child, "redis://").trim().to_owned();
    let pid = server_pid(&url);
    child.kill().expect("SIGKILL redkeep");
    child.wait().expect("wait");
    assert!(
        wait_dead(pid, Duration::from_millis(100)).is_some(),
        "redis-server {pid} outlived a SIGKILLed `redkeep run`"
    );
}

#[test]
fn bad_usage_exits_2() {
    let out = redkeep().arg("frobnicate").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = redkeep().args(["run"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn tls_with_attach_or_a_unix_socket_is_a_usage_error() {
    for (extra, says) in [("--attach", "cannot --attach"), ("--unix", "needs TCP")] {
        let out = redkeep()
            .args(["run", "--tls", extra, "--", "true"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{extra}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{extra}: {stderr}");
    }
}

#[test]
fn run_without_the_double_dash_prints_a_one_line_hint() {
    let out = redkeep().args(["run", "true"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, not the usage: {stderr}"
    );
    assert!(
        stderr.contains("the command goes after `--`: redkeep run [OPTIONS] -- true"),
        "{stderr}"
    );
}

#[test]
fn a_missing_binary_names_every_place_it_looked() {
    let out = redkeep()
        .args(["run", "-q", "--", "true"])
        .env("PATH", "/nonexistent-bin")
        .env_remove("REDKEEP_REDIS_SERVER")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "--redis-server (not set)",
        "REDKEEP_REDIS_SERVER (not set)",
        "`redis-server` and `valkey-server` on PATH (/nonexistent-bin)",
        "apt-get install redis-server",
        "apt-get install valkey-server",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in: {stderr}");
    }

    let out = redkeep()
        .args(["run", "-q", "--", "true"])
        .env("REDKEEP_REDIS_SERVER", "/nope/redis-server")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("REDKEEP_REDIS_SERVER is /nope/redis-server and it does not exist"),
        "{stderr}"
    );
}

/// Runs `redkeep run -q ARGS -- true`, expects exit code 1, returns stderr.
fn failing_run(args: &[&str]) -> String {
    let out = redkeep()
        .arg("run")
        .args(args)
        .args(["-q", "--", "true"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    stderr
}

#[test]
fn errors_name_the_cli_flag_not_the_rust_field() {
    let stderr = failing_run(&["--redis-server", "/nope"]);
    assert!(
        stderr.contains("--redis-server is /nope and it does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("point --redis-server or"), "{stderr}");
    assert!(!stderr.contains("ServerConfig::binary"), "{stderr}");

    let stderr = failing_run(&["--bind", "0.0.0.0"]);
    assert!(
        stderr.contains("--bind is \"0.0.0.0\", not a loopback address"),
        "{stderr}"
    );
    assert!(!stderr.contains("ServerAddr"), "{stderr}");

    let stderr = failing_run(&["--ready-timeout", "0"]);
    assert!(
        stderr.contains("--ready-timeout must be greater than zero"),
        "{stderr}"
    );
    assert!(!stderr.contains("ServerConfig"), "{stderr}");

    let stderr = failing_run(&["--dir", "/nonexistent-redkeep-dir"]);
    assert!(stderr.contains("check --dir"), "{stderr}");
    assert!(!stderr.contains("ServerConfig"), "{stderr}");
}

/// The real `redis-server`, found on this test's own `PATH`.
fn real_redis_server() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
        .expect("redis-server on PATH")
}

#[test]
fn valkey_server_on_path_is_used_when_there_is_no_redis_server() {
    // A PATH holding only `valkey-server` (a symlink to the real binary:
    // discovery goes by name). CMD is named by absolute path, since it runs
    // with the same PATH.
    let dir = std::env::temp_dir().join(format!("redkeep-cli-valkey-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).expect("temp dir");
    std::os::unix::fs::symlink(real_redis_server(), dir.join("valkey-server")).expect("symlink");
    let out = redkeep()
        .args(["run", "-v", "--", "/bin/sh", "-c", "echo \"$REDIS_URL\""])
        .env("PATH", &dir)
        .env_remove("REDKEEP_REDIS_SERVER")
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(url.starts_with("redis://127.0.0.1:"), "{url}");
    assert!(
        stderr.contains(&format!("{}", dir.join("valkey-server").display())),
        "spawned through valkey-server: {stderr}"
    );
}

/// A redis-server the test starts itself, on its own free port, holding
/// the key `owner` = `the test`; killed on drop.
struct OtherServer {
    child: Child,
    port: u16,
}

impl OtherServer {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(real_redis_server())
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let server = Self { child, port };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while ping(&server.url()).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server not up");
            std::thread::sleep(Duration::from_millis(10));
        }
        let _: () = redis::cmd("SET")
            .arg("owner")
            .arg("the test")
            .query(&mut server.connection())
            .expect("SET");
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("url")
            .get_connection_with_timeout(Duration::from_secs(2))
            .expect("connect")
    }

    /// Its keys and values, sorted.
    fn contents(&self) -> Vec<(String, String)> {
        let mut con = self.connection();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).expect("KEYS");
        let mut pairs: Vec<(String, String)> = keys
            .into_iter()
            .map(|k| {
                let v: String = redis::cmd("GET").arg(&k).query(&mut con).expect("GET");
                (k, v)
            })
            .collect();
        pairs.sort();
        pairs
    }
}

impl Drop for OtherServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn run_starts_its_own_server_while_another_redis_runs_and_substitutes_url() {
    let other = OtherServer::start();
    let before = other.contents();
    let out = redkeep()
        .args(["run", "-q", "--", "redis-cli", "-u", "{url}", "ping"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_of(&out), "PONG");
    // Its own server: the other one's key is not there, and `{url}` is
    // replaced inside an argument too.
    let out = redkeep()
        .args([
            "run",
            "-q",
            "--",
            "sh",
            "-c",
            "redis-cli -u {url} get owner; echo \"$REDIS_URL\"",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(""),
        "a fresh server has no `owner`: {stdout}"
    );
    let url = lines.next().expect("REDIS_URL");
    assert!(url.starts_with("redis://127.0.0.1:"), "{url}");
    assert_ne!(url, other.url());
    assert_eq!(other.contents(), before, "the other server is untouched");
    assert_eq!(ping(&other.url()).expect("still up"), "PONG");
}

#[test]
fn run_refuses_a_redis_it_did_not_start_unless_attach_is_given() {
    let other = OtherServer::start();
    let before = other.contents();
    let port = other.port.to_string();
    let out = redkeep()
        .args(["run", "--port", &port, "--", "true"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("a Redis already answers at 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("pass --attach"), "{stderr}");
    assert!(stderr.contains("another --port"), "{stderr}");

    let out = redkeep()
        .args(["run", "-q", "--port", &port, "--attach"])
        .args(["--server-arg", "--maxmemory", "--server-arg", "5mb", "--"])
        .args(["redis-cli", "-u", "{url}", "get", "owner"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("redis-server arguments ignored"),
        "an attached server keeps its settings, and says so: {stderr}"
    );
    assert_eq!(stdout_of(&out), "the test", "attached to the other server");
    assert_eq!(ping(&other.url()).expect("left running"), "PONG");
    assert_eq!(other.contents(), before, "the other server is untouched");
}

#[test]
fn server_args_reach_redis_server() {
    let out = redkeep()
        .args([
            "run",
            "-q",
            "--server-arg",
            "--maxmemory",
            "--server-arg",
            "5mb",
            "--",
        ])
        .args(["redis-cli", "-u", "{url}", "config", "get", "maxmemory"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = stdout_of(&out);
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["maxmemory", "5242880"],
        "{stdout}"
    );
}

#[test]
fn piped_output_has_no_colour_codes() {
    let out = redkeep()
        .args(["run", "-v", "--", "true"])
        .env_remove("NO_COLOR")
        .output()
        .expect("run");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("redis-server ready"),
        "logs are there: {stderr}"
    );
    assert!(!stderr.contains("\x1b["), "no escape codes: {stderr:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\x1b["));
}

/// Runs `redkeep ARGS` on a pseudo-terminal (util-linux `script`), returns
/// what the terminal showed.
fn on_a_terminal(args: &str, no_color: Option<&str>) -> String {
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{} {args}", env!("CARGO_BIN_EXE_redkeep"))])
        .arg("/dev/null")
        .env_remove("REDKEEP_PASSWORD")
        .env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd.output().expect("run script");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to make a terminal");
        return;
    }
    let shown = on_a_terminal("run -- true", None);
    assert!(shown.contains("redis-server ready"), "{shown}");
    assert!(shown.contains("\x1b["), "colour on a terminal: {shown:?}");
    let shown = on_a_terminal("run -- true", Some("1"));
    assert!(shown.contains("redis-server ready"), "{shown}");
    assert!(!shown.contains("\x1b["), "NO_COLOR honoured: {shown:?}");
}

#[test]
fn ensure_with_the_watchdog_guard_leaves_no_orphan_after_sigkill() {
    for round in 0..5 {
        let mut child = redkeep()
            .args(["ensure", "--port", "0", "-q", "--guard", "watchdog"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redkeep");
        let line = line_with(&mut child, "redis-server pid ");
        let pid: u32 = line
            .split("redis-server pid ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|p| p.parse().ok())
            .expect("pid");
        assert_eq!(comm(pid).as_deref(), Some("redis-server"));
        child.kill().expect("SIGKILL redkeep");
        child.wait().expect("reap");
        assert!(
            wait_dead(pid, Duration::from_millis(500)).is_some(),
            "round {round}: redis-server {pid} outlived a SIGKILLed redkeep"
        );
    }
}
