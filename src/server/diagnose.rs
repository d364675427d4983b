//! Why a `redis-server` exited before it was ready, from its log tail.

use std::path::Path;

use super::addr::ServerAddr;
use crate::error::Param;

/// Directives redkeep writes itself and no setting controls: one of them
/// rejected means the binary is too old (or not a real `redis-server`).
const OWN_DIRECTIVES: &[&str] = &[
    "daemonize",
    "logfile",
    "protected-mode",
    "save",
    "appendonly",
    "unixsocketperm",
];

/// The cause of a failed start, as far as the log tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    AddressInUse,
    BadConfig,
    Permission,
    BadAddress,
    Version,
    Unknown,
}

impl Cause {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Cause::AddressInUse => "the address is already in use",
            Cause::BadConfig => "a configuration directive or argument was rejected",
            Cause::Permission => "permission denied",
            Cause::BadAddress => "the address cannot be bound",
            Cause::Version => "this redis-server version is not supported",
            Cause::Unknown => "see the log tail",
        }
    }
}

/// Classifies the log tail.
pub(crate) fn cause(tail: &str) -> Cause {
    let has = |s: &str| tail.contains(s);
    if has("Address already in use") {
        Cause::AddressInUse
    } else if has("Bad directive or wrong number of arguments")
        || has("FATAL CONFIG FILE ERROR")
        || has("Unrecognized option")
        || has("Invalid argument")
        || has("argument(s) must be one of")
    {
        let own = rejected_directive(tail).is_some_and(|d| OWN_DIRECTIVES.contains(&d));
        if own || has("wrong version") || has("unsupported") {
            Cause::Version
        } else {
            Cause::BadConfig
        }
    } else if has("Failed opening Unix socket") {
        Cause::BadAddress
    } else if has("Permission denied") || has("Can't chdir") || has("Can't open the log file") {
        Cause::Permission
    } else if has("Cannot assign requested address") || has("Could not create server TCP") {
        Cause::BadAddress
    } else if has("wrong version")
        || has("version") && (has("requires") || has("unsupported") || has("not supported"))
    {
        Cause::Version
    } else {
        Cause::Unknown
    }
}

/// The setting to look at for a failed start of a server at `addr`, when
/// the cause (and the directive the log quotes) points at one. `dir_set`:
/// whether the caller chose the data directory.
pub(crate) fn param(cause: Cause, tail: &str, addr: &ServerAddr, dir_set: bool) -> Option<Param> {
    match (cause, addr) {
        (Cause::AddressInUse | Cause::BadAddress, ServerAddr::Unix(_)) => {
            Some(Param::ServerUnixPath)
        }
        (Cause::AddressInUse, ServerAddr::Tcp { .. }) => Some(Param::ServerPort),
        (Cause::BadAddress, ServerAddr::Tcp { .. }) => Some(Param::ServerHost),
        (Cause::BadConfig, _) => Some(match rejected_directive(tail) {
            Some("dir") => Param::ServerDir,
            Some("bind") => Param::ServerHost,
            Some("port") => Param::ServerPort,
            Some("unixsocket") => Param::ServerUnixPath,
            Some("requirepass") => Param::ServerPassword,
            _ => Param::ServerArgs,
        }),
        (Cause::Version, _) => Some(Param::ServerBinary),
        (Cause::Permission, _) if dir_set => Some(Param::ServerDir),
        (Cause::Permission | Cause::Unknown, _) => None,
    }
}

/// The directive a `FATAL CONFIG FILE ERROR` quotes (`>>> 'dir "/x"'` → `dir`).
fn rejected_directive(tail: &str) -> Option<&str> {
    let quoted = tail.lines().find_map(|l| l.trim().strip_prefix(">>> '"))?;
    quoted.split([' ', '\'']).next().filter(|d| !d.is_empty())
}

/// The last `lines` lines of the log, with `secret` replaced by `***`.
pub(crate) fn tail(log: &Path, lines: usize, secret: Option<&str>) -> String {
    let text = match std::fs::read(log) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => return String::new(),
    };
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = all[all.len().saturating_sub(lines)..].join("\n");
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        out = out.replace(secret, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_common_failures() {
        assert_eq!(
            cause("# Warning: Could not create server TCP listening socket 127.0.0.1:6379: bind: Address already in use"),
            Cause::AddressInUse
        );
        assert_eq!(
            cause("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n>>> 'no-such-thing \"1\"'\nBad directive or wrong number of arguments"),
            Cause::BadConfig
        );
        assert_eq!(
            cause("Can't chdir to '/root/x': Permission denied"),
            Cause::Permission
        );
        assert_eq!(cause("something else"), Cause::Unknown);
        assert_eq!(
            cause("Failed opening Unix socket: bind: Permission denied"),
            Cause::BadAddress
        );
        assert_eq!(
            cause("*** FATAL CONFIG FILE ERROR (Redis 2.8) ***\n>>> 'protected-mode \"yes\"'\nBad directive or wrong number of arguments"),
            Cause::Version
        );
    }

    #[test]
    fn names_the_setting_the_log_points_at() {
        let tcp = ServerAddr::Tcp {
            host: "127.0.0.1".to_owned(),
            port: 6380,
        };
        let unix = ServerAddr::Unix(Some("/x/redis.sock".into()));
        let fatal = |directive: &str| {
            format!("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 7\n>>> '{directive}'\nNo such file or directory")
        };
        let p = |tail: &str, addr: &ServerAddr| param(cause(tail), tail, addr, false);
        assert_eq!(p(&fatal("dir \"/nope\""), &tcp), Some(Param::ServerDir));
        assert_eq!(
            p(&fatal("maxmemory \"bogus\""), &tcp),
            Some(Param::ServerArgs)
        );
        assert_eq!(p(&fatal("bind \"::2\""), &tcp), Some(Param::ServerHost));
        assert_eq!(p(&fatal("logfile \"\""), &tcp), Some(Param::ServerBinary));
        assert_eq!(
            p("bind: Address already in use", &tcp),
            Some(Param::ServerPort)
        );
        assert_eq!(
            p("bind: Address already in use", &unix),
            Some(Param::ServerUnixPath)
        );
        assert_eq!(
            p("Could not create server TCP listening socket 10.9.9.9:6999: bind: Cannot assign requested address", &tcp),
            Some(Param::ServerHost)
        );
        assert_eq!(
            p(
                "Failed opening Unix socket: bind: No such file or directory",
                &unix
            ),
            Some(Param::ServerUnixPath)
        );
        assert_eq!(
            param(Cause::Permission, "", &tcp, true),
            Some(Param::ServerDir)
        );
        assert_eq!(param(Cause::Permission, "", &tcp, false), None);
        assert_eq!(p("something else", &tcp), None);
    }
}
