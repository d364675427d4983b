//! Windows: a child spawned through the guard (Job Object with
//! KILL_ON_JOB_CLOSE) dies when its owner exits, even without running any
//! destructor. There is no Windows redis-server here, so the child is this
//! test binary in "sleeper" mode: it listens on a port until killed, and the
//! port refusing connections is how the test sees it gone.
//!
//! Run by `scripts/test-windows.sh` under Wine.
#![cfg(windows)]

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redkeep::server::OwnedChild;

const MODE: &str = "REDKEEP_JOB_TEST_MODE";

fn helper_command(mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("current exe"));
    cmd.args(["helper", "--exact", "--nocapture", "--test-threads=1"])
        .env(MODE, mode);
    cmd
}

/// Finds `KEY value` in the lines read from `out` (libtest prefixes the
/// first line with "test helper ... ").
fn read_value(out: impl Read, key: &str) -> String {
    for line in BufReader::new(out).lines() {
        let line = line.expect("read");
        if let Some((_, value)) = line.split_once(key) {
            return value.trim().to_owned();
        }
    }
    panic!("no {key:?} line");
}

/// Helper modes: `sleeper` listens forever; `owner` starts a sleeper
/// through the guard, reports it, waits for a line on stdin, and exits with
/// `process::exit` (no destructors run).
#[test]
fn helper() {
    match std::env::var(MODE).as_deref() {
        Ok("sleeper") => {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            println!("PORT {}", listener.local_addr().expect("addr").port());
            for stream in listener.incoming() {
                drop(stream);
            }
        }
        Ok("owner") => {
            let mut cmd = helper_command("sleeper");
            cmd.stdout(Stdio::piped());
            let child = OwnedChild::spawn(cmd).expect("spawn through the job");
            let port = read_value(child.take_stdout().expect("stdout"), "PORT ");
            println!("CHILD {} {port}", child.pid());
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            std::process::exit(0);
        }
        _ => {}
    }
}

#[test]
fn the_child_dies_when_its_owner_exits() {
    let mut owner = helper_command("owner")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start owner");
    let value = read_value(owner.stdout.take().expect("stdout"), "CHILD ");
    let (pid, port) = value.split_once(' ').expect("pid and port");
    let port: u16 = port.parse().expect("port");
    assert!(
        TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok(),
        "the child {pid} serves while its owner lives"
    );
    drop(owner.stdin.take()); // The owner exits now.
    owner.wait().expect("owner exit");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect_timeout(
            &(Ipv4Addr::LOCALHOST, port).into(),
            Duration::from_millis(500),
        ) {
            Err(_) => break,
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(_) => panic!("child {pid} still alive 10 s after its owner exited"),
        }
    }
    eprintln!("child {pid} gone after its owner exited");
}

#[test]
fn kill_and_wait_work() {
    let mut cmd = helper_command("sleeper");
    cmd.stdout(Stdio::piped());
    let child = OwnedChild::spawn(cmd).expect("spawn");
    let _port = read_value(child.take_stdout().expect("stdout"), "PORT ");
    assert!(child.try_wait().expect("try_wait").is_none());
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    assert!(!status.success());
}
