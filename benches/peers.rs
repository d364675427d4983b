//! Cost growth: GET throughput and p99 latency at 1, 10, 50, 200 and 1,000
//! concurrent callers, for redkeep's `query()` and `get()` and for their
//! peers — bare redis-rs, deadpool-redis, bb8-redis and fred — against one
//! local `redis-server` started here on a free port, with `redis-benchmark`
//! at the same concurrency as the ceiling.
//!
//! Every client does `GET` of one 100-byte value. The clients are measured
//! in turns (one level at a time, the order rotated each round) so that a
//! burst of load from elsewhere on the machine hits all of them alike; each
//! figure is the median of its rounds. Prints two markdown tables (GET/s
//! with the ratio to bare redis-rs, and p99), the issue's two targets, and
//! writes a plot to `target/bench/peers.svg` (or to `$REDKEEP_BENCH_SVG`).
//! `REDKEEP_BENCH_QUICK=1` runs one short round; `REDKEEP_BENCH_ROUNDS=N`
//! sets the number of rounds; `REDKEEP_BENCH_CLIENTS=c,f1` measures only
//! those peers besides (a) and (b) (for an A/B or a profile);
//! `REDKEEP_BENCH_NO_METRICS=1` runs redkeep with `Config::metrics` off.
//!
//! The peers run with their own defaults except the pool size: deadpool-redis
//! and bb8-redis check each connection on checkout with a `PING` (their
//! default), fred's client pipelines automatically (its default). fred is
//! measured twice: one client (one connection) and its round-robin pool of
//! 16 clients.
//!
//! ```text
//! cargo bench --bench peers
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bb8_redis::bb8;
use fred::interfaces::{ClientLike, KeysInterface};
use redkeep::redis::{self, AsyncCommands};

const KEY: &str = "bench:key";
/// The key `redis-benchmark -t get` reads when not given `-r`.
const BENCHMARK_KEY: &str = "key:__rand_int__";
const VALUE_LEN: usize = 100;
const LEVELS: [usize; 5] = [1, 10, 50, 200, 1_000];
const POOL_SIZE: usize = 16;

/// How long each measurement runs and how many rounds are taken.
struct Plan {
    rounds: usize,
    /// Which of [`NAMES`] run; (a) and (b) always do (the targets need them).
    clients: [bool; 7],
    warmup: Duration,
    measure: Duration,
}

impl Plan {
    fn from_env() -> Self {
        let mut plan = Self::by_length();
        if let Ok(rounds) = std::env::var("REDKEEP_BENCH_ROUNDS") {
            plan.rounds = rounds.parse().expect("REDKEEP_BENCH_ROUNDS: a number");
            assert!(plan.rounds > 0, "REDKEEP_BENCH_ROUNDS: at least 1");
        }
        if let Ok(list) = std::env::var("REDKEEP_BENCH_CLIENTS") {
            let wanted: Vec<&str> = list.split(',').map(str::trim).collect();
            for (i, name) in NAMES.iter().enumerate() {
                let tag = &name[1..name.find(')').expect("tag")];
                plan.clients[i] = i < 2 || wanted.contains(&tag);
            }
        }
        plan
    }

    fn by_length() -> Self {
        if std::env::var("REDKEEP_BENCH_QUICK").as_deref() == Ok("1") {
            Plan {
                rounds: 1,
                clients: [true; 7],
                warmup: Duration::from_millis(100),
                measure: Duration::from_millis(300),
            }
        } else {
            Plan {
                rounds: 3,
                clients: [true; 7],
                warmup: Duration::from_millis(200),
                measure: Duration::from_millis(800),
            }
        }
    }
}

/// One client under test: runs one GET however it does it.
trait Client: Clone + Send + Sync + 'static {
    fn get(&self) -> impl Future<Output = ()> + Send;
}

#[derive(Clone)]
struct Bare(redis::aio::MultiplexedConnection, redis::Cmd);

impl Client for Bare {
    async fn get(&self) {
        let mut conn = self.0.clone();
        let v: Vec<u8> = self.1.query_async(&mut conn).await.expect("GET");
        assert_eq!(v.len(), VALUE_LEN);
    }
}

