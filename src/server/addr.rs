//! A local server's address: where it listens, whether that is loopback,
//! how it is shown, and every URL built for it.
//!
//! One type, [`ServerAddr`], for both sides of a spawn: the address asked
//! for ([`ServerConfig::addr`](super::ServerConfig::addr), where port `0`
//! means "pick a free one" and `Unix(None)` "a socket in a private
//! directory") and the address a server really has
//! ([`LocalServer::addr`](super::LocalServer::addr), *resolved*: a real
//! port, a socket path). [`ensure_server`](super::ensure_server) resolves
//! it once; everything after that — the probe, the config file given to
//! `redis-server`, the URLs, messages — reads the resolved value.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::error::Param;

/// Where a local server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAddr {
    /// TCP on `host:port`. `host` must be a loopback address; port `0` picks
    /// a free port (and retries on a new one if the child loses a bind race).
    Tcp {
        /// Host to bind, default `127.0.0.1`.
        host: String,
        /// Port, default `6379`; `0` picks a free one.
        port: u16,
    },
    /// A unix socket. `None` puts `redis.sock` in a private (0700) temporary
    /// directory removed on shutdown.
    Unix(Option<PathBuf>),
}

impl Default for ServerAddr {
    fn default() -> Self {
        ServerAddr::Tcp {
            host: "127.0.0.1".to_owned(),
            port: 6379,
        }
    }
}

impl ServerAddr {
    /// Whether only this machine can reach the address: a unix socket, or
    /// a TCP host in `127.0.0.0/8`, `::1` (bracketed or not) or `localhost`.
    pub fn is_loopback(&self) -> bool {
        match self {
            ServerAddr::Tcp { host, .. } => is_loopback_host(host),
            ServerAddr::Unix(_) => true,
        }
    }

    /// Whether the address names one place: a TCP port other than `0`, a
    /// unix socket with its path. [`LocalServer::addr`](super::LocalServer::addr)
    /// is always resolved.
    pub fn is_resolved(&self) -> bool {
        match self {
            ServerAddr::Tcp { port, .. } => *port != 0,
            ServerAddr::Unix(path) => path.is_some(),
        }
    }

    /// The TCP port, or `None` for a unix socket.
    pub fn port(&self) -> Option<u16> {
        match self {
            ServerAddr::Tcp { port, .. } => Some(*port),
            ServerAddr::Unix(_) => None,
        }
    }

    /// The same address with a TCP host written without IPv6 brackets
    /// (`[::1]` → `::1`), as `bind` and the resolver take it.
    pub(crate) fn normalized(&self) -> ServerAddr {
        match self {
            ServerAddr::Tcp { host, port } => ServerAddr::Tcp {
                host: bare_host(host).to_owned(),
                port: *port,
            },
            ServerAddr::Unix(path) => ServerAddr::Unix(path.clone()),
        }
    }

    /// The setting a caller changes to use another address: the port, or
    /// the unix socket's path.
    pub(crate) fn param(&self) -> Param {
        match self {
            ServerAddr::Tcp { .. } => Param::ServerPort,
            ServerAddr::Unix(_) => Param::ServerUnixPath,
        }
    }

    /// The URL to connect with: `redis://[:password@]host:port[/db]` or
    /// `redis+unix:///path[?pass=password][&db=N]`, the password
    /// percent-encoded, db `0` left out. Do not log it: see
    /// [`ServerAddr::redacted_url`].
    pub(crate) fn url(&self, password: Option<&str>, db: i64) -> String {
        self.build_url(password.map(percent_encode).as_deref(), db)
    }

    /// [`ServerAddr::url`] with the password (if there is one) shown as `***`.
    pub(crate) fn redacted_url(&self, has_password: bool, db: i64) -> String {
        self.build_url(has_password.then_some("***"), db)
    }

    /// An unresolved unix address (`Unix(None)`) has no path yet: its URL
    /// has an empty one.
    fn build_url(&self, password: Option<&str>, db: i64) -> String {
        match self {
            ServerAddr::Tcp { host, port } => {
                let userinfo = password.map(|pw| format!(":{pw}@")).unwrap_or_default();
                let db = if db == 0 {
                    String::new()
                } else {
                    format!("/{db}")
                };
                format!("redis://{userinfo}{}{db}", HostPort(host, *port))
            }
            ServerAddr::Unix(path) => {
                let path = path
                    .as_deref()
                    .map(|p| encode_path(&p.to_string_lossy()))
                    .unwrap_or_default();
                let mut query = Vec::new();
                if let Some(pw) = password {
                    query.push(format!("pass={pw}"));
                }
                if db != 0 {
                    query.push(format!("db={db}"));
                }
                if query.is_empty() {
                    format!("redis+unix://{path}")
                } else {
                    format!("redis+unix://{path}?{}", query.join("&"))
                }
            }
        }
    }
}

