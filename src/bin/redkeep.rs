//! `redkeep`: a supervised local Redis in the foreground, or a throwaway one
//! around a command. Built with the `cli` feature.

#[path = "redkeep/deploy.rs"]
mod deploy;
#[path = "redkeep/health_server.rs"]
mod health_server;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[path = "../service/mod.rs"]
mod service;

use redkeep::server::OwnedChild;
use redkeep::{
    ensure_server, Language, LocalServer, Origin, ServerAddr, ServerConfig, ServerStatus,
};

const USAGE: &str = "\
redkeep — keep a local Redis usable

USAGE:
    redkeep ensure [OPTIONS] [-- REDIS-SERVER-ARGS...]
        Attach to the Redis at the address, or start a supervised one there
        and keep it running in the foreground until Ctrl-C or SIGTERM. A
        crashed server is restarted; the server never outlives redkeep.

    redkeep service install|uninstall|start|stop|status [--name N] [--user] [--dry-run] [OPTIONS]
        Register `redkeep ensure OPTIONS` with the system's service manager
        (systemd, launchd, the Windows SCM); see redkeep service --help.

    redkeep run [OPTIONS] -- CMD [ARGS...]
        Start a throwaway Redis (a free port unless --port is given), run CMD
        with REDIS_URL set to it and every `{url}` in ARGS replaced by it,
        stop the server afterwards, and exit with CMD's exit code. The server
        (and, on Linux, CMD) dies even if redkeep is killed with SIGKILL.
        A Redis already answering at --port is an error unless --attach.
        With --tls, REDIS_URL is rediss://... and REDIS_CA_CERT the CA file.

    redkeep run --cluster N [--replicas R] -- CMD [ARGS...]
        The same with a throwaway Redis Cluster of N masters with R replicas
        each (default 1), ready (every node agrees, every slot served):
        REDIS_CLUSTER_URLS is every node's redis:// URL, comma-separated,
        REDIS_URL (and `{url}`) the first one.

    redkeep run --sentinel [--replicas R] [--sentinels S] -- CMD [ARGS...]
        The same with a throwaway Sentinel group: a master, R replicas
        (default 2) and S sentinels (default 3) watching it as \"mymaster\":
        REDIS_SENTINEL_URLS is the sentinels' redis:// URLs, comma-separated,
        REDIS_MASTER_NAME the name, REDIS_URL (and `{url}`)
        redis+sentinel://HOST:PORT,HOST:PORT,.../mymaster.

OPTIONS:
    --port N            TCP port on 127.0.0.1 (ensure: 6379; run: 0 = a free one)
    --bind HOST         loopback host to bind (default 127.0.0.1)
    --unix              listen on a unix socket in a private directory instead
    --password PW       requirepass (visible to `ps`; prefer REDKEEP_PASSWORD)
    --redis-server PATH the binary (default: $REDKEEP_REDIS_SERVER, then
                        redis-server on PATH, then valkey-server on PATH)
    --server-arg ARG    one argument for redis-server, repeatable:
                        --server-arg --maxmemory --server-arg 64mb
    --attach            (run) use a Redis already answering at --port instead
                        of failing; it is left running afterwards
    --tls               serve TLS only, with a throwaway CA and server certificate
                        in the private directory (needs a build with the `tls`
                        feature); always starts a server (not with --attach or
                        --unix); run sets REDIS_CA_CERT to the CA file
    --cluster N         (run) a Redis Cluster of N masters instead of one server
    --sentinel          (run) a Sentinel group instead of one server
    --replicas R        replicas per master (--cluster, default 1) or of the
                        master (--sentinel, default 2)
    --sentinels S       sentinels of a --sentinel group (default 3)
    --dir DIR           data directory (default: a private temporary one)
    --persist           keep redis-server's snapshot settings (default: none)
    --health-addr H:P   (ensure) serve GET /health (200 while Redis answers,
                        503 otherwise; JSON: state, since, last_error, rtt,
                        restarts) and GET /metrics (Prometheus text) on H:P;
                        with an already running Redis, keep watching it
    --ready-timeout S   seconds a spawned server may take to answer PONG (default 10)
    --stop-timeout S    seconds a graceful stop (SHUTDOWN, with SAVE under --persist)
                        may take before the server is killed (default 10)
    --guard G           auto (default: the platform's guard) or watchdog (a forked
                        watchdog process kills the server when redkeep dies; the
                        guard of macOS and the BSDs, unix only)
    -q, --quiet         only warnings and errors on stderr
    -v, --verbose       debug output on stderr
    -h, --help          this text
    -V, --version       the version