#[derive(Clone)]
struct Query(redkeep::Pool, redis::Cmd);

impl Client for Query {
    async fn get(&self) {
        let v: Vec<u8> = self.0.query(&self.1).await.expect("GET");
        assert_eq!(v.len(), VALUE_LEN);
    }
}

#[derive(Clone)]
struct Exclusive(redkeep::Pool, redis::Cmd);

impl Client for Exclusive {
    async fn get(&self) {
        let mut conn = self.0.get().await.expect("checkout");
        let v: Vec<u8> = self.1.query_async(&mut *conn).await.expect("GET");
        assert_eq!(v.len(), VALUE_LEN);
    }
}

#[derive(Clone)]
struct Deadpool(deadpool_redis::Pool, redis::Cmd);

impl Client for Deadpool {
    async fn get(&self) {
        let mut conn = self.0.get().await.expect("checkout");
        let v: Vec<u8> = self.1.query_async(&mut conn).await.expect("GET");
        assert_eq!(v.len(), VALUE_LEN);
    }
}

#[derive(Clone)]
struct Bb8(bb8::Pool<bb8_redis::RedisConnectionManager>, redis::Cmd);

impl Client for Bb8 {
    async fn get(&self) {
        let mut conn = self.0.get().await.expect("checkout");
        let v: Vec<u8> = self.1.query_async(&mut *conn).await.expect("GET");
        assert_eq!(v.len(), VALUE_LEN);
    }
}

/// fred, as one client (one connection) or its round-robin pool: the
/// same call on either.
#[derive(Clone)]
struct Fred<C>(C);

impl<C: KeysInterface + Clone + Send + Sync + 'static> Client for Fred<C> {
    async fn get(&self) {
        let v: Vec<u8> = self.0.get(KEY).await.expect("GET");
        assert_eq!(v.len(), VALUE_LEN);
    }
}

/// All the clients, in table order.
struct Clients {
    bare: Bare,
    query: Query,
    exclusive: Exclusive,
    deadpool: Deadpool,
    bb8: Bb8,
    fred: Fred<fred::clients::Client>,
    fred_pool: Fred<fred::clients::Pool>,
}

const NAMES: [&str; 7] = [
    "(a) redis-rs MultiplexedConnection",
    "(b) redkeep query()",
    "(c) redkeep get(), max_size 16",
    "(d) deadpool-redis get(), max_size 16",
    "(e) bb8-redis get(), max_size 16",
    "(f1) fred Client (1 connection)",
    "(f2) fred Pool of 16",
];

/// What one measurement gave.
#[derive(Clone, Copy, Default)]
struct Sample {
    ops_per_sec: f64,
    p99: Duration,
    /// CPU time (user + system, all threads) this process spent per GET:
    /// the client's own cost, whatever else the machine runs.
    cpu_per_op: Duration,
}

const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

