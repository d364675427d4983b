//! Properties of URL parsing and redaction over arbitrary addresses and
//! credentials.

use proptest::prelude::*;
use redkeep::redis::{ConnectionAddr, IntoConnectionInfo};
use redkeep::{Config, ErrorKind};

/// Percent-encodes everything but the unreserved characters of RFC 3986.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,15}[a-z0-9](\\.[a-z][a-z0-9]{0,10}){0,2}",
        (1u8..=254, any::<u8>(), any::<u8>(), 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        Just("localhost".to_owned()),
    ]
}

/// A password that cannot occur by accident elsewhere in the URL (hosts and
/// users are lower-case), made of any printable characters.
fn password() -> impl Strategy<Value = String> {
    "[ -~]{4,24}".prop_map(|tail| format!("PW#{tail}"))
}

fn user() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-z][a-z0-9_]{0,11}")
}

fn assert_hidden(secret: &str, shown: &str) -> Result<(), TestCaseError> {
    prop_assert!(!shown.contains(secret), "the password shows in {shown:?}");
    prop_assert!(
        !shown.contains(&encode(secret)),
        "the encoded password shows in {shown:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tcp_urls_round_trip(
        host in host(),
        port in 1u16..=65535,
        db in 0i64..16,
        user in user(),
        password in proptest::option::of(password()),
    ) {
        let userinfo = match (&user, &password) {
            (Some(u), Some(p)) => format!("{u}:{}@", encode(p)),
            (Some(u), None) => format!("{u}@"),
            (None, Some(p)) => format!(":{}@", encode(p)),
            (None, None) => String::new(),
        };
        let url = format!("redis://{userinfo}{host}:{port}/{db}");
        let cfg = Config::from_url(&url);
        prop_assert!(cfg.validate().is_ok(), "{url}: {:?}", cfg.validate());

        let info = url.as_str().into_connection_info().unwrap();
        prop_assert_eq!(info.addr(), &ConnectionAddr::Tcp(host.clone(), port));
        prop_assert_eq!(info.redis_settings().db(), db);
        prop_assert_eq!(info.redis_settings().username(), user.as_deref());
        prop_assert_eq!(info.redis_settings().password(), password.as_deref());

        // Redaction hides the password and keeps everything else.
        let redacted = cfg.redacted_url();
        let debug = format!("{cfg:?}");
        if let Some(p) = &password {
            assert_hidden(p, &redacted)?;
            assert_hidden(p, &debug)?;
        }
        let shown = redacted.as_str().into_connection_info().unwrap();
        prop_assert_eq!(shown.addr(), info.addr());
        prop_assert_eq!(shown.redis_settings().db(), db);
        if password.is_some() {
            prop_assert_eq!(shown.redis_settings().username(), user.as_deref());
            prop_assert_eq!(shown.redis_settings().password(), Some("***"));
        } else {
            // `redis://name@host` may be a password typed where the user
            // goes: it is hidden too, never shown.
            prop_assert!(shown.redis_settings().password().is_none());
        }
    }

    #[test]
    fn unix_urls_round_trip(
        path in "/[a-z]{1,8}(/[a-z0-9_]{1,8}){0,3}(\\.sock)?",
        db in 0i64..16,
        user in user(),
        password in proptest::option::of(password()),
    ) {
        let mut query = vec![format!("db={db}")];
        if let Some(u) = &user {
            query.push(format!("user={u}"));
        }
        if let Some(p) = &password {
            query.push(format!("pass={}", encode(p)));
        }
        let url = format!("redis+unix://{path}?{}", query.join("&"));
        let cfg = Config::from_url(&url);
        prop_assert!(cfg.validate().is_ok(), "{url}: {:?}", cfg.validate());

        let info = url.as_str().into_connection_info().unwrap();
        prop_assert_eq!(info.addr(), &ConnectionAddr::Unix(path.clone().into()));
        prop_assert_eq!(info.redis_settings().db(), db);
        prop_assert_eq!(info.redis_settings().username(), user.as_deref());
        prop_assert_eq!(info.redis_settings().password(), password.as_deref());
        if let Some(p) = &password {
            assert_hidden(p, &cfg.redacted_url())?;
            assert_hidden(p, &format!("{cfg:?}"))?;
        }
    }

    /// Whatever is typed where a password goes — unescaped `@`, `/`, `?`,
    /// `#`, `:` included — it never shows in Debug, the redacted URL, or
    /// the validation error of a URL that does not parse.
    #[test]
    fn raw_passwords_never_show(
        host in host(),
        port in proptest::option::of(1u16..=65535),
        user in user(),
        secret in password(),
        scheme in prop_oneof![Just("redis"), Just("rediss"), Just("http"), Just("")],
        tail in prop_oneof![Just(""), Just("/0"), Just("/x"), Just("?db=1")],
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let user = user.unwrap_or_default();
        let prefix = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
        let url = format!("{prefix}{user}:{secret}@{host}{port}{tail}");
        let cfg = Config::from_url(&url);
        prop_assert!(!cfg.redacted_url().contains(&secret), "{}", cfg.redacted_url());
        let debug = format!("{cfg:?}");
        prop_assert!(!debug.contains(&secret), "{debug}");
        if let Err(err) = cfg.validate() {
            prop_assert_eq!(err.kind(), ErrorKind::Config);
            let shown = format!("{err} {err:?}");
            prop_assert!(!shown.contains(&secret), "{shown}");
        }
    }
}
