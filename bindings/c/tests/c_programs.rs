//! Compiles the C test programs in `tests/c/` with the system C compiler
//! against the static library cargo just built, and runs them against a
//! real `redis-server` started on a free port. That server also listens
//! for TLS (certificates made here with `openssl`); the program finds it
//! through `REDKEEP_TEST_TLS_*` environment variables.
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
    /// The TLS port, when started with [`RedisServer::start_tls`].
    tls_port: Option<u16>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl RedisServer {
    /// Starts one with TLS too, on a second port, with the certificates in
    /// `certs` (see [`make_certs`]); clients may show a certificate.
    fn start_tls(certs: &Path) -> RedisServer {
        let file = |name: &str| certs.join(name).display().to_string();
        let tls = [
            "--tls-cert-file".to_owned(),
            file("server.crt"),
            "--tls-key-file".to_owned(),
            file("server.key"),
            "--tls-ca-cert-file".to_owned(),
            file("ca.crt"),
            "--tls-auth-clients".to_owned(),
            "optional".to_owned(),
        ];
        Self::start_with(Some(&tls))
    }

    /// Starts one, picking fresh ports again if it loses a bind race.
    fn start_with(tls: Option<&[String]>) -> RedisServer {
        let binary =
            std::env::var("REDKEEP_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let tls_port = tls.map(|_| free_port());
            let mut command = Command::new(&binary);
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"]);
            if let (Some(tls), Some(tls_port)) = (tls, tls_port) {
                command
                    .args(["--tls-port", &tls_port.to_string()])
                    .args(tls);
            }
            let mut child = command
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
                    return RedisServer {
                        child,
                        port,
                        tls_port,
                    };
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

/// Runs `openssl` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (install it): {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes, in `dir`, a test CA (`ca.crt`), a server certificate for
/// 127.0.0.1 signed by it (`server.crt`, `server.key`), a client
/// certificate signed by it (`client.crt`, `client.key`) and a second CA
/// nobody signed with (`other-ca.crt`). Extensions make them X.509 v3
/// certificates, as rustls requires.
fn make_certs(dir: &Path) {
    for (name, cn) in [
        ("ca", "redkeep C test CA"),
        ("other-ca", "redkeep other CA"),
    ] {
        let (key, crt) = (format!("{name}.key"), format!("{name}.crt"));
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &key,
                "-out",
                &crt,
            ],
        );
    }
    std::fs::write(dir.join("server.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.cnf"), "extendedKeyUsage=clientAuth\n").unwrap();
    for (name, cn) in [("server", "127.0.0.1"), ("client", "redkeep C test client")] {
        let (key, csr, crt, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.cnf"),
        );
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &key,
                "-out",
                &csr,
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &ext,
                "-out",
                &crt,
            ],
        );
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

fn run(program: &Path, args: &[String], env: &[(&str, String)]) -> (bool, String, String) {
    let wrapper = std::env::var("REDKEEP_C_TEST_WRAPPER").unwrap_or_default();
    let mut words = wrapper.split_whitespace();
    let mut cmd = match words.next() {
        Some(tool) => {
            let mut cmd = Command::new(tool);
            if Path::new(tool).file_name().is_some_and(|n| n == "valgrind") {
                // ring's AES-GCM assembly confuses memcheck: see the file.
                let supp = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/valgrind-tls.supp");
                cmd.arg(format!("--suppressions={}", supp.display()))
                    .arg("--num-callers=40");
            }
            cmd.args(words).arg(program);
            cmd
        }
        None => Command::new(program),
    };
    let output = cmd
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run the C program");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn c_pool_test_passes_against_a_real_server() {
    let certs = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{}", std::process::id()));
    std::fs::create_dir_all(&certs).expect("a directory for the certificates");
    make_certs(&certs);
    let server = RedisServer::start_tls(&certs);
    let tls_port = server.tls_port.expect("a TLS port");
    let file = |name: &str| certs.join(name).display().to_string();
    let env = [
        // Plain redis://: the TLS options upgrade it.
        (
            "REDKEEP_TEST_TLS_URL",
            format!("redis://127.0.0.1:{tls_port}"),
        ),
        ("REDKEEP_TEST_TLS_CA", file("ca.crt")),
        ("REDKEEP_TEST_TLS_OTHER_CA", file("other-ca.crt")),
        ("REDKEEP_TEST_TLS_CERT", file("client.crt")),
        ("REDKEEP_TEST_TLS_KEY", file("client.key")),
    ];
    let program = compile("pool_test");
    let (ok, stdout, stderr) = run(&program, &[server.url()], &env);
    let _ = std::fs::remove_dir_all(&certs);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(ok, "the C test program failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("# tls\n"),
        "the TLS checks did not run:\n{stdout}"
    );
}

#[test]
fn c_subscriber_test_passes_and_survives_a_restart() {
    let server = RedisServer::start_with(None);
    let program = compile("subscriber_test");
    let (ok, stdout, stderr) = run(&program, &[server.url()], &[]);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(ok, "the C subscriber test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("# subscriber across a restart\n"),
        "the restart checks did not run:\n{stdout}"
    );
}

#[test]
fn c_pool_on_a_cluster_url_serves_keys_on_every_slot() {
    let program = compile("cluster_test");
    let (ok, stdout, stderr) = run(&program, &[], &[]);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(ok, "the C cluster test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
