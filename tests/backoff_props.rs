//! Properties of the reconnect schedule over arbitrary valid `Backoff`s.

use std::time::Duration;

use proptest::prelude::*;
use redkeep::Backoff;

fn backoff() -> impl Strategy<Value = Backoff> {
    (
        1u64..5_000_000,                                         // initial, µs (up to 5 s)
        0u64..60_000_000,                                        // max − initial, µs
        1.0f64..10.0,                                            // multiplier
        0.0f64..=1.0,                                            // jitter
        prop_oneof![Just(1.0f64), Just(2.0f64), 1.0f64..1.0001], // edge multipliers
        any::<bool>(),
    )
        .prop_map(
            |(initial, extra, multiplier, jitter, edge, use_edge)| Backoff {
                initial: Duration::from_micros(initial),
                max: Duration::from_micros(initial + extra),
                multiplier: if use_edge { edge } else { multiplier },
                jitter,
                max_elapsed: None,
            },
        )
}

const STEPS: usize = 64;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_backoffs_are_valid(b in backoff()) {
        prop_assert!(b.validate().is_ok(), "{b:?}");
    }

    #[test]
    fn the_base_schedule_starts_at_initial_and_never_decreases_up_to_max(b in backoff()) {
        let base: Vec<Duration> = b.base_schedule().take(STEPS).collect();
        prop_assert_eq!(base.len(), STEPS, "the schedule is endless");
        prop_assert_eq!(base[0], b.initial);
        for pair in base.windows(2) {
            prop_assert!(pair[1] >= pair[0], "decreased: {:?} -> {:?} for {:?}", pair[0], pair[1], b);
        }
        for d in &base {
            prop_assert!(*d <= b.max, "{d:?} above max for {b:?}");
            prop_assert!(!d.is_zero());
        }
    }

    #[test]
    fn the_base_schedule_reaches_max_when_it_grows(b in backoff()) {
        prop_assume!(b.multiplier >= 1.5);
        // initial × 1.5^n ≥ max within 64 steps for any max ≤ 65 s ≥ 1 µs × 1.5^44.
        let last = b.base_schedule().nth(STEPS - 1).unwrap();
        prop_assert_eq!(last, b.max, "{:?}", b);
    }

    #[test]
    fn jittered_delays_stay_within_bounds(b in backoff()) {
        let base: Vec<Duration> = b.base_schedule().take(STEPS).collect();
        let jittered: Vec<Duration> = b.schedule().take(STEPS).collect();
        for (base, delay) in base.iter().zip(&jittered) {
            // base × (1 − jitter), computed the same way, minus rounding.
            let low = base.mul_f64(1.0 - b.jitter).saturating_sub(Duration::from_nanos(2));
            let floor = (*base).min(Duration::from_millis(1));
            prop_assert!(*delay >= low, "{delay:?} below {low:?} for base {base:?}, {b:?}");
            prop_assert!(*delay >= floor, "{delay:?} below the 1 ms floor, {b:?}");
            prop_assert!(*delay <= *base, "{delay:?} above its base {base:?}, {b:?}");
            prop_assert!(*delay <= b.max, "{delay:?} above max, {b:?}");
            prop_assert!(!delay.is_zero(), "a zero delay for {b:?}");
        }
    }

    #[test]
    fn full_jitter_never_reaches_zero(initial_us in 1u64..10_000, max_extra in 0u64..10_000) {
        let b = Backoff {
            initial: Duration::from_micros(initial_us),
            max: Duration::from_micros(initial_us + max_extra),
            multiplier: 2.0,
            jitter: 1.0,
            max_elapsed: None,
        };
        for delay in b.schedule().take(STEPS) {
            prop_assert!(!delay.is_zero());
        }
    }
}