/// `host:port` (`[::1]:6379` for IPv6), or the unix socket's path; an
/// unresolved unix address is shown as `a unix socket in a private directory`.
impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddr::Tcp { host, port } => HostPort(host, *port).fmt(f),
            ServerAddr::Unix(Some(path)) => path.display().fmt(f),
            ServerAddr::Unix(None) => f.write_str("a unix socket in a private directory"),
        }
    }
}

/// `host:port`, with IPv6 hosts in brackets (once, whether or not the host
/// came with them).
struct HostPort<'a>(&'a str, u16);

impl fmt::Display for HostPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = bare_host(self.0);
        if host.contains(':') {
            write!(f, "[{host}]:{}", self.1)
        } else {
            write!(f, "{host}:{}", self.1)
        }
    }
}

/// `host` without the brackets of an IPv6 literal.
fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Whether `host` is a loopback address (`127.0.0.0/8`, `::1`, `localhost`).
pub(crate) fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || bare_host(host)
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    encode(s, |_| false)
}

/// Percent-encodes a path for a URL, keeping its `/` separators.
fn encode_path(s: &str) -> String {
    encode(s, |b| b == b'/')
}

fn encode(s: &str, keep: impl Fn(u8) -> bool) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') || keep(b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> ServerAddr {
        ServerAddr::Tcp {
            host: host.to_owned(),
            port,
        }
    }

    fn unix(path: &str) -> ServerAddr {
        ServerAddr::Unix(Some(PathBuf::from(path)))
    }

    #[test]
    fn only_loopback_hosts_pass() {
        for host in [
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
            assert!(tcp(host, 1).is_loopback(), "{host}");
        }
        for host in [
            "0.0.0.0",
            "10.0.0.1",
            "::",
            "[::]",
            "example.org",
            "",
            "[::1",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
        assert!(ServerAddr::Unix(None).is_loopback());
    }

    #[test]
    fn addresses_show_as_host_port_or_path() {
        assert_eq!(tcp("127.0.0.1", 6379).to_string(), "127.0.0.1:6379");
        assert_eq!(tcp("::1", 6379).to_string(), "[::1]:6379");
        assert_eq!(tcp("[::1]", 6379).to_string(), "[::1]:6379");
        assert_eq!(unix("/tmp/r/redis.sock").to_string(), "/tmp/r/redis.sock");
    }

    #[test]
    fn tcp_urls_carry_the_password_and_the_db() {
        let a = tcp("127.0.0.1", 7000);
        assert_eq!(a.url(None, 0), "redis://127.0.0.1:7000");
        assert_eq!(a.url(None, 3), "redis://127.0.0.1:7000/3");
        assert_eq!(
            a.url(Some("p@ss:w/rd %"), 0),
            "redis://:p%40ss%3Aw%2Frd%20%25@127.0.0.1:7000"
        );
        assert_eq!(a.redacted_url(true, 2), "redis://:***@127.0.0.1:7000/2");
        assert_eq!(tcp("[::1]", 1).url(None, 0), "redis://[::1]:1");
    }

    #[test]
    fn unix_urls_carry_the_password_and_the_db_in_the_query() {
        let a = unix("/tmp/x y/redis.sock");
        assert_eq!(a.url(None, 0), "redis+unix:///tmp/x%20y/redis.sock");
        assert_eq!(a.url(None, 4), "redis+unix:///tmp/x%20y/redis.sock?db=4");
        assert_eq!(
            a.url(Some("a&b"), 4),
            "redis+unix:///tmp/x%20y/redis.sock?pass=a%26b&db=4"
        );
        assert_eq!(
            a.redacted_url(true, 0),
            "redis+unix:///tmp/x%20y/redis.sock?pass=***"
        );
    }

    #[test]
    fn urls_parse_back_to_the_same_place() {
        use redis::IntoConnectionInfo;
        for (addr, pw, db) in [
            (tcp("127.0.0.1", 7000), Some("p@ss:w/rd %&?#"), 5),
            (tcp("::1", 7000), None, 0),
            (unix("/tmp/a b/redis.sock"), Some("p@ss w&rd=?"), 9),
        ] {
            let info = addr.url(pw, db).into_connection_info().expect("parses");
            assert_eq!(info.redis_settings().password(), pw, "{addr}");
            assert_eq!(info.redis_settings().db(), db, "{addr}");
            match (info.addr(), &addr) {
                (redis::ConnectionAddr::Tcp(h, p), ServerAddr::Tcp { host, port }) => {
                    assert_eq!((bare_host(h), p), (bare_host(host), port));
                }
                (redis::ConnectionAddr::Unix(p), ServerAddr::Unix(Some(path))) => {
                    assert_eq!(p, path);
                }
                (other, _) => panic!("{addr}: parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn resolution_and_normal_form() {
        assert!(!tcp("127.0.0.1", 0).is_resolved());
        assert!(tcp("127.0.0.1", 1).is_resolved());
        assert!(!ServerAddr::Unix(None).is_resolved());
        assert!(unix("/x").is_resolved());
        assert_eq!(tcp("[::1]", 1).normalized(), tcp("::1", 1));
    }
}
