//! Spawn-to-ready of `ensure_server` against a bare `redis-server` polled
//! for `PONG`, and the orphan-kill latency (owner SIGKILL → server gone).
//!
//! `cargo bench --bench spawn` prints a table. Linux only (it reads /proc).

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use redkeep::{ensure_server, ensure_server_blocking, ServerConfig};

    const ROUNDS: usize = 15;
    const KILL_ROUNDS: usize = 20;
    const OWNER_MODE: &str = "REDKEEP_BENCH_OWNER";

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port()
    }

    fn pong(port: u16) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        if s.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
            return false;
        }
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// A bare `redis-server` with the same settings, polled every 1 ms.
    fn bare() -> Duration {
        let port = free_port();
        let start = Instant::now();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        while !pong(port) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "bare server not ready"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let took = start.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        took
    }

    fn with_ensure(rt: &tokio::runtime::Runtime) -> Duration {
        rt.block_on(async {
            let start = Instant::now();
            let server = ensure_server(ServerConfig::tcp(0))
                .await
                .expect("ensure_server");
            let took = start.elapsed();
            server.shutdown().await.expect("shutdown");
            took
        })
    }

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.trim_start().chars().next())
            })
            .is_some_and(|state| state != 'Z' && state != 'X')
    }

    /// Owner SIGKILL → server gone.
    fn orphan_kill() -> Duration {
        let mut owner = Command::new(std::env::current_exe().expect("exe"))
            .env(OWNER_MODE, "1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("owner");
        let mut line = String::new();
        BufReader::new(owner.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("pid line");
        let pid: u32 = line.trim().parse().expect("pid");
        assert!(alive(pid));
        let start = Instant::now();
        owner.kill().expect("SIGKILL");
        while alive(pid) {
            assert!(start.elapsed() < Duration::from_secs(5), "orphan {pid}");
            std::hint::spin_loop();
        }
        let took = start.elapsed();
        let _ = owner.wait();
        took
    }

    fn median(v: &mut [Duration]) -> Duration {
        v.sort_unstable();
        v[v.len() / 2]
    }

    fn ms(d: Duration) -> String {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }

    pub(crate) fn main() {
        if std::env::var_os(OWNER_MODE).is_some() {
            let server = ensure_server_blocking(ServerConfig::tcp(0)).expect("spawn");
            println!("{}", server.pid().expect("pid"));
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        // Warm up the page cache and the library's spawner thread.
        bare();
        with_ensure(&rt);
        let (mut bares, mut ensures) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            bares.push(bare());
            ensures.push(with_ensure(&rt));
        }
        let mut kills: Vec<Duration> = (0..KILL_ROUNDS).map(|_| orphan_kill()).collect();
        let kill_max = *kills.iter().max().expect("rounds");
        let (b, e) = (median(&mut bares), median(&mut ensures));
        let row = |name: String, value: String| println!("| {name:<46} | {value:>9} |");
        println!();
        row(
            format!("measure ({ROUNDS} rounds interleaved)"),
            "time".to_owned(),
        );
        println!("|{:-<48}|{:-<11}|", "", "");
        row("bare redis-server spawn → PONG (median)".to_owned(), ms(b));
        row("ensure_server(tcp(0)) → ready (median)".to_owned(), ms(e));
        row(
            "ratio ensure / bare (target ≤ 1.2× or +5 ms)".to_owned(),
            format!("{:.2}×", e.as_secs_f64() / b.as_secs_f64()),
        );
        row(
            format!("owner SIGKILL → server gone, median of {KILL_ROUNDS}"),
            ms(median(&mut kills)),
        );
        row(
            format!("owner SIGKILL → server gone, max of {KILL_ROUNDS}"),
            ms(kill_max),
        );
        let within = e.as_secs_f64() <= b.as_secs_f64() * 1.2 || e <= b + Duration::from_millis(5);
        println!(
            "\nensure_server is {} the target",
            if within { "within" } else { "OUTSIDE" }
        );
    }
}

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    eprintln!("the spawn bench runs on Linux only");
}
