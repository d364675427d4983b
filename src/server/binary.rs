//! Finding the `redis-server` binary.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Param, Result};

/// The environment variable naming the binary when the config does not.
pub(crate) const ENV_VAR: &str = "REDKEEP_REDIS_SERVER";

const INSTALL_HINT: &str = "install one (Debian/Ubuntu: `apt-get install redis-server`, \
     macOS: `brew install redis`, Fedora: `dnf install redis`) or point \
     ServerConfig::binary or REDKEEP_REDIS_SERVER at it";

/// Explicit path, else `$REDKEEP_REDIS_SERVER`, else `redis-server` on `PATH`.
/// The error says where it looked and how to install one, and is marked
/// with [`Param::ServerBinary`] (every message names `ServerConfig::binary`).
pub(crate) fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return check(path).ok_or_else(|| {
            Error::new(
                ErrorKind::Spawn,
                format!(
                    "redis-server not found: ServerConfig::binary is {} and it {}; {INSTALL_HINT}",
                    path.display(),
                    why_not(path)
                ),
            )
            .with_param(Param::ServerBinary)
        });
    }
    let from_env = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty());
    if let Some(value) = &from_env {
        let path = PathBuf::from(value);
        return check(&path).ok_or_else(|| {
            Error::new(
                ErrorKind::Spawn,
                format!(
                    "redis-server not found: {ENV_VAR} is {} and it {}; {INSTALL_HINT}",
                    path.display(),
                    why_not(&path)
                ),
            )
            .with_param(Param::ServerBinary)
        });
    }
    let name = if cfg!(windows) {
        "redis-server.exe"
    } else {
        "redis-server"
    };
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path_var) {
        if let Some(found) = check(&dir.join(name)) {
            return Ok(found);
        }
    }
    Err(Error::new(
        ErrorKind::Spawn,
        format!(
            "redis-server not found: no ServerConfig::binary, {ENV_VAR} is not set, \
             and there is no `{name}` on PATH ({}); {INSTALL_HINT}",
            std::env::var("PATH").unwrap_or_default()
        ),
    )
    .with_param(Param::ServerBinary))
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
