//! Small helpers shared by the modules.

use std::time::Duration;

/// Formats a duration for messages: `250ms`, `1.5s`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Replaces the password of a `scheme://user:password@host` URL, and the
/// value of a `pass=`/`password=` query parameter (`redis+unix://` URLs carry
/// it there), with `***`.
///
/// Errs on the side of hiding: a malformed URL whose password holds an
/// unescaped `/`, `?` or `#` is still cut at its last `@`, and a URL with no
/// `://` is redacted the same way.
pub(crate) fn redact_url(url: &str) -> String {
    let (prefix, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    // The userinfo ends at the last `@` before the query, or at the last `@`
    // at all if the password itself holds an unescaped `?` or `#`.
    let query_start = rest.find(['?', '#']).unwrap_or(rest.len());
    let at = rest[..query_start].rfind('@').or_else(|| rest.rfind('@'));
    let mut out = String::with_capacity(url.len());
    out.push_str(prefix);
    let after = match at {
        Some(at) => {
            let userinfo = &rest[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                None if userinfo.is_empty() => {}
                // `redis://secret@host` puts the password where the user goes.
                None => out.push_str("***"),
            }
            &rest[at..]
        }
        None => rest,
    };
    match after.find('?') {
        Some(q) => {
            out.push_str(&after[..=q]);
            let pairs: Vec<String> = after[q + 1..]
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if is_secret_param(key) => format!("{key}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
        }
        None => out.push_str(after),
    }
    out
}

fn is_secret_param(key: &str) -> bool {
    key.eq_ignore_ascii_case("pass")
        || key.eq_ignore_ascii_case("password")
        || key.eq_ignore_ascii_case("sentinel_password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(redact_url("redis://u:pw@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redact_url("redis://:pw@h"), "redis://:***@h");
        assert_eq!(redact_url("redis://pw@h"), "redis://***@h");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        assert_eq!(
            redact_url("redis+unix:///tmp/s?db=1&pass=x&user=u"),
            "redis+unix:///tmp/s?db=1&pass=***&user=u"
        );
        assert_eq!(redact_url("redis://u:p/w@h"), "redis://u:***@h");
        assert_eq!(redact_url("redis://u:p?w@h/0"), "redis://u:***@h/0");
        assert_eq!(redact_url("u:pw@h"), "u:***@h");
        assert_eq!(
            redact_url("redis+sentinel://:m@h:1,h:2/mm?sentinel_password=s"),
            "redis+sentinel://:***@h:1,h:2/mm?sentinel_password=***"
        );
    }
}