ENVIRONMENT:
    REDKEEP_PASSWORD      password, when --password is not given
    REDKEEP_REDIS_SERVER  the redis-server (or valkey-server) binary
    REDKEEP_GUARD         watchdog: the watchdog guard when --guard is not given
    NO_COLOR              no colour on stderr (there is none unless it is a terminal)
";

#[derive(Debug, PartialEq)]
enum Command {
    Ensure,
    Run,
}

#[derive(Debug)]
struct Options {
    command: Command,
    port: Option<u16>,
    bind: Option<String>,
    unix: bool,
    password: Option<String>,
    binary: Option<PathBuf>,
    dir: Option<PathBuf>,
    persist: bool,
    ready_timeout: Option<Duration>,
    /// `--guard`.
    guard: redkeep::Guard,
    /// `--stop-timeout`.
    stop_timeout: Option<Duration>,
    /// `run`: use a Redis already at the address instead of failing.
    attach: bool,
    /// `--tls`: a TLS-only server with a throwaway CA.
    tls: bool,
    /// `--health-addr`: where `ensure` serves `/health` and `/metrics`.
    health_addr: Option<String>,
    /// `--server-arg`s, in order (before the args after `--` of `ensure`).
    server_args: Vec<String>,
    level: tracing::Level,
    /// After `--`: redis-server args (ensure) or the command (run).
    rest: Vec<String>,
    /// `run --cluster` / `--sentinel`: a deployment instead of one server.
    deploy: Option<deploy::Kind>,
}

enum Parsed {
    Go(Box<Options>),
    Exit(ExitCode),
}

fn parse(args: Vec<String>) -> Result<Parsed, String> {
    let mut args = args.into_iter();
    let command = match args.next().as_deref() {
        Some("ensure") => Command::Ensure,
        Some("run") => Command::Run,
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return Ok(Parsed::Exit(ExitCode::SUCCESS));
        }
        Some("-V" | "--version") => {
            println!("redkeep {}", env!("CARGO_PKG_VERSION"));
            return Ok(Parsed::Exit(ExitCode::SUCCESS));
        }
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("a command is required: ensure or run".to_owned()),
    };
    let mut o = Options {
        command,
        port: None,
        bind: None,
        unix: false,
        password: None,
        binary: None,
        dir: None,
        persist: false,
        ready_timeout: None,
        guard: redkeep::Guard::Auto,
        stop_timeout: None,
        attach: false,
        tls: false,
        health_addr: None,
        server_args: Vec::new(),
        level: tracing::Level::INFO,
        rest: Vec::new(),
        deploy: None,
    };
    let (mut cluster, mut sentinel) = (None, false);
    let (mut replicas, mut sentinels) = (None, None);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--" => {
                o.rest = args.by_ref().collect();
                break;
            }
            "--port" => {
                let v = value("--port")?;
                o.port = Some(v.parse().map_err(|_| format!("--port: bad port {v:?}"))?);
            }
            "--bind" => o.bind = Some(value("--bind")?),
            "--unix" => o.unix = true,
            "--password" => o.password = Some(value("--password")?),
            "--redis-server" => o.binary = Some(value("--redis-server")?.into()),
            "--dir" => o.dir = Some(value("--dir")?.into()),
            "--persist" => o.persist = true,
            "--attach" => o.attach = true,
            "--tls" => o.tls = true,
            "--cluster" => cluster = Some(count(&value("--cluster")?, "--cluster", 1)?),
            "--sentinel" => sentinel = true,
            "--replicas" => replicas = Some(count(&value("--replicas")?, "--replicas", 0)?),
            "--sentinels" => sentinels = Some(count(&value("--sentinels")?, "--sentinels", 1)?),
            "--server-arg" => o.server_args.push(value("--server-arg")?),
            "--health-addr" => o.health_addr = Some(value("--health-addr")?),
            "--guard" => {
                o.guard = redkeep::Guard::parse(&value("--guard")?)
                    .map_err(|e| e.message_in(Language::Cli))?;
            }
            "--ready-timeout" => o.ready_timeout = Some(seconds("--ready-timeout", value)?),
            "--stop-timeout" => o.stop_timeout = Some(seconds("--stop-timeout", value)?),
            "-q" | "--quiet" => o.level = tracing::Level::WARN,
            "-v" | "--verbose" => o.level = tracing::Level::DEBUG,
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(Parsed::Exit(ExitCode::SUCCESS));
            }
            other if other.starts_with('-') => {
                return Err(format!("unknown option {other:?}"));
            }
            other => {
                return Err(match o.command {
                    Command::Run => format!(
                        "{other:?} is not an option; the command goes after `--`: \
                         redkeep run [OPTIONS] -- {other} ..."
                    ),
                    Command::Ensure => format!(
                        "{other:?} is not an option; redis-server arguments go after `--` \
                         (redkeep ensure [OPTIONS] -- {other} ...) or in --server-arg"
                    ),
                });
            }
        }
    }
    o.deploy = deployment(&o, cluster, sentinel, replicas, sentinels)?;
    if o.command == Command::Run && o.rest.is_empty() {
        return Err(
            "run needs a command after `--`: redkeep run [OPTIONS] -- CMD [ARGS...]".to_owned(),
        );
    }
    if o.command == Command::Ensure && o.attach {
        return Err("--attach is for run; ensure always uses a Redis already there".to_owned());
    }
    if o.command == Command::Run && o.health_addr.is_some() {
        return Err(
            "--health-addr is for ensure (run's server lives only as long as CMD)".to_owned(),
        );
    }
    if o.tls && o.attach {
        return Err(
            "--tls always starts a server (it makes the certificates), so it cannot --attach"
                .to_owned(),
        );
    }
    if o.tls && o.unix {
        return Err("--tls needs TCP: redis-server serves TLS on no unix socket".to_owned());
    }
    if o.tls && !cfg!(feature = "tls") {
        return Err(
            "--tls needs a redkeep built with the `tls` feature (--features cli,tls)".to_owned(),
        );
    }
    if o.password.is_none() {
        o.password = std::env::var("REDKEEP_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty());
    }
    Ok(Parsed::Go(Box::new(o)))
}

