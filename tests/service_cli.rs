//! `redkeep service install --dry-run` on Linux: the systemd unit it would
//! write is accepted by `systemd-analyze verify` (when systemd-analyze is
//! installed; the unit's content is checked either way), and bad input is a
//! clear error.
#![cfg(all(target_os = "linux", feature = "cli"))]

use std::process::Command;

fn redkeep() -> Command {
    Command::new(env!("CARGO_BIN_EXE_redkeep"))
}

/// The unit text from a dry run (without the "would write" / "then" notes).
fn dry_run_unit(args: &[&str]) -> (String, String) {
    let out = redkeep()
        .args(["service", "install", "--dry-run"])
        .args(args)
        .output()
        .expect("run redkeep");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let first = text.lines().next().expect("a first line").to_owned();
    let unit: String = text
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("# then:"))
        .map(|l| format!("{l}\n"))
        .collect();
    (first, unit)
}

#[test]
fn the_dry_run_unit_passes_systemd_analyze_verify() {
    let (first, unit) = dry_run_unit(&[
        "--name",
        "redkeep-verify",
        "--port",
        "6390",
        "--persist",
        "--stop-timeout",
        "20",
        "--",
        "--maxmemory",
        "64mb",
    ]);
    assert_eq!(
        first,
        "# would write /etc/systemd/system/redkeep-verify.service"
    );
    let exec = format!(
        "ExecStart={} ensure --port 6390 --persist --stop-timeout 20 -- --maxmemory 64mb",
        env!("CARGO_BIN_EXE_redkeep")
    );
    for line in [
        exec.as_str(),
        "Restart=on-failure",
        "StartLimitIntervalSec=60",
        "StartLimitBurst=5",
        "TimeoutStopSec=25",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing {line:?}:\n{unit}");
    }
    let analyze = Command::new("systemd-analyze").arg("--version").output();
    if !analyze.is_ok_and(|o| o.status.success()) {
        eprintln!("NOTICE: systemd-analyze is not installed; the unit's content was checked only");
        return;
    }
    let dir = std::env::temp_dir().join(format!("redkeep-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("redkeep-verify.service");
    std::fs::write(&path, &unit).expect("write the unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze verify");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("redkeep-verify.service:"),
        "systemd-analyze verify refused the unit:\n{stderr}\n{unit}"
    );
}

#[test]
fn a_user_unit_and_bad_input() {
    let (first, unit) = dry_run_unit(&["--user", "--name", "cache"]);
    assert!(first.ends_with("systemd/user/cache.service"), "{first}");
    assert!(unit.contains("WantedBy=default.target"), "{unit}");
    for (args, says) in [
        (&["install", "--password", "pw"][..], "REDKEEP_PASSWORD"),
        (&["install", "--dry-run", "--port", "x"][..], "--port"),
        (&["install", "--dry-run", "--guard", "nope"][..], "--guard"),
        (&["frobnicate"][..], "unknown service command"),
        (&["status", "--port", "1"][..], "unknown option"),
    ] {
        let out = redkeep().arg("service").args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
