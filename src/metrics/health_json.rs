//! The `/health` answer: a status code and a JSON body, decided here once
//! for the CLI and every binding.

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::health::{Health, State};

/// The `/health` answer for a pool named `pool`: `200` while
/// [`State::Up`], `503` otherwise, and a JSON object:
///
/// ```json
/// {"pool":"redis://127.0.0.1:6379","state":"up","since":"2025-01-02T03:04:05.678Z",
///  "for_seconds":12.5,"last_error":null,"rtt_seconds":0.000211,
///  "consecutive_failures":0,"generation":0,"restarts":0}
/// ```
///
/// `rtt_seconds` is the last successful probe's round trip (`null` before
/// one); `restarts` the restarts of a supervised local server (`null` if
/// there is none). The body never holds a password.
pub fn health_json(pool: &str, health: &Health, restarts: Option<u64>) -> (u16, String) {
    let status = if health.state == State::Up { 200 } else { 503 };
    let ago = health.since.elapsed();
    let since = SystemTime::now()
        .checked_sub(ago)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .unwrap_or_default();
    let mut b = String::with_capacity(256);
    b.push_str("{\"pool\":");
    string(&mut b, pool);
    let _ = write!(
        b,
        ",\"state\":\"{}\",\"since\":\"{}\"",
        health.state,
        rfc3339(since)
    );
    let _ = write!(b, ",\"for_seconds\":{:.3}", ago.as_secs_f64());
    b.push_str(",\"last_error\":");
    match &health.last_error {
        Some(e) => string(&mut b, e),
        None => b.push_str("null"),
    }
    match health.rtt {
        Some(rtt) => {
            let _ = write!(b, ",\"rtt_seconds\":{:.6}", rtt.as_secs_f64());
        }
        None => b.push_str(",\"rtt_seconds\":null"),
    }
    let _ = write!(
        b,
        ",\"consecutive_failures\":{},\"generation\":{}",
        health.consecutive_failures, health.generation
    );
    match restarts {
        Some(n) => {
            let _ = write!(b, ",\"restarts\":{n}");
        }
        None => b.push_str(",\"restarts\":null"),
    }
    b.push('}');
    (status, b)
}

/// A JSON string literal.
fn string(b: &mut String, s: &str) {
    b.push('"');
    for c in s.chars() {
        match c {
            '"' => b.push_str("\\\""),
            '\\' => b.push_str("\\\\"),
            '\n' => b.push_str("\\n"),
            '\r' => b.push_str("\\r"),
            '\t' => b.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(b, "\\u{:04x}", c as u32);
            }
            c => b.push(c),
        }
    }
    b.push('"');
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for a time since the Unix epoch (UTC).
fn rfc3339(t: Duration) -> String {
    let secs = t.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        t.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_escapes() {
        assert_eq!(rfc3339(Duration::ZERO), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339(Duration::from_millis(1_709_251_199_123)),
            "2024-02-29T23:59:59.123Z"
        );
        let mut s = String::new();
        string(&mut s, "a\"b\n\u{1}");
        assert_eq!(s, "\"a\\\"b\\n\\u0001\"");
    }

    #[test]
    fn up_is_200_and_anything_else_503() {
        let mut h = Health::starting();
        assert_eq!(health_json("p", &h, None).0, 503);
        h.state = State::Up;
        let (code, body) = health_json("p", &h, Some(2));
        assert_eq!(code, 200);
        assert!(body.contains("\"state\":\"up\""), "{body}");
        assert!(body.contains("\"restarts\":2"), "{body}");
    }
}
