//! The Windows SCM definition of a service, as plain data (so it is tested
//! on every platform; `windows.rs` hands it to the SCM).
#![cfg_attr(not(windows), allow(dead_code))]

use std::time::Duration;

use super::{Definition, RESTART_DELAY, START_LIMIT_BURST, START_LIMIT_INTERVAL};

/// What `redkeep service install` registers with the SCM.
#[derive(Debug, PartialEq)]
pub(crate) struct ScmService {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) description: String,
    /// The executable and its arguments: `redkeep.exe service run --name N ensure ...`.
    pub(crate) executable: std::path::PathBuf,
    pub(crate) arguments: Vec<String>,
    /// Started at boot.
    pub(crate) auto_start: bool,
    /// Recovery actions: a restart after each delay (the first
    /// `START_LIMIT_BURST` failures), then none (the SCM gives up).
    pub(crate) restarts: Vec<Duration>,
    /// The failure count is reset after this long without a failure.
    pub(crate) reset_period: Duration,
    /// The stop-pending wait hint: how long a stop may take.
    pub(crate) stop_wait_hint: Duration,
}

/// The SCM definition of `d` (`d.user` has no meaning on Windows).
pub(crate) fn scm_service(d: &Definition) -> ScmService {
    let mut arguments = vec![
        "service".to_owned(),
        "run".to_owned(),
        "--name".to_owned(),
        d.name.clone(),
    ];
    // `d.args` starts with `ensure`; `service run` takes the options after it.
    arguments.extend(d.args.iter().skip(1).cloned());
    ScmService {
        name: d.name.clone(),
        display_name: format!("Redis (redkeep: {})", d.name),
        description: "A local Redis supervised by redkeep: restarted on failure, \
                      stopped gracefully (SHUTDOWN)."
            .to_owned(),
        executable: d.program.clone(),
        arguments,
        auto_start: true,
        restarts: (0..START_LIMIT_BURST)
            .map(|i| RESTART_DELAY * 2u32.pow(i.min(4)))
            .collect(),
        reset_period: START_LIMIT_INTERVAL,
        stop_wait_hint: d.manager_stop_timeout(),
    }
}

/// Event Log messages (source "redkeep"), one per event the service reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Started,
    Restarted,
    GaveUp,
    Stopped,
}

impl Event {
    /// The event id (also the message's number).
    pub(crate) fn id(self) -> u32 {
        match self {
            Event::Started => 1,
            Event::Restarted => 2,
            Event::GaveUp => 3,
            Event::Stopped => 4,
        }
    }

    /// Whether it is an error (else information).
    pub(crate) fn is_error(self) -> bool {
        self == Event::GaveUp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scm_definition_restarts_within_limits_and_waits_for_the_graceful_stop() {
        let mut d = super::super::tests::sample();
        d.program = "C:\\redkeep\\redkeep.exe".into();
        let s = scm_service(&d);
        assert_eq!(s.name, "redkeep");
        assert_eq!(
            s.arguments,
            [
                "service",
                "run",
                "--name",
                "redkeep",
                "--port",
                "6380",
                "--persist",
                "--dir",
                "/var/lib/my redis"
            ]
            .map(String::from)
        );
        assert_eq!(s.restarts.len(), 5);
        assert_eq!(s.restarts[0], Duration::from_secs(1));
        assert_eq!(s.restarts[4], Duration::from_secs(16));
        assert_eq!(s.reset_period, Duration::from_secs(60));
        assert_eq!(s.stop_wait_hint, Duration::from_secs(15));
        assert!(s.auto_start);
        assert_eq!(Event::GaveUp.id(), 3);
        assert!(Event::GaveUp.is_error() && !Event::Restarted.is_error());
    }
}
