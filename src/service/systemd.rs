//! Linux: a systemd unit (system, or `--user`).
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::path::PathBuf;
use std::process::ExitCode;

use super::{Definition, RESTART_DELAY, START_LIMIT_BURST, START_LIMIT_INTERVAL};

/// The unit file's text.
pub(crate) fn unit(d: &Definition) -> String {
    let target = if d.user {
        "default.target"
    } else {
        "multi-user.target"
    };
    // `%` starts a specifier in unit files.
    let exec = d.command_line().replace('%', "%%");
    format!(
        "# Written by `redkeep service install`; remove with `redkeep service uninstall`.
[Unit]
Description=Redis supervised by redkeep ({name})
After=network.target
StartLimitIntervalSec={interval}
StartLimitBurst={burst}

[Service]
Type=simple
ExecStart={exec}
Restart=on-failure
RestartSec={restart}
# redkeep stops Redis gracefully on SIGTERM (SHUTDOWN, SAVE with --persist)
# and kills it after its --stop-timeout; systemd waits a little longer.
KillMode=mixed
TimeoutStopSec={stop}

[Install]
WantedBy={target}
",
        name = d.name,
        interval = START_LIMIT_INTERVAL.as_secs(),
        burst = START_LIMIT_BURST,
        restart = RESTART_DELAY.as_secs(),
        stop = d.manager_stop_timeout().as_secs(),
    )
}

/// Where the unit goes.
pub(crate) fn unit_path(name: &str, user: bool) -> Result<PathBuf, String> {
    let dir = if user {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .ok_or("--user: neither XDG_CONFIG_HOME nor HOME is set")?;
        config.join("systemd/user")
    } else {
        PathBuf::from("/etc/systemd/system")
    };
    Ok(dir.join(format!("{name}.service")))
}

fn systemctl(user: bool, args: &[&str]) -> Result<ExitCode, String> {
    let mut all = Vec::new();
    if user {
        all.push("--user");
    }
    all.extend_from_slice(args);
    super::exec("systemctl", &all)
}

pub(crate) fn install(d: &Definition, dry_run: bool) -> Result<ExitCode, String> {
    let path = unit_path(&d.name, d.user)?;
    let text = unit(d);
    let unit_name = format!("{}.service", d.name);
    let scope = if d.user { "--user " } else { "" };
    if dry_run {
        println!("# would write {}\n{text}", path.display());
        println!("# then: systemctl {scope}daemon-reload && systemctl {scope}enable {unit_name}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("redkeep: wrote {}", path.display());
    systemctl(d.user, &["daemon-reload"])?;
    systemctl(d.user, &["enable", &unit_name])
}

pub(crate) fn uninstall(name: &str, user: bool) -> Result<ExitCode, String> {
    let unit_name = format!("{name}.service");
    // A graceful stop first (ExecStop is redkeep's SIGTERM handling).
    let _ = systemctl(user, &["disable", "--now", &unit_name]);
    let path = unit_path(name, user)?;
    match std::fs::remove_file(&path) {
        Ok(()) => println!("redkeep: removed {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
    }
    systemctl(user, &["daemon-reload"])
}

pub(crate) fn control(name: &str, user: bool, verb: &str) -> Result<ExitCode, String> {
    let unit_name = format!("{name}.service");
    let mut args = vec![verb, unit_name.as_str()];
    if verb == "status" {
        args.push("--no-pager");
    }
    systemctl(user, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_restarts_on_failure_within_limits_and_stops_gracefully() {
        let u = unit(&super::super::tests::sample());
        for line in [
            "Restart=on-failure",
            "StartLimitIntervalSec=60",
            "StartLimitBurst=5",
            "TimeoutStopSec=15",
            "KillMode=mixed",
            "WantedBy=multi-user.target",
            "ExecStart=/usr/local/bin/redkeep ensure --port 6380 --persist --dir \"/var/lib/my redis\"",
        ] {
            assert!(u.lines().any(|l| l == line), "missing {line:?} in\n{u}");
        }
        // Start limits belong to [Unit] (systemd ignores them in [Service]).
        let unit_section = &u[..u.find("[Service]").expect("service section")];
        assert!(unit_section.contains("StartLimitBurst="), "{u}");
    }

    #[test]
    fn a_user_unit_goes_to_the_users_config() {
        let mut d = super::super::tests::sample();
        d.user = true;
        assert!(unit(&d).contains("WantedBy=default.target"));
        let p = unit_path("cache", true).expect("path");
        assert!(p.ends_with("systemd/user/cache.service"), "{}", p.display());
        assert_eq!(
            unit_path("cache", false).expect("path"),
            PathBuf::from("/etc/systemd/system/cache.service")
        );
    }

    #[test]
    fn percent_signs_are_escaped() {
        let mut d = super::super::tests::sample();
        d.args = vec!["ensure".into(), "--dir".into(), "/data/100%".into()];
        assert!(unit(&d).contains("/data/100%%"));
    }
}