/// GET/s and p99 with `tasks` concurrent tasks, each doing one GET after
/// another. The tasks start together and warm up first; only GETs that
/// complete inside the measured window count.
async fn measure<C: Client>(client: &C, tasks: usize, plan: &Plan) -> Sample {
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (client, phase) = (client.clone(), phase.clone());
            tokio::spawn(async move {
                let mut latencies: Vec<u32> = Vec::new();
                loop {
                    let started = Instant::now();
                    client.get().await;
                    match phase.load(Ordering::Relaxed) {
                        MEASURE => latencies.push(started.elapsed().as_nanos() as u32),
                        STOP => break,
                        _ => {}
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(plan.warmup).await;
    phase.store(MEASURE, Ordering::Relaxed);
    let started = Instant::now();
    let cpu = process_cpu();
    tokio::time::sleep(plan.measure).await;
    phase.store(STOP, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let cpu = cpu.zip(process_cpu()).map(|(before, after)| after - before);
    let mut all = Vec::new();
    for handle in handles {
        all.extend(handle.await.expect("task"));
    }
    Sample {
        ops_per_sec: all.len() as f64 / elapsed.as_secs_f64(),
        p99: p99(&mut all),
        cpu_per_op: cpu.map_or(Duration::ZERO, |c| c / all.len().max(1) as u32),
    }
}

/// CPU time (user + system, all threads) this process has used so far,
/// in microseconds from `getrusage`; `None` off Unix.
fn process_cpu() -> Option<Duration> {
    #[cfg(unix)]
    {
        // SAFETY: `getrusage` only writes the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
            return None;
        }
        let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
        Some(Duration::from_micros(
            micros(usage.ru_utime) + micros(usage.ru_stime),
        ))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Nearest-rank 99th percentile of nanosecond samples.
fn p99(samples: &mut [u32]) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((samples.len() as f64 * 0.99).ceil() as usize).clamp(1, samples.len()) - 1;
    let (_, at, _) = samples.select_nth_unstable(rank);
    Duration::from_nanos(u64::from(*at))
}

async fn measure_nth(clients: &Clients, which: usize, tasks: usize, plan: &Plan) -> Sample {
    match which {
        0 => measure(&clients.bare, tasks, plan).await,
        1 => measure(&clients.query, tasks, plan).await,
        2 => measure(&clients.exclusive, tasks, plan).await,
        3 => measure(&clients.deadpool, tasks, plan).await,
        4 => measure(&clients.bb8, tasks, plan).await,
        5 => measure(&clients.fred, tasks, plan).await,
        _ => measure(&clients.fred_pool, tasks, plan).await,
    }
}

/// `redis-benchmark` next to the `redis-server` the bench runs, if there.
fn redis_benchmark_binary() -> Option<PathBuf> {
    let server = support::redis_server_binary();
    let candidate = server.with_file_name("redis-benchmark");
    candidate.is_file().then_some(candidate)
}

/// One `redis-benchmark -t get -c N -n ... -P 1 --csv` run: (GET/s, p99).
async fn redis_benchmark(
    binary: &PathBuf,
    port: u16,
    clients: usize,
    requests: usize,
) -> Option<Sample> {
    let output = tokio::process::Command::new(binary)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "get",
            "-P",
            "1",
        ])
        .args([
            "-c",
            &clients.to_string(),
            "-n",
            &requests.to_string(),
            "--csv",
        ])
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let fields = |line: &str| -> Vec<String> {
        line.split(',')
            .map(|f| f.trim().trim_matches('"').to_owned())
            .collect()
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = fields(lines.next()?);
    let row = fields(lines.find(|l| l.starts_with("\"GET"))?);
    let column = |name: &str| -> Option<f64> {
        let at = header.iter().position(|h| h == name)?;
        row.get(at)?.parse().ok()
    };
    Some(Sample {
        ops_per_sec: column("rps")?,
        p99: Duration::from_secs_f64(column("p99_latency_ms")? / 1e3),
        cpu_per_op: Duration::ZERO,
    })
}

fn median_of<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("comparable"));
    values[values.len() / 2]
}

fn median_sample(samples: &[Sample]) -> Sample {
    if samples.is_empty() {
        return Sample::default();
    }
    Sample {
        ops_per_sec: median_of(samples.iter().map(|s| s.ops_per_sec).collect()),
        p99: median_of(samples.iter().map(|s| s.p99).collect()),
        cpu_per_op: median_of(samples.iter().map(|s| s.cpu_per_op).collect()),
    }
}

fn micros(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e6)
}

/// Thousands separated with a thin space, for the tables.
fn grouped(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A plot of GET/s against concurrency (log x), one polyline per client and
/// a dashed one for `redis-benchmark`, as plain SVG text.
fn svg(series: &[(&str, Vec<f64>)], ceiling: Option<&[f64]>) -> String {
    const W: f64 = 900.0;
    const H: f64 = 520.0;
    const LEFT: f64 = 80.0;
    const RIGHT: f64 = 300.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = 60.0;
    const COLOURS: [&str; 7] = [
        "#000000", "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b",
    ];
    let peak = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .chain(ceiling.into_iter().flatten().copied())
        .fold(1.0, f64::max);
    // A round top: 1, 2 or 5 times a power of ten above the peak.
    let magnitude = 10f64.powf(peak.log10().floor());
    let top = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|t| *t >= peak * 1.05)
        .unwrap_or(10.0 * magnitude);
    let step = top / 5.0;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let max_level = *LEVELS.last().expect("levels") as f64;
    let x = |level: usize| LEFT + (level as f64).log10() / max_level.log10() * plot_w;
    let y = |ops: f64| TOP + plot_h - ops / top * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">GET/s against concurrent callers (100-byte value, one local redis-server)</text>"#,
        LEFT + plot_w / 2.0
    );
    for i in 0..=5 {
        let v = step * i as f64;
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LEFT + plot_w,
            LEFT - 6.0,
            yy + 4.0,
            grouped(v)
        );
    }
    for level in LEVELS {
        let xx = x(level);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{level}</text>"##,
            TOP + plot_h,
            TOP + plot_h + 18.0
        );
    }
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">concurrent callers (log scale)</text>"#,
        LEFT + plot_w / 2.0,
        H - 15.0
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">GET/s (median of rounds)</text>"#,
        TOP + plot_h / 2.0
    );
    let mut line = |name: &str, values: &[f64], colour: &str, dash: &str, row: usize| {
        let points: Vec<String> = LEVELS
            .iter()
            .zip(values)
            .map(|(l, v)| format!("{:.1},{:.1}", x(*l), y(*v)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" {dash} points="{}"/>"#,
            points.join(" ")
        );
        for p in &points {
            let (px, py) = p.split_once(',').expect("point");
            let _ = writeln!(s, r#"<circle cx="{px}" cy="{py}" r="3" fill="{colour}"/>"#);
        }
        let ly = TOP + 10.0 + row as f64 * 22.0;
        let lx = LEFT + plot_w + 20.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2" {dash}/><text x="{}" y="{}">{}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0,
            name.replace('&', "&amp;").replace('<', "&lt;")
        );
    };
    let mut row = 0;
    if let Some(ceiling) = ceiling {
        line(
            "redis-benchmark -c N -P 1",
            ceiling,
            "#888888",
            r#"stroke-dasharray="6 4""#,
            row,
        );
        row += 1;
    }
    for (i, (name, values)) in series.iter().enumerate() {
        line(name, values, COLOURS[i % COLOURS.len()], "", row);
        row += 1;
    }
    s.push_str("</svg>\n");
    s
}

