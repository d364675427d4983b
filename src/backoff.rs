//! The reconnect schedule: exponential, capped, with jitter.

use std::time::Duration;

use crate::error::{Error, Param, Result};

/// How long to wait between reconnect attempts while Redis is down.
///
/// Attempt `n` (from 0) waits
///
/// ```text
/// base(n)  = min(initial × multiplier^n, max)
/// delay(n) = max(1 ms, base(n) × (1 − jitter × u)),   u uniform in [0, 1)
/// ```
///
/// so a delay is never zero, never above `max`, and the un-jittered base
/// never decreases. Jitter only shortens a wait, which spreads the attempts
/// of many processes apart without ever delaying recovery past `max`.
/// The base schedule comes from the `backon` crate.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// The first delay.
    ///
    /// Default: 50 ms.
    pub initial: Duration,
    /// The largest delay.
    ///
    /// Default: 2 s.
    pub max: Duration,
    /// Growth factor from one delay to the next (at least 1).
    ///
    /// Default: `2.0`.
    pub multiplier: f64,
    /// The fraction of each delay that is random, in `[0, 1]`.
    ///
    /// Default: `0.5`.
    pub jitter: f64,
    /// Stop reconnecting after this much time in a row without success, and
    /// stay `Down` for good. `None` keeps trying for as long as the pool lives.
    ///
    /// Default: `None`.
    pub max_elapsed: Option<Duration>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(2),
            multiplier: 2.0,
            jitter: 0.5,
            max_elapsed: None,
        }
    }
}

impl Backoff {
    /// Checks the numbers: `initial > 0`, `max >= initial`,
    /// `multiplier >= 1`, `jitter` in `[0, 1]`.
    ///
    /// The message names the field (`backoff.initial`, ...); the error is
    /// not marked with a [`Param`], as a `Backoff` may be a pool's
    /// reconnect schedule or a server's restart schedule.
    /// [`Config::validate`](crate::Config::validate) marks it.
    pub fn validate(&self) -> Result<()> {
        match self.problem() {
            None => Ok(()),
            Some((message, _)) => Err(Error::config(message)),
        }
    }

    /// [`Backoff::validate`] for a pool's reconnect schedule
    /// ([`Config::backoff`](crate::Config::backoff)), the error marked with
    /// the pool's [`Param`]s.
    pub(crate) fn validate_reconnect(&self) -> Result<()> {
        match self.problem() {
            None => Ok(()),
            Some((message, (param, also))) => {
                let e = Error::config(message).with_param(param);
                Err(also.into_iter().fold(e, Error::also_naming))
            }
        }
    }

    /// What is wrong, if anything: a message naming fields the Rust way,
    /// the param it is about and another one it names.
    fn problem(&self) -> Option<(&'static str, (Param, Option<Param>))> {
        if self.initial.is_zero() {
            let message = "backoff.initial must be greater than zero";
            return Some((message, (Param::BackoffInitial, None)));
        }
        if self.max < self.initial {
            let message = "backoff.max must be at least backoff.initial";
            return Some((message, (Param::BackoffMax, Some(Param::BackoffInitial))));
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            let message = "backoff.multiplier must be a finite number >= 1";
            return Some((message, (Param::BackoffMultiplier, None)));
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            let message = "backoff.jitter must be within [0, 1]";
            return Some((message, (Param::BackoffJitter, None)));
        }
        None
    }

    /// The un-jittered delays, starting with `initial`. Endless.
    pub fn base_schedule(&self) -> impl Iterator<Item = Duration> {
        use backon::BackoffBuilder;
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial)
            .with_max_delay(self.max)
            .with_factor(self.multiplier as f32)
            .without_max_times()
            .build()
            // backon multiplies in `f32`: a step may land a hair off the
            // cap, or a few nanoseconds below the one before (multiplier
            // 1.0). Clamp to `max` and keep the schedule non-decreasing.
            .scan(Duration::ZERO, {
                let max = self.max;
                move |previous, d| {
                    *previous = d.min(max).max(*previous);
                    Some(*previous)
                }
            })
    }

    /// The jittered delays, starting near `initial`. Endless.
    pub fn schedule(&self) -> impl Iterator<Item = Duration> {
        let jitter = self.jitter;
        self.base_schedule()
            .map(move |base| apply_jitter(base, jitter, fastrand::f64()))
    }
}

/// `base × (1 − jitter × u)`, never below 1 ms (or `base` if that is smaller).
pub(crate) fn apply_jitter(base: Duration, jitter: f64, u: f64) -> Duration {
    let factor = 1.0 - jitter.clamp(0.0, 1.0) * u.clamp(0.0, 1.0);
    let floor = base.min(Duration::from_millis(1));
    base.mul_f64(factor).max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_doubles_to_the_cap() {
        let got: Vec<u128> = Backoff::default()
            .base_schedule()
            .take(8)
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(got, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
    }

    #[test]
    fn validation_catches_nonsense() {
        let b = Backoff {
            jitter: 1.5,
            ..Backoff::default()
        };
        assert!(b.validate().is_err());
        let b = Backoff {
            multiplier: 0.5,
            ..Backoff::default()
        };
        assert!(b.validate().is_err());
    }
}