/// A count option's value, at least `min`.
fn count(v: &str, name: &str, min: usize) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(format!("{name}: {v:?} is not a number of at least {min}")),
    }
}

/// `--cluster` / `--sentinel` and their counts, checked against the rest.
fn deployment(
    o: &Options,
    cluster: Option<usize>,
    sentinel: bool,
    replicas: Option<usize>,
    sentinels: Option<usize>,
) -> Result<Option<deploy::Kind>, String> {
    let kind = match (cluster, sentinel) {
        (Some(_), true) => return Err("--cluster and --sentinel exclude each other".to_owned()),
        (Some(masters), false) => {
            if sentinels.is_some() {
                return Err("--sentinels is for --sentinel, not --cluster".to_owned());
            }
            deploy::Kind::Cluster {
                masters,
                replicas: replicas.unwrap_or(1),
            }
        }
        (None, true) => deploy::Kind::Sentinel {
            replicas: replicas.unwrap_or(2),
            sentinels: sentinels.unwrap_or(3),
        },
        (None, false) => {
            if replicas.is_some() || sentinels.is_some() {
                return Err("--replicas and --sentinels need --cluster N or --sentinel".to_owned());
            }
            return Ok(None);
        }
    };
    if o.command != Command::Run {
        return Err("--cluster and --sentinel are for run".to_owned());
    }
    let single: [(&str, bool); 7] = [
        ("--port", o.port.is_some()),
        ("--bind", o.bind.is_some()),
        ("--unix", o.unix),
        ("--password", o.password.is_some()),
        ("--dir", o.dir.is_some()),
        ("--persist", o.persist),
        ("--attach", o.attach),
    ];
    if let Some((name, _)) = single.iter().find(|(_, set)| *set) {
        return Err(format!(
            "{name} is for one server; a --cluster or --sentinel deployment uses free \
             ports of 127.0.0.1, no password and no persistence"
        ));
    }
    if o.tls {
        return Err("--tls is for one server, not --cluster or --sentinel".to_owned());
    }
    Ok(Some(kind))
}