/// The names and figures of the clients that ran.
fn chosen<'a>(
    plan: &'a Plan,
    figures: &'a [Vec<Sample>],
) -> impl Iterator<Item = (&'static &'static str, &'a Vec<Sample>)> + 'a {
    NAMES
        .iter()
        .zip(figures)
        .enumerate()
        .filter(|(i, _)| plan.clients[*i])
        .map(|(_, pair)| pair)
}

fn svg_path() -> PathBuf {
    if let Some(path) = std::env::var_os("REDKEEP_BENCH_SVG") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("bench").join("peers.svg")
}

fn main() {
    let plan = Plan::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let server = support::RedisServer::start();
    let url = server.url();
    let port = server.port();
    let started = Instant::now();
    runtime.block_on(async {
        let get = {
            let mut cmd = redis::cmd("GET");
            cmd.arg(KEY);
            cmd
        };
        let value = "x".repeat(VALUE_LEN);
        let redis_client = redis::Client::open(url.as_str()).expect("url");
        let mut bare = redis_client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let _: () = bare.set(KEY, &value).await.expect("SET");
        let _: () = bare.set(BENCHMARK_KEY, &value).await.expect("SET");

        let mut cfg = redkeep::Config::from_url(url.as_str());
        cfg.pool.max_size = POOL_SIZE;
        // 1,000 callers queue on 16 connections; the default 1 s wait
        // would fail a checkout when the machine is busy.
        cfg.timeouts.wait = Duration::from_secs(30);
        if std::env::var("REDKEEP_BENCH_NO_METRICS").as_deref() == Ok("1") {
            cfg.metrics = false;
        }
        let pool = redkeep::Pool::connect(cfg).await.expect("redkeep pool");

        let deadpool = deadpool_redis::Config::from_url(url.as_str())
            .builder()
            .expect("deadpool config")
            .max_size(POOL_SIZE)
            .runtime(deadpool_redis::Runtime::Tokio1)
            .build()
            .expect("deadpool pool");

        let bb8 = bb8::Pool::builder()
            .max_size(POOL_SIZE as u32)
            .build(bb8_redis::RedisConnectionManager::new(url.as_str()).expect("bb8 url"))
            .await
            .expect("bb8 pool");

        let fred_config = fred::types::config::Config::from_url(url.as_str()).expect("fred url");
        let fred_client = fred::types::Builder::from_config(fred_config.clone())
            .build()
            .expect("fred client");
        fred_client.init().await.expect("fred connect");
        let fred_pool = fred::types::Builder::from_config(fred_config)
            .build_pool(POOL_SIZE)
            .expect("fred pool");
        fred_pool.init().await.expect("fred pool connect");

        let clients = Clients {
            bare: Bare(bare, get.clone()),
            query: Query(pool.clone(), get.clone()),
            exclusive: Exclusive(pool.clone(), get.clone()),
            deadpool: Deadpool(deadpool, get.clone()),
            bb8: Bb8(bb8, get.clone()),
            fred: Fred(fred_client.clone()),
            fred_pool: Fred(fred_pool.clone()),
        };
        let benchmark = redis_benchmark_binary();
        match &benchmark {
            Some(path) => eprintln!("ceiling: {}", path.display()),
            None => eprintln!("redis-benchmark not found next to redis-server: no ceiling"),
        }
        eprintln!("measuring against redis-server on port {port}");

        // samples[client][level][round]; ceiling[level][round].
        let mut samples = vec![vec![Vec::new(); LEVELS.len()]; NAMES.len()];
        let mut ceiling: Vec<Vec<Sample>> = vec![Vec::new(); LEVELS.len()];
        for r in 0..plan.rounds {
            for (l, &tasks) in LEVELS.iter().enumerate() {
                for k in 0..NAMES.len() {
                    let which = (k + r + l) % NAMES.len();
                    if !plan.clients[which] {
                        continue;
                    }
                    let s = measure_nth(&clients, which, tasks, &plan).await;
                    samples[which][l].push(s);
                }
                if let Some(binary) = &benchmark {
                    // Enough requests for about the same time as a client's
                    // measurement, guessed from bare redis-rs at this level.
                    let rate = samples[0][l].last().map_or(50_000.0, |s| s.ops_per_sec);
                    let requests = ((rate * (plan.warmup + plan.measure).as_secs_f64()) as usize)
                        .max(tasks * 20);
                    match redis_benchmark(binary, port, tasks, requests).await {
                        Some(s) => ceiling[l].push(s),
                        None => eprintln!("redis-benchmark -c {tasks}: no figures"),
                    }
                }
                eprintln!(
                    "  round {} of {}, {tasks} callers: GET/s {}{}",
                    r + 1,
                    plan.rounds,
                    samples
                        .iter()
                        .filter_map(|c| c[l].get(r))
                        .map(|s| format!("{:.0}", s.ops_per_sec))
                        .collect::<Vec<_>>()
                        .join(" / "),
                    ceiling[l]
                        .last()
                        .map_or(String::new(), |s| format!(" | redis-benchmark {:.0}", s.ops_per_sec)),
                );
            }
        }

        let figures: Vec<Vec<Sample>> = samples
            .iter()
            .map(|levels| levels.iter().map(|s| median_sample(s)).collect())
            .collect();
        let ceiling_rounds = ceiling;
        let ceiling: Option<Vec<Sample>> = ceiling_rounds
            .iter()
            .map(|s| (!s.is_empty()).then(|| median_sample(s)))
            .collect();

        let header = LEVELS
            .iter()
            .map(|l| format!(" {l} |"))
            .collect::<String>();
        let rule = "---:|".repeat(LEVELS.len());
        println!();
        println!(
            "GET/s (ratio to (a)), median of {} round(s), {} s each:",
            plan.rounds,
            plan.measure.as_secs_f64()
        );
        println!();
        println!("| client |{header}");
        println!("|---|{rule}");
        for (name, row) in chosen(&plan, &figures) {
            let cells: String = row
                .iter()
                .zip(&figures[0])
                .map(|(s, a)| {
                    format!(
                        " {} ({:.2}×) |",
                        grouped(s.ops_per_sec),
                        s.ops_per_sec / a.ops_per_sec
                    )
                })
                .collect();
            println!("| {name} |{cells}");
        }
        if let Some(c) = &ceiling {
            let cells: String = c
                .iter()
                .zip(&figures[0])
                .map(|(s, a)| {
                    format!(
                        " {} ({:.2}×) |",
                        grouped(s.ops_per_sec),
                        s.ops_per_sec / a.ops_per_sec
                    )
                })
                .collect();
            println!("| redis-benchmark -c N -P 1 (ceiling) |{cells}");
        }
        println!();
        println!("p99 latency, µs:");
        println!();
        println!("| client |{header}");
        println!("|---|{rule}");
        for (name, row) in chosen(&plan, &figures) {
            let cells: String = row.iter().map(|s| format!(" {} |", micros(s.p99))).collect();
            println!("| {name} |{cells}");
        }
        if let Some(c) = &ceiling {
            let cells: String = c.iter().map(|s| format!(" {} |", micros(s.p99))).collect();
            println!("| redis-benchmark -c N -P 1 (ceiling) |{cells}");
        }
        println!();
        println!("client CPU µs per GET (this process, all threads; the server is apart):");
        println!();
        println!("| client |{header}");
        println!("|---|{rule}");
        for (name, row) in chosen(&plan, &figures) {
            let cells: String = row
                .iter()
                .map(|s| format!(" {:.2} |", s.cpu_per_op.as_secs_f64() * 1e6))
                .collect();
            println!("| {name} |{cells}");
        }
        println!();
        // The ratio of each round (the two measured back to back), then the
        // median: steadier than a ratio of medians when the machine is busy.
        let ratios: Vec<f64> = (0..LEVELS.len())
            .map(|l| {
                median_of(
                    samples[1][l]
                        .iter()
                        .zip(&samples[0][l])
                        .map(|(b, a)| b.ops_per_sec / a.ops_per_sec)
                        .collect(),
                )
            })
            .collect();
        println!(
            "target: query() ≥ 1.0× bare redis-rs at every level (median of per-round ratios): {} — {}",
            LEVELS
                .iter()
                .zip(&ratios)
                .map(|(l, r)| format!("{l}: {r:.2}×"))
                .collect::<Vec<_>>()
                .join(", "),
            if ratios.iter().all(|r| *r >= 1.0) { "met" } else { "not met" }
        );
        match &ceiling {
            Some(c) => {
                let ratio = median_of(
                    samples[1][0]
                        .iter()
                        .zip(&ceiling_rounds[0])
                        .map(|(b, c)| b.ops_per_sec / c.ops_per_sec)
                        .collect(),
                );
                println!(
                    "target: sequential query() ≥ 0.7× redis-benchmark -c 1 (median of per-round ratios): {} / {} GET/s (medians), {ratio:.2}× — {}",
                    grouped(figures[1][0].ops_per_sec),
                    grouped(c[0].ops_per_sec),
                    if ratio >= 0.7 { "met" } else { "not met" }
                );
            }
            None => println!("target: sequential query() vs redis-benchmark -c 1: no redis-benchmark"),
        }

        let series: Vec<(&str, Vec<f64>)> = chosen(&plan, &figures)
            .map(|(n, row)| (*n, row.iter().map(|s| s.ops_per_sec).collect()))
            .collect();
        let ceiling_ops: Option<Vec<f64>> = ceiling
            .as_ref()
            .map(|c| c.iter().map(|s| s.ops_per_sec).collect());
        let path = svg_path();
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match std::fs::write(&path, svg(&series, ceiling_ops.as_deref())) {
            Ok(()) => println!("plot: {}", path.display()),
            Err(e) => eprintln!("could not write the plot to {}: {e}", path.display()),
        }

        pool.close().await;
        let _ = fred_client.quit().await;
        let _ = fred_pool.quit().await;
    });
    eprintln!("bench took {:.1?}", started.elapsed());
}
