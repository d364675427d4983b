//! `redkeep service install|uninstall|start|stop|status`: registers a
//! supervised local Redis — the same as `redkeep ensure` with its options —
//! with the system's service manager: a systemd unit on Linux, a launchd
//! plist on macOS, the Windows SCM (through the `windows-service` crate).
//!
//! The service runs `redkeep ensure ...`; its stop is graceful on every
//! platform (`SHUTDOWN`, with `SAVE` under `--persist`, then termination
//! after `--stop-timeout`), and the manager restarts it on failure within
//! start limits.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

pub(crate) mod launchd;
pub(crate) mod systemd;
#[cfg(windows)]
pub(crate) mod windows;
pub(crate) mod windows_def;

pub(crate) const USAGE: &str = "\
redkeep service — run a supervised local Redis as a system service

USAGE:
    redkeep service install [--name NAME] [--user] [--dry-run] [ENSURE OPTIONS] [-- REDIS-SERVER-ARGS]
    redkeep service uninstall|start|stop|status [--name NAME] [--user]

    install registers `redkeep ensure ENSURE OPTIONS` (see redkeep --help) with
    the service manager: systemd (Linux; --user for a user unit), launchd
    (macOS; --user for a LaunchAgent, else a LaunchDaemon), the SCM (Windows).
    It is restarted on failure, within start limits (5 in 60 s); stopping is
    graceful: SHUTDOWN (SAVE with --persist), then termination after
    --stop-timeout (default 10 s). --dry-run prints what would be written.
    --password is refused (a service definition is readable by others):
    give REDKEEP_PASSWORD through the service manager's environment instead.

    --name NAME   the service name (default: redkeep)
    --user        a per-user service (systemd --user, a LaunchAgent)
    --dry-run     print the definition and the commands, change nothing
";

/// One service, as `install` gets it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Definition {
    /// The service (unit, label suffix, SCM) name.
    pub(crate) name: String,
    /// The `redkeep` executable (absolute).
    pub(crate) program: PathBuf,
    /// The arguments after it: `ensure ...`.
    pub(crate) args: Vec<String>,
    /// A per-user service.
    pub(crate) user: bool,
    /// The graceful stop's deadline (`--stop-timeout`).
    pub(crate) stop_timeout: Duration,
}

/// Restarts allowed within [`START_LIMIT_INTERVAL`] before the manager
/// gives up.
pub(crate) const START_LIMIT_BURST: u32 = 5;
/// The window of [`START_LIMIT_BURST`].
pub(crate) const START_LIMIT_INTERVAL: Duration = Duration::from_secs(60);
/// The delay before a restart.
pub(crate) const RESTART_DELAY: Duration = Duration::from_secs(1);

impl Definition {
    /// How long the manager waits for a stop before killing: the graceful
    /// deadline plus a margin for redkeep's own exit.
    pub(crate) fn manager_stop_timeout(&self) -> Duration {
        self.stop_timeout + Duration::from_secs(5)
    }

