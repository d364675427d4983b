//! Polling until a deployment reaches a state, with a deadline.

use std::time::{Duration, Instant};

use super::error;
use crate::error::Result;

/// Time between two checks.
const POLL: Duration = Duration::from_millis(10);

/// Calls `check` until it returns `Ok`, or `timeout` passes; the timeout
/// error says `what` was awaited and the last reason `check` gave for not
/// being there yet.
pub(super) fn until<T>(
    timeout: Duration,
    what: &str,
    mut check: impl FnMut() -> std::result::Result<T, String>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        let reason = match check() {
            Ok(v) => return Ok(v),
            Err(reason) => reason,
        };
        if Instant::now() >= deadline {
            return Err(error(format!(
                "{what}: not done within {} (last: {reason})",
                crate::util::fmt_duration(timeout)
            )));
        }
        std::thread::sleep(POLL);
    }
}
