//! `redkeep`: a supervised local Redis in the foreground, or a throwaway one
//! around a command. Built with the `cli` feature.

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
    --dir DIR           data directory (default: a private temporary one)
    --persist           keep redis-server's snapshot settings (default: none)
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
    /// `--server-arg`s, in order (before the args after `--` of `ensure`).
    server_args: Vec<String>,
    level: tracing::Level,
    /// After `--`: redis-server args (ensure) or the command (run).
    rest: Vec<String>,
}

enum Parsed {
    Go(Options),
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
        server_args: Vec::new(),
        level: tracing::Level::INFO,
        rest: Vec::new(),
    };
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
            "--server-arg" => o.server_args.push(value("--server-arg")?),
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
    if o.command == Command::Run && o.rest.is_empty() {
        return Err(
            "run needs a command after `--`: redkeep run [OPTIONS] -- CMD [ARGS...]".to_owned(),
        );
    }
    if o.command == Command::Ensure && o.attach {
        return Err("--attach is for run; ensure always uses a Redis already there".to_owned());
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
    Ok(Parsed::Go(o))
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
        Ok(Parsed::Go(o)) => o,
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
    let server = match start(&o).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let Origin::Spawned { pid } = server.origin() else {
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
                return match server.shutdown().await {
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

async fn run(o: Options) -> ExitCode {
    let server = match start(&o).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let url = server.url();
    let mut cmd = std::process::Command::new(&o.rest[0]);
    cmd.args(o.rest[1..].iter().map(|a| a.replace("{url}", &url)))
        .env("REDIS_URL", &url);
    match server.ca_cert_path() {
        Some(ca) => cmd.env("REDIS_CA_CERT", ca),
        // Not one inherited from redkeep's own environment.
        None => cmd.env_remove("REDIS_CA_CERT"),
    };
    let child = match OwnedChild::spawn(cmd) {
        Ok(c) => std::sync::Arc::new(c),
        Err(e) => {
            eprintln!("redkeep: cannot run {:?}: {e}", o.rest[0]);
            let _ = server.shutdown().await;
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
    let _ = server.shutdown().await;
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
