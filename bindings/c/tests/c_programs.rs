//! Compiles the C test programs in `tests/c/` with the system C compiler
//! against the static library cargo just built, and runs them against a
//! real `redis-server` started on a free port.
//!
//! `REDKEEP_C_TEST_WRAPPER` (e.g. `"valgrind --error-exitcode=1"`) runs the
//! program under a tool; `scripts/test-c.sh` uses it for the leak check.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child on a free port, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts one, picking a fresh port again if it loses a bind race.
    fn start() -> RedisServer {
        let binary =
            std::env::var("REDKEEP_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut child = Command::new(&binary)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {binary} (install redis-server): {e}"));
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if ping(port) {
                    return RedisServer { child, port };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            if let Some(mut out) = child.stdout.take() {
                last_log.clear();
                let _ = out.read_to_string(&mut last_log);
            }
        }
        panic!("redis-server did not start after 5 tries; last log:\n{last_log}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut s) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("+PONG")
}

/// The directory cargo put this crate's libraries in (`target/<profile>`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/c_programs-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// Builds the static library: `cargo test` builds this crate's library
/// only as the rlib its tests link, so `libredkeep.a` may be missing or
/// stale. Same target dir and profile as this test, so it is quick.
fn build_static_library() -> PathBuf {
    let profile = profile_dir();
    let target_dir = profile.parent().expect("target dir");
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "redkeep-c",
            "--lib",
            "--target-dir",
        ])
        .arg(target_dir);
    match profile.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
        None => {}
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "cargo build -p redkeep-c failed");
    profile.join("libredkeep.a")
}

/// Compiles `tests/c/<name>.c` into the test's temp dir.
fn compile(name: &str) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = build_static_library();
    assert!(
        lib.exists(),
        "static library not found at {}",
        lib.display()
    );
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let header = std::fs::read_to_string(manifest.join("include/redkeep.h")).expect("the header");
    let mut compiler = Command::new(&cc);
    if header.contains("redkeep_server_ensure") {
        compiler.arg("-DREDKEEP_TEST_SERVER");
    }
    let status = compiler
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
            "-D_DEFAULT_SOURCE",
        ])
        .arg("-I")
        .arg(manifest.join("include"))
        .arg(manifest.join("tests/c").join(format!("{name}.c")))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm"])
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e}"));
    assert!(status.success(), "compiling {name}.c failed");
    out
}

fn run(program: &Path, args: &[String]) -> (bool, String, String) {
    let wrapper = std::env::var("REDKEEP_C_TEST_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut cmd = match words.next() {
        Some(tool) => {
            let mut cmd = Command::new(tool);
            cmd.args(words).arg(program);
            cmd
        }
        None => Command::new(program),
    };
    let output = cmd.args(args).output().expect("run the C program");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn c_pool_test_passes_against_a_real_server() {
    let server = RedisServer::start();
    let program = compile("pool_test");
    let (ok, stdout, stderr) = run(&program, &[server.url()]);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(ok, "the C test program failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
