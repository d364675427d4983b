//! Finding the server binary: `redis-server`, or `valkey-server`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Param, Result};

/// The environment variable naming the binary when the config does not.
pub(crate) const ENV_VAR: &str = "REDKEEP_REDIS_SERVER";

/// The names looked for on `PATH`, in order: every `PATH` directory is
/// searched for the first name before the second is tried.
const NAMES: [&str; 2] = if cfg!(windows) {
    ["redis-server.exe", "valkey-server.exe"]
} else {
    ["redis-server", "valkey-server"]
};

const INSTALL_HINT: &str = "install one (Debian/Ubuntu: `apt-get install redis-server` \
     or `apt-get install valkey-server`, macOS: `brew install redis` or `brew install valkey`, \
     Fedora: `dnf install redis` or `dnf install valkey`) or point \
     ServerConfig::binary or REDKEEP_REDIS_SERVER at it";

/// `ServerConfig::binary`, else `$REDKEEP_REDIS_SERVER`, else
/// `redis-server` on `PATH`, else `valkey-server` on `PATH`. The error
/// says where it looked and how to install one, and is marked with
/// [`Param::ServerBinary`] (every message names `ServerConfig::binary`).
pub(crate) fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    locate_in(
        explicit,
        std::env::var_os(ENV_VAR),
        std::env::var_os("PATH"),
    )
}

/// [`locate`] with the environment given: the value of
/// `REDKEEP_REDIS_SERVER` and of `PATH` (an empty value counts as unset).
pub(crate) fn locate_in(
    explicit: Option<&Path>,
    env_value: Option<OsString>,
    path_var: Option<OsString>,
) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return check(path).ok_or_else(|| {
            not_found(format!(
                "ServerConfig::binary is {} and it {}",
                path.display(),
                why_not(path)
            ))
        });
    }
    if let Some(value) = env_value.filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        return check(&path).ok_or_else(|| {
            not_found(format!(
                "{ENV_VAR} is {} and it {}",
                path.display(),
                why_not(&path)
            ))
        });
    }
    let path_var = path_var.unwrap_or_default();
    for name in NAMES {
        for dir in std::env::split_paths(&path_var) {
            if let Some(found) = check(&dir.join(name)) {
                return Ok(found);
            }
        }
    }
    Err(not_found(format!(
        "looked at ServerConfig::binary (not set), {ENV_VAR} (not set), \
         then for `{}` and `{}` on PATH ({}): none there",
        NAMES[0],
        NAMES[1],
        path_var.to_string_lossy()
    )))
}

fn not_found(looked: String) -> Error {
    Error::new(
        ErrorKind::Spawn,
        format!("redis-server not found: {looked}; {INSTALL_HINT}"),
    )
    .with_param(Param::ServerBinary)
}

fn check(path: &Path) -> Option<PathBuf> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return None;
        }
    }
    Some(path.to_path_buf())
}

fn why_not(path: &Path) -> &'static str {
    match std::fs::metadata(path) {
        Err(_) => "does not exist",
        Ok(m) if !m.is_file() => "is not a file",
        Ok(_) => "is not executable",
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::error::Language;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let path = std::env::temp_dir()
                .join(format!("redkeep-binary-test-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir(&path).expect("create temp dir");
            Self(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// An executable file (a script; only its name and mode matter here).
    fn executable(dir: &Path, name: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    #[test]
    fn valkey_server_on_path_is_found_when_redis_server_is_not() {
        let dir = TempDir::new("valkey-only");
        let valkey = executable(&dir.0, "valkey-server");
        let found = locate_in(None, None, Some(dir.0.clone().into())).expect("found");
        assert_eq!(found, valkey);
    }

    #[test]
    fn redis_server_anywhere_on_path_comes_before_valkey_server() {
        let first = TempDir::new("first");
        let second = TempDir::new("second");
        executable(&first.0, "valkey-server");
        let redis = executable(&second.0, "redis-server");
        let path = std::env::join_paths([&first.0, &second.0]).expect("join");
        assert_eq!(locate_in(None, None, Some(path)).expect("found"), redis);
    }

    #[test]
    fn the_env_var_comes_before_path_and_the_config_before_both() {
        let dir = TempDir::new("order");
        let on_path = executable(&dir.0, "redis-server");
        let from_env = executable(&dir.0, "from-env");
        let explicit = executable(&dir.0, "explicit");
        let path = Some(OsString::from(&dir.0));
        let env = Some(from_env.clone().into_os_string());
        assert_eq!(
            locate_in(None, env.clone(), path.clone()).expect("env"),
            from_env
        );
        assert_eq!(
            locate_in(Some(&explicit), env, path.clone()).expect("explicit"),
            explicit
        );
        // An empty variable counts as unset.
        assert_eq!(
            locate_in(None, Some(OsString::new()), path).expect("path"),
            on_path
        );
    }

    #[test]
    fn a_non_executable_file_is_skipped_on_path_and_refused_when_named() {
        let dir = TempDir::new("noexec");
        let plain = dir.0.join("redis-server");
        std::fs::write(&plain, "").expect("write");
        let e = locate_in(None, None, Some(dir.0.clone().into())).expect_err("skipped");
        assert_eq!(e.param(), Some(Param::ServerBinary));
        let e = locate_in(Some(&plain), None, None).expect_err("refused");
        assert!(e.message().contains("is not executable"), "{e}");
    }

    #[test]
    fn not_found_names_the_four_places_and_both_servers_install_commands() {
        let dir = TempDir::new("empty");
        let e = locate_in(None, None, Some(dir.0.clone().into())).expect_err("none");
        assert_eq!(e.kind(), ErrorKind::Spawn);
        assert_eq!(e.param(), Some(Param::ServerBinary));
        let msg = e.message();
        for needle in [
            "ServerConfig::binary (not set)",
            "REDKEEP_REDIS_SERVER (not set)",
            "`redis-server` and `valkey-server` on PATH",
            &dir.0.display().to_string(),
            "apt-get install redis-server",
            "apt-get install valkey-server",
            "brew install redis",
            "brew install valkey",
            "dnf install redis",
            "dnf install valkey",
        ] {
            assert!(msg.contains(needle), "missing {needle:?} in: {msg}");
        }
        let cli = e.message_in(Language::Cli);
        assert!(cli.contains("--redis-server (not set)"), "{cli}");
        assert!(!cli.contains("ServerConfig::binary"), "{cli}");
        let go = e.message_in(Language::Go);
        assert!(go.contains("ServerOptions.Binary (not set)"), "{go}");
    }
}
