//! macOS: a launchd plist (a LaunchAgent with `--user`, else a LaunchDaemon).
#![cfg_attr(not(target_os = "macos"), allow(dead_code))]

use std::path::PathBuf;
#[cfg(target_os = "macos")]
use std::process::ExitCode;

use super::{Definition, START_LIMIT_INTERVAL};

/// The job's label.
pub(crate) fn label(name: &str) -> String {
    format!("dev.redkeep.{name}")
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The plist's text. launchd keeps the job alive after a failure
/// (`KeepAlive` / `SuccessfulExit` false: a clean stop stays stopped), at
/// most once per `ThrottleInterval`, and waits `ExitTimeOut` after SIGTERM
/// (redkeep's graceful stop) before SIGKILL.
pub(crate) fn plist(d: &Definition) -> String {
    let mut args = format!(
        "        <string>{}</string>\n",
        xml(&d.program.to_string_lossy())
    );
    for a in &d.args {
        args.push_str(&format!("        <string>{}</string>\n", xml(a)));
    }
    let log = log_path(&d.name, d.user);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>Label</key>
    <string>{label}</string>
    <key>ProgramArguments</key>
    <array>
{args}    </array>
    <key>RunAtLoad</key>
    <true/>
    <key>KeepAlive</key>
    <dict>
        <key>SuccessfulExit</key>
        <false/>
    </dict>
    <key>ThrottleInterval</key>
    <integer>{throttle}</integer>
    <key>ExitTimeOut</key>
    <integer>{exit}</integer>
    <key>StandardErrorPath</key>
    <string>{log}</string>
    <key>StandardOutPath</key>
    <string>{log}</string>
</dict>
</plist>
"#,
        label = xml(&label(&d.name)),
        // launchd has no burst limit: one restart per interval/burst.
        throttle = START_LIMIT_INTERVAL.as_secs() / u64::from(super::START_LIMIT_BURST),
        exit = d.manager_stop_timeout().as_secs(),
        log = xml(&log.to_string_lossy()),
    )
}

fn log_path(name: &str, user: bool) -> PathBuf {
    if user {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        home.join(format!("Library/Logs/redkeep-{name}.log"))
    } else {
        PathBuf::from(format!("/Library/Logs/redkeep-{name}.log"))
    }
}

/// Where the plist goes.
pub(crate) fn plist_path(name: &str, user: bool) -> Result<PathBuf, String> {
    let file = format!("{}.plist", label(name));
    if user {
        let home = std::env::var_os("HOME").ok_or("--user: HOME is not set")?;
        Ok(PathBuf::from(home).join("Library/LaunchAgents").join(file))
    } else {
        Ok(PathBuf::from("/Library/LaunchDaemons").join(file))
    }
}

#[cfg(target_os = "macos")]
pub(crate) fn install(d: &Definition, dry_run: bool) -> Result<ExitCode, String> {
    let path = plist_path(&d.name, d.user)?;
    let text = plist(d);
    if dry_run {
        println!("<!-- would write {} -->\n{text}", path.display());
        println!("<!-- then: launchctl load -w {} -->", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("redkeep: wrote {}", path.display());
    super::exec("launchctl", &["load", "-w", &path.to_string_lossy()])
}

#[cfg(target_os = "macos")]
pub(crate) fn uninstall(name: &str, user: bool) -> Result<ExitCode, String> {
    let path = plist_path(name, user)?;
    let _ = super::exec("launchctl", &["unload", "-w", &path.to_string_lossy()]);
    match std::fs::remove_file(&path) {
        Ok(()) => println!("redkeep: removed {}", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove {}: {e}", path.display())),
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(target_os = "macos")]
pub(crate) fn control(name: &str, _user: bool, verb: &str) -> Result<ExitCode, String> {
    let label = label(name);
    match verb {
        "status" => super::exec("launchctl", &["list", &label]),
        verb => super::exec("launchctl", &[verb, &label]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plist_keeps_the_job_alive_throttled_with_an_exit_timeout() {
        let p = plist(&super::super::tests::sample());
        for needle in [
            "<key>Label</key>\n    <string>dev.redkeep.redkeep</string>",
            "<key>KeepAlive</key>\n    <dict>\n        <key>SuccessfulExit</key>\n        <false/>",
            "<key>ThrottleInterval</key>\n    <integer>12</integer>",
            "<key>ExitTimeOut</key>\n    <integer>15</integer>",
            "<string>/usr/local/bin/redkeep</string>\n        <string>ensure</string>",
            "<string>/var/lib/my redis</string>",
        ] {
            assert!(p.contains(needle), "missing {needle:?} in\n{p}");
        }
        // Well-formed enough: every <dict>/<array> closes.
        assert_eq!(p.matches("<dict>").count(), p.matches("</dict>").count());
        assert_eq!(p.matches("<array>").count(), p.matches("</array>").count());
    }

    #[test]
    fn xml_special_characters_are_escaped() {
        let mut d = super::super::tests::sample();
        d.args = vec!["ensure".into(), "--dir".into(), "/a&b<c>".into()];
        assert!(plist(&d).contains("<string>/a&amp;b&lt;c&gt;</string>"));
        assert!(plist_path("x", false)
            .expect("path")
            .ends_with("LaunchDaemons/dev.redkeep.x.plist"));
    }
}
