//! One run of `redis-server`: write its config, start it under the guard,
//! wait for a real `PONG` from *this* child.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::addr::ServerAddr;
use super::certs::TlsFiles;
use super::config::Guard;
use super::diagnose::{self, Cause};
use super::guard::{self, Killer, Proc, Spec};
use super::resp::{Conn, Reply};
use super::workdir::PrivateDir;
use crate::error::{Error, ErrorKind, Language, Param};

/// Lines of the log carried by a startup error.
const TAIL_LINES: usize = 15;

/// Everything needed to start (and restart) the same server.
pub(crate) struct Plan {
    pub(crate) binary: PathBuf,
    /// Resolved: a TCP port is never 0 here, a unix socket has its path.
    pub(crate) addr: ServerAddr,
    /// Private: holds the config file, the log and the default socket.
    pub(crate) run_dir: Arc<PrivateDir>,
    pub(crate) data_dir: PathBuf,
    /// Whether the caller chose `data_dir` (`ServerConfig::dir`).
    pub(crate) dir_set: bool,
    pub(crate) args: Vec<String>,
    pub(crate) password: Option<String>,
    pub(crate) persistence: bool,
    pub(crate) ready_timeout: Duration,
    /// TLS only, with these files (inside `run_dir`).
    pub(crate) tls: Option<Arc<TlsFiles>>,
    /// Resolved (`REDKEEP_GUARD` applied).
    pub(crate) guard: Guard,
}

/// How long a server may take to exit after SIGTERM once its owner is gone,
/// before its watchdog sends SIGKILL: time to save with persistence; none
/// without (SIGKILL at once, as the parent-death signal does: nothing is
/// lost, and redis-server would act on SIGTERM only at its next cron tick).
fn orphan_grace(persistence: bool) -> Duration {
    if persistence {
        Duration::from_secs(10)
    } else {
        Duration::ZERO
    }
}

/// A started, ready server.
pub(crate) struct Running {
    pub(crate) child: Proc,
    pub(crate) killer: Killer,
}

/// Why a start failed.
pub(crate) struct StartError {
    pub(crate) cause: Cause,
    pub(crate) error: Error,
}

impl Plan {
    pub(crate) fn log_path(&self) -> PathBuf {
        self.run_dir.path().join("redis.log")
    }

    fn conf_path(&self) -> PathBuf {
        self.run_dir.path().join("redkeep.conf")
    }

    /// The config given to the server. It holds `requirepass`, so it is
    /// written 0600 inside the private run dir and removed once the server
    /// is ready (the server reads it once, at startup).
    fn config_text(&self) -> String {
        let mut c = String::new();
        c.push_str("daemonize no\nlogfile \"\"\nprotected-mode yes\n");
        match &self.addr {
            ServerAddr::Tcp { host, port } => {
                let _ = writeln!(c, "bind {}", quote(host));
                match &self.tls {
                    None => {
                        let _ = writeln!(c, "port {port}");
                    }
                    Some(tls) => {
                        let _ = writeln!(c, "port 0\ntls-port {port}");
                        let file = |p: &std::path::Path| quote(&p.to_string_lossy());
                        let _ = writeln!(c, "tls-cert-file {}", file(&tls.cert));
                        let _ = writeln!(c, "tls-key-file {}", file(&tls.key));
                        let _ = writeln!(c, "tls-ca-cert-file {}", file(&tls.ca));
                        c.push_str("tls-auth-clients no\n");
                    }
                }
            }
            ServerAddr::Unix(path) => {
                c.push_str("port 0\n");
                // Always resolved here; without a path the server refuses
                // to start ("not listening anywhere"), which says why.
                if let Some(path) = path {
                    let _ = writeln!(c, "unixsocket {}", quote(&path.to_string_lossy()));
                }
                c.push_str("unixsocketperm 700\n");
            }
        }
        let _ = writeln!(c, "dir {}", quote(&self.data_dir.to_string_lossy()));
        if !self.persistence {
            c.push_str("save \"\"\nappendonly no\n");
        }
        if let Some(pw) = &self.password {
            let _ = writeln!(c, "requirepass {}", quote(pw));
        }
        c
    }

    fn write_config(&self) -> std::io::Result<()> {
        let path = self.conf_path();
        let _ = std::fs::remove_file(&path);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        use std::io::Write;
        options
            .open(&path)?
            .write_all(self.config_text().as_bytes())
    }

    /// A start error: what failed, the cause read from the log tail, and
    /// the setting to look at — `param`, or the one the cause points at —
    /// named in the message and marked on the error.
    fn error(&self, cause: Cause, what: String, param: Option<Param>) -> StartError {
        let log = self.log_path();
        let tail = diagnose::tail(&log, TAIL_LINES, self.password.as_deref());
        let param = param.or_else(|| diagnose::param(cause, &tail, &self.addr, self.dir_set));
        let mut message = format!("cannot start redis-server at {}: {what}", self.addr);
        match (cause, param) {
            (Cause::Unknown, None) => {}
            (Cause::Unknown, Some(p)) => {
                let _ = write!(message, " (check {})", p.name(Language::Rust));
            }
            (cause, None) => {
                let _ = write!(message, " ({})", cause.describe());
            }
            (cause, Some(p)) => {
                let _ = write!(
                    message,
                    " ({}; check {})",
                    cause.describe(),
                    p.name(Language::Rust)
                );
            }
        }
        if !tail.is_empty() {
            let _ = write!(message, "\n--- last lines of {} ---\n{tail}", log.display());
        }
        let mut error = Error::new(ErrorKind::Spawn, message);
        if let Some(p) = param {
            error = error.with_param(p);
        }
        StartError { cause, error }
    }