/// A number of seconds for option `name`.
fn seconds(
    name: &str,
    mut value: impl FnMut(&str) -> Result<String, String>,
) -> Result<Duration, String> {
    let v = value(name)?;
    v.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{name}: bad number of seconds {v:?}"))
}

fn server_config(o: &Options) -> ServerConfig {
    let defaults = ServerConfig::default();
    let default_port = match o.command {
        Command::Ensure => 6379,
        Command::Run => 0,
    };
    let addr = if o.unix {
        ServerAddr::Unix(None)
    } else {
        ServerAddr::Tcp {
            host: o.bind.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
            port: o.port.unwrap_or(default_port),
        }
    };
    ServerConfig {
        addr,
        binary: o.binary.clone(),
        args: match o.command {
            Command::Ensure => [&o.server_args[..], &o.rest[..]].concat(),
            Command::Run => o.server_args.clone(),
        },
        dir: o.dir.clone(),
        persistence: o.persist,
        password: o.password.clone(),
        ready_timeout: o.ready_timeout.unwrap_or(defaults.ready_timeout),
        tls: o.tls,
        guard: o.guard,
        stop_timeout: o.stop_timeout.unwrap_or(defaults.stop_timeout),
        ..defaults
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("service") {
        return service::main(args[1..].to_vec());
    }
    let options = match parse(args) {
        Ok(Parsed::Go(o)) => *o,
        Ok(Parsed::Exit(code)) => return code,
        Err(e) => {
            // One line: the mistake and its fix, not the whole usage.
            eprintln!("redkeep: {e} (redkeep --help for usage)");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_max_level(options.level)
        .with_writer(std::io::stderr)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("redkeep: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match options.command {
            Command::Ensure => ensure(options).await,
            Command::Run => run(options).await,
        }
    })
}

/// Colour codes on stderr only when it is a terminal and `NO_COLOR` is
/// unset or empty (<https://no-color.org>).
fn colour(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

async fn start(o: &Options) -> Result<LocalServer, ExitCode> {
    let server = ensure_server(server_config(o)).await.map_err(|e| {
        eprintln!("redkeep: {}", e.message_in(Language::Cli));
        ExitCode::FAILURE
    })?;
    if o.command == Command::Run && !o.attach && server.origin() == Origin::Attached {
        // Dropping an attached server leaves it alone.
        eprintln!(
            "redkeep: a Redis already answers at {}, and run uses only a server \
             it started; pass --attach to use that one, or choose another --port \
             (the default, 0, picks a free one)",
            server.addr()
        );
        return Err(ExitCode::FAILURE);
    }
    if server.origin() == Origin::Attached && !server_config(o).args.is_empty() {
        eprintln!(
            "redkeep: warning: redis-server arguments ignored: the Redis at {} \
             was already running",
            server.addr()
        );
    }
    Ok(server)
}

/// Resolves when SIGINT (Ctrl-C) or SIGTERM arrives; returns its name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

async fn ensure(o: Options) -> ExitCode {
    // Bound first: a bad or taken address fails before a server starts.
    let listener = match &o.health_addr {
        Some(addr) => match health_server::bind(addr).await {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!("redkeep: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let server = match start(&o).await {
        Ok(s) => std::sync::Arc::new(s),
        Err(code) => return code,
    };
    let _endpoint = match listener {
        Some(listener) => match watch_endpoint(listener, server.clone()).await {
            Ok(task) => Some(task),
            Err(code) => return code,
        },
        None => None,
    };
    let Origin::Spawned { pid } = server.origin() else {
        if _endpoint.is_some() {
            println!(
                "redkeep: a Redis already answers at {}; attached, watching it (Ctrl-C to stop)",
                server.redacted_url()
            );
            println!("redkeep: stopping: {}", stop_signal().await);
            return ExitCode::SUCCESS;
        }
        println!(
            "redkeep: a Redis already answers at {}; attached, nothing to supervise",
            server.redacted_url()
        );
        return ExitCode::SUCCESS;
    };
    println!(
        "redkeep: redis-server pid {pid} ready at {}; Ctrl-C to stop",
        server.redacted_url()
    );
    if let Some(ca) = server.ca_cert_path() {
        println!("redkeep: TLS only; its CA certificate is {}", ca.display());
    }
    let mut status = server.watch();
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            name = &mut stop => {
                println!("redkeep: {name}, stopping redis-server");
                // The watching pool first: it would only see the server go.
                drop(_endpoint);
                return match server.stop().await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("redkeep: {}", e.message_in(Language::Cli));
                        ExitCode::FAILURE
                    }
                };
            }
            changed = status.changed() => {
                if changed.is_err() {
                    return ExitCode::FAILURE;
                }
                let now = status.borrow_and_update().clone();
                match now {
                    ServerStatus::Running { pid } => {
                        println!("redkeep: redis-server restarted, pid {pid}");
                    }
                    ServerStatus::Failed { reason } => {
                        eprintln!("redkeep: {reason}");
                        return ExitCode::FAILURE;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A pool watching `server`, and the task serving `/health` and `/metrics`
/// from it (aborted when the returned guard drops).
async fn watch_endpoint(
    listener: tokio::net::TcpListener,
    server: std::sync::Arc<LocalServer>,
) -> Result<AbortOnDrop, ExitCode> {
    let mut config = redkeep::Config::from_url(server.url());
    config.tls = server.client_tls();
    let pool = redkeep::Pool::connect(config).await.map_err(|e| {
        eprintln!("redkeep: --health-addr: {}", e.message_in(Language::Cli));
        ExitCode::FAILURE
    })?;
    if let Ok(addr) = listener.local_addr() {
        println!("redkeep: health on http://{addr}/health, metrics on http://{addr}/metrics");
    }
    let source = std::sync::Arc::new(health_server::Source { pool, server });
    Ok(AbortOnDrop(tokio::spawn(health_server::serve(
        listener, source,
    ))))
}

/// Aborts the task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run(o: Options) -> ExitCode {
    let server = match &o.deploy {
        None => match start(&o).await {
            Ok(s) => deploy::Deployment::Server(s),
            Err(code) => return code,
        },
        Some(kind) => {
            let started = deploy::Deployment::start(
                kind.clone(),
                o.binary.clone(),
                o.server_args.clone(),
                o.ready_timeout,
            );
            match started.await {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("redkeep: {}", e.message_in(Language::Cli));
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    if let Some(line) = server.describe() {
        tracing::info!("{line}");
    }
    let url = server.url();
    let mut cmd = std::process::Command::new(&o.rest[0]);
    cmd.args(o.rest[1..].iter().map(|a| a.replace("{url}", &url)));
    // Only this deployment's variables, none inherited from redkeep's own
    // environment.
    for var in deploy::VARS {
        cmd.env_remove(var);
    }
    cmd.envs(server.env());
    let ca = match &server {
        deploy::Deployment::Server(s) => s.ca_cert_path(),
        _ => None,
    };
    match ca {
        Some(ca) => cmd.env("REDIS_CA_CERT", ca),
        None => cmd.env_remove("REDIS_CA_CERT"),
    };
    let child = match OwnedChild::spawn(cmd) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => {
            eprintln!("redkeep: cannot run {:?}: {e}", o.rest[0]);
            server.shutdown().await;
            return ExitCode::from(127);
        }
    };
    let waiter = tokio::task::spawn_blocking({
        let child = child.clone();
        move || child.wait()
    });
    tokio::pin!(waiter);
    let mut stop = Box::pin(stop_signal());
    let status = loop {
        tokio::select! {
            status = &mut waiter => break status,
            name = &mut stop => {
                // A terminal's Ctrl-C reached CMD too (same process group);
                // give it a moment to finish, then ask it to stop.
                if name != "SIGINT" {
                    let _ = child.terminate();
                } else {
                    let child = child.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        let _ = child.terminate();
                    });
                }
                stop = Box::pin(stop_signal());
            }
        }
    };
    server.shutdown().await;
    match status {
        Ok(Ok(status)) => exit_code(status),
        Ok(Err(e)) => {
            eprintln!("redkeep: waiting for {:?}: {e}", o.rest[0]);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("redkeep: {e}");
            ExitCode::FAILURE
        }
    }
}

/// CMD's exit code; `128 + signal` if a signal ended it, as shells report.
fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    if let Some(code) = status.code() {
        return ExitCode::from(code as u8);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return ExitCode::from(128u8.wrapping_add(sig as u8));
        }
    }
    ExitCode::FAILURE
}
