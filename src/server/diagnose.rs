//! Why a `redis-server` exited before it was ready, from its log tail.

use std::path::Path;

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
        if has("wrong version") || has("unsupported") {
            Cause::Version
        } else {
            Cause::BadConfig
        }
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
    }
}