    /// The command line, quoted for a shell or a unit's `ExecStart`.
    pub(crate) fn command_line(&self) -> String {
        std::iter::once(self.program.to_string_lossy().into_owned())
            .chain(self.args.iter().cloned())
            .map(|a| quote(&a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Quotes `arg` for systemd's `ExecStart` and POSIX shells alike when it
/// needs it (`"` with `\` escapes, `%` doubled for systemd specifiers is
/// left to the unit writer).
pub(crate) fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+".contains(c));
    if plain {
        return arg.to_owned();
    }
    let mut out = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[derive(Debug, PartialEq)]
enum Action {
    Install {
        dry_run: bool,
    },
    Uninstall,
    Start,
    Stop,
    Status,
    /// Windows: the SCM's entry point (`redkeep service run --name N ensure ...`).
    Run,
}

#[derive(Debug)]
struct Request {
    action: Action,
    name: String,
    user: bool,
    /// `ensure ...` (install, run).
    ensure: Vec<String>,
}

fn parse(args: Vec<String>) -> Result<Request, String> {
    let mut it = args.into_iter();
    let action = match it.next().as_deref() {
        Some("install") => Action::Install { dry_run: false },
        Some("uninstall") => Action::Uninstall,
        Some("start") => Action::Start,
        Some("stop") => Action::Stop,
        Some("status") => Action::Status,
        Some("run") => Action::Run,
        Some(other) => return Err(format!("unknown service command {other:?}")),
        None => {
            return Err(
                "a service command is required: install, uninstall, start, stop or status"
                    .to_owned(),
            )
        }
    };
    let mut r = Request {
        action,
        name: "redkeep".to_owned(),
        user: false,
        ensure: vec!["ensure".to_owned()],
    };
    let rest: Vec<String> = it.collect();
    let mut i = 0;
    while i < rest.len() {
        let arg = rest[i].as_str();
        match arg {
            "--" => {
                r.ensure.extend(rest[i..].iter().cloned());
                break;
            }
            "--name" => {
                i += 1;
                let name = rest.get(i).ok_or("--name needs a value")?;
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
                {
                    return Err(format!(
                        "--name {name:?}: use letters, digits and - _ . @ only"
                    ));
                }
                r.name = name.clone();
            }
            "--user" => r.user = true,
            "--dry-run" => match &mut r.action {
                Action::Install { dry_run } => *dry_run = true,
                _ => return Err("--dry-run is for install".to_owned()),
            },
            "--password" if matches!(r.action, Action::Install { .. }) => {
                return Err(
                    "--password would be written into the service definition, which \
                     others can read: set REDKEEP_PASSWORD in the service's environment \
                     instead (systemd: an EnvironmentFile= drop-in, mode 0600)"
                        .to_owned(),
                );
            }
            _ => match r.action {
                Action::Install { .. } | Action::Run => r.ensure.push(arg.to_owned()),
                _ => return Err(format!("unknown option {arg:?}")),
            },
        }
        i += 1;
    }
    Ok(r)
}

/// `redkeep service ...`.
pub(crate) fn main(args: Vec<String>) -> ExitCode {
    if matches!(
        args.first().map(String::as_str),
        Some("-h" | "--help") | None
    ) {
        print!("{USAGE}");
        return if args.is_empty() {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let checked = parse(args).and_then(|r| match r.action {
        // Bad ensure options are usage errors too.
        Action::Install { .. } => definition(&r).map(|_| r),
        _ => Ok(r),
    });
    let request = match checked {
        Ok(r) => r,
        Err(e) => {
            eprintln!("redkeep: {e} (redkeep service --help for usage)");
            return ExitCode::from(2);
        }
    };
    match run(request) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("redkeep: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The definition of an `install` (or a Windows `run`): the ensure options
/// are checked by the CLI's own parser first.
fn definition(r: &Request) -> Result<Definition, String> {
    let options = match crate::parse(r.ensure.clone())? {
        crate::Parsed::Go(o) => o,
        crate::Parsed::Exit(_) => return Err("--help and --version are not service options".into()),
    };
    let program =
        std::env::current_exe().map_err(|e| format!("cannot find the redkeep executable: {e}"))?;
    Ok(Definition {
        name: r.name.clone(),
        program,
        args: r.ensure.clone(),
        user: r.user,
        stop_timeout: crate::server_config(&options).stop_timeout,
    })
}

fn run(r: Request) -> Result<ExitCode, String> {
    #[cfg(target_os = "macos")]
    use launchd as platform;
    #[cfg(target_os = "linux")]
    use systemd as platform;
    #[cfg(windows)]
    use windows as platform;
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    return Err(
        "redkeep service supports systemd (Linux), launchd (macOS) and the Windows SCM".into(),
    );
    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    match r.action {
        Action::Install { dry_run } => platform::install(&definition(&r)?, dry_run),
        Action::Uninstall => platform::uninstall(&r.name, r.user),
        Action::Start => platform::control(&r.name, r.user, "start"),
        Action::Stop => platform::control(&r.name, r.user, "stop"),
        Action::Status => platform::control(&r.name, r.user, "status"),
        #[cfg(windows)]
        Action::Run => windows::run_service(&r.name, r.ensure.clone()),
        #[cfg(not(windows))]
        Action::Run => Err("service run is the Windows SCM's entry point".into()),
    }
}

/// Runs `program args`, echoing it; its failure is an error naming it.
#[cfg_attr(windows, allow(dead_code))]
pub(crate) fn exec(program: &str, args: &[&str]) -> Result<ExitCode, String> {
    eprintln!("redkeep: {program} {}", args.join(" "));
    let status = std::process::Command::new(program)
        .args(args)
        .status()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    match status.code() {
        Some(0) => Ok(ExitCode::SUCCESS),
        Some(code) => Ok(ExitCode::from(code as u8)),
        None => Err(format!("{program} was killed ({status})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Definition {
        Definition {
            name: "redkeep".into(),
            program: PathBuf::from("/usr/local/bin/redkeep"),
            args: [
                "ensure",
                "--port",
                "6380",
                "--persist",
                "--dir",
                "/var/lib/my redis",
            ]
            .map(String::from)
            .to_vec(),
            user: false,
            stop_timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn the_command_line_quotes_what_needs_it() {
        assert_eq!(
            sample().command_line(),
            "/usr/local/bin/redkeep ensure --port 6380 --persist --dir \"/var/lib/my redis\""
        );
        assert_eq!(quote("a\"b$c"), "\"a\\\"b\\$c\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn install_takes_ensure_options_and_refuses_a_password() {
        let r = parse(
            [
                "install",
                "--name",
                "cache",
                "--user",
                "--dry-run",
                "--port",
                "7000",
                "--",
                "--maxmemory",
                "64mb",
            ]
            .map(String::from)
            .to_vec(),
        )
        .expect("parse");
        assert_eq!(r.action, Action::Install { dry_run: true });
        assert_eq!((r.name.as_str(), r.user), ("cache", true));
        assert_eq!(
            r.ensure,
            ["ensure", "--port", "7000", "--", "--maxmemory", "64mb"].map(String::from)
        );
        let e = parse(["install", "--password", "x"].map(String::from).to_vec()).unwrap_err();
        assert!(e.contains("REDKEEP_PASSWORD"), "{e}");
        let e = parse(["stop", "--port", "1"].map(String::from).to_vec()).unwrap_err();
        assert!(e.contains("unknown option"), "{e}");
        let e = parse(["install", "--name", "a/b"].map(String::from).to_vec()).unwrap_err();
        assert!(e.contains("--name"), "{e}");
    }

    #[test]
    fn the_stop_timeout_comes_from_the_ensure_options() {
        let r = parse(
            ["install", "--stop-timeout", "30"]
                .map(String::from)
                .to_vec(),
        )
        .expect("parse");
        let d = definition(&r).expect("definition");
        assert_eq!(d.stop_timeout, Duration::from_secs(30));
        assert_eq!(d.manager_stop_timeout(), Duration::from_secs(35));
        let r = parse(["install", "--bogus"].map(String::from).to_vec()).expect("parse");
        assert!(definition(&r).is_err());
    }
}