    /// Starts the server and waits until it answers `PONG` (retrying while
    /// it is `LOADING`), it exits, `ready_timeout` passes, or `cancelled()`.
    pub(crate) fn start(&self, cancelled: &dyn Fn() -> bool) -> Result<Running, StartError> {
        let io_error = |what: &str, e: std::io::Error, param: Option<Param>| {
            let cause = if e.kind() == std::io::ErrorKind::PermissionDenied {
                Cause::Permission
            } else {
                Cause::Unknown
            };
            self.error(cause, format!("{what}: {e}"), param)
        };
        self.write_config()
            .map_err(|e| io_error("cannot write its config", e, None))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| io_error("cannot open its log", e, None))?;
        let log2 = log
            .try_clone()
            .map_err(|e| io_error("cannot open its log", e, None))?;
        let mut args = vec![self.conf_path().into_os_string()];
        args.extend(self.args.iter().map(Into::into));
        let spec = Spec {
            program: self.binary.clone(),
            args,
            cwd: self.run_dir.path().to_owned(),
            stdout: log,
            stderr: log2,
            grace: orphan_grace(self.persistence),
        };
        let started = Instant::now();
        let (mut child, killer) = guard::spawn_server(spec, self.guard).map_err(|e| {
            let _ = std::fs::remove_file(self.conf_path());
            let what = format!("cannot execute {}", self.binary.display());
            io_error(&what, e, Some(Param::ServerBinary))
        })?;
        let pid = killer.pid();
        tracing::debug!(pid, addr = %self.addr, "redis-server started, waiting for PONG");
        let deadline = started + self.ready_timeout;
        let result = loop {
            match guard::try_wait(&mut child, &killer) {
                Ok(Some(status)) => break Err(self.exited(status)),
                Ok(None) => {}
                Err(e) => break Err(io_error("cannot watch the child", e, None)),
            }
            if self.is_ready(pid) {
                break Ok(());
            }
            if cancelled() {
                break Err(self.error(Cause::Unknown, "cancelled by shutdown".to_owned(), None));
            }
            if Instant::now() >= deadline {
                break Err(self.error(
                    Cause::Unknown,
                    format!(
                        "no PONG within ServerConfig::ready_timeout ({})",
                        crate::util::fmt_duration(self.ready_timeout)
                    ),
                    Some(Param::ServerReadyTimeout),
                ));
            }
            let poll = if started.elapsed() < Duration::from_millis(200) {
                Duration::from_millis(1)
            } else {
                Duration::from_millis(10)
            };
            std::thread::sleep(poll);
        };
        // A sentinel keeps its config: it must be writable for the life
        // of the process (it saves what it learns there).
        if result.is_err() || !self.is_sentinel() {
            let _ = std::fs::remove_file(self.conf_path());
        }
        match result {
            Ok(()) => Ok(Running { child, killer }),
            Err(e) => {
                let _ = killer.kill();
                let _ = guard::wait(&mut child, &killer);
                Err(e)
            }
        }
    }

    /// Whether it runs in sentinel mode (`--sentinel` among the args).
    fn is_sentinel(&self) -> bool {
        self.args.iter().any(|a| a == "--sentinel")
    }

    fn exited(&self, status: ExitStatus) -> StartError {
        let tail = diagnose::tail(&self.log_path(), TAIL_LINES, self.password.as_deref());
        self.error(
            diagnose::cause(&tail),
            format!("it exited before it was ready ({status})"),
            None,
        )
    }

    /// `PONG` (over TLS for a TLS server) from the process `pid` (checked with `INFO server`, so another
    /// server that won a port race is never taken for ours).
    fn is_ready(&self, pid: u32) -> bool {
        let Ok(mut conn) = Conn::open(&self.addr, self.tls.as_deref(), Duration::from_secs(1))
        else {
            return false;
        };
        let mut check = || -> std::io::Result<bool> {
            let pw = self.password.as_deref().map(str::as_bytes);
            let mut cmds: Vec<&[&[u8]]> = Vec::with_capacity(3);
            let auth: [&[u8]; 2];
            if let Some(pw) = pw {
                auth = [b"AUTH", pw];
                cmds.push(&auth);
            }
            cmds.push(&[b"PING"]);
            cmds.push(&[b"INFO", b"server"]);
            conn.send(&cmds)?;
            if pw.is_some() {
                conn.read()?;
            }
            let pong = conn.read()?;
            let info = conn.read()?;
            let Reply::Bulk(info) = info else {
                return Ok(false);
            };
            Ok(pong == Reply::Status("PONG".to_owned()) && info_pid(&info) == Some(pid))
        };
        check().unwrap_or(false)
    }
}

/// `process_id:` from an `INFO server` reply.
fn info_pid(info: &[u8]) -> Option<u32> {
    String::from_utf8_lossy(info)
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Quotes a config value the way redis-server's parser (`sdssplitargs`)
/// reads it back.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for b in value.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_sdssplitargs() {
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("x\"y\\z"), "\"x\\\"y\\\\z\"");
        assert_eq!(quote("é"), "\"\\xc3\\xa9\"");
    }

    #[test]
    fn reads_the_pid_from_info() {
        assert_eq!(
            info_pid(b"# Server\r\nredis_version:7.0\r\nprocess_id:4242\r\n"),
            Some(4242)
        );
        assert_eq!(info_pid(b"# Server\r\n"), None);
    }
}
