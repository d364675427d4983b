//! What a [`Config::url`](crate::Config::url) names: one server, a Sentinel
//! group, or a Cluster. Parsed here, once, for every language.

use redis::{ConnectionInfo, IntoConnectionInfo};

use crate::error::{Error, Result};

/// The deployment behind a URL.
#[derive(Clone)]
pub(crate) enum Deployment {
    /// `redis://`, `rediss://`, `redis+unix://`: one server.
    Single(ConnectionInfo),
    /// `redis+sentinel://`: a master found through its sentinels.
    Sentinel(SentinelSpec),
    /// A comma list of `redis://` URLs: the seed nodes of a Cluster.
    Cluster(Vec<ConnectionInfo>),
}

impl Deployment {
    /// The database its connections select: the URL's for one server or
    /// a Sentinel master, `0` for a Cluster (which has only database 0).
    pub(crate) fn db(&self) -> i64 {
        match self {
            Deployment::Single(info) => info.redis_settings().db(),
            Deployment::Sentinel(spec) => spec.master.db(),
            Deployment::Cluster(_) => 0,
        }
    }
}

/// A Sentinel group and the master it watches.
#[derive(Clone)]
pub(crate) struct SentinelSpec {
    /// The name the sentinels know the master by (`mymaster`).
    pub(crate) master_name: String,
    /// Each sentinel, with the sentinels' credentials (never the master's).
    pub(crate) sentinels: Vec<ConnectionInfo>,
    /// How to log in to the master: user, password, database, protocol.
    pub(crate) master: redis::RedisConnectionInfo,
}

/// The URL scheme of a Sentinel group.
pub(crate) const SENTINEL_SCHEME: &str = "redis+sentinel://";

/// Parses `url` (already known not to be a single-server URL when it has
/// a comma or the Sentinel scheme). `shown` is the redacted URL, for errors.
pub(crate) fn parse(url: &str, shown: &str) -> Result<Deployment> {
    if let Some(rest) = url.strip_prefix(SENTINEL_SCHEME) {
        return parse_sentinel(rest, shown).map(Deployment::Sentinel);
    }
    if url.contains(',') {
        let nodes = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|node| single(node, &crate::util::redact_url(node)))
            .collect::<Result<Vec<_>>>()?;
        if nodes.is_empty() {
            return Err(Error::config(format!(
                "invalid cluster URL {shown:?}: no node"
            )));
        }
        return Ok(Deployment::Cluster(nodes));
    }
    single(url, shown).map(Deployment::Single)
}

/// One server's URL, as redis-rs parses it.
pub(crate) fn single(url: &str, shown: &str) -> Result<ConnectionInfo> {
    let scheme = url.split("://").next().unwrap_or("");
    if !url.contains("://")
        || !matches!(
            scheme,
            "redis" | "rediss" | "redis+unix" | "unix" | "valkey" | "valkeys"
        )
    {
        return Err(Error::config(format!(
            "invalid redis URL {shown:?}: expected redis://, rediss://, redis+unix://, \
             redis+sentinel://host:port,host:port/master, or a comma list of redis:// cluster nodes"
        )));
    }
    url.into_connection_info().map_err(|e| {
        // redis-rs messages do not echo the URL, so no secret leaks here.
        Error::config(format!("invalid redis URL {shown:?}: {e}"))
    })
}

/// `[user:pass@]host:port,host:port/mymaster[/db][?sentinel_username=U&sentinel_password=P]`
fn parse_sentinel(rest: &str, shown: &str) -> Result<SentinelSpec> {
    let bad = |why: &str| {
        Error::config(format!(
            "invalid sentinel URL {shown:?}: {why} (expected \
             redis+sentinel://[user:pass@]host:port,host:port/master_name[/db])"
        ))
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    let (userinfo, rest) = match rest.rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (hosts, path) = rest.split_once('/').ok_or_else(|| bad("no master name"))?;
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let master_name = segments.next().ok_or_else(|| bad("no master name"))?;
    let db = match segments.next() {
        Some(db) => db
            .parse::<i64>()
            .map_err(|_| bad("the database after the master name is not a number"))?,
        None => 0,
    };
    if segments.next().is_some() {
        return Err(bad("too many path segments"));
    }
    let mut sentinel_user = None;
    let mut sentinel_pass = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sentinel_username", v)) => sentinel_user = Some(v),
            Some(("sentinel_password", v)) => sentinel_pass = Some(v),
            _ => {
                return Err(bad(
                    "unknown query parameter (known: sentinel_username, sentinel_password)",
                ))
            }
        }
    }
    // The master's credentials and database, decoded by redis-rs.
    let first_host = hosts.split(',').next().unwrap_or("");
    let master_url = match userinfo {
        Some(u) => format!("redis://{u}@{first_host}/{db}"),
        None => format!("redis://{first_host}/{db}"),
    };
    let master = single(&master_url, shown)?.redis_settings().clone();
    let sentinel_auth = match (sentinel_user, sentinel_pass) {
        (Some(u), Some(p)) => format!("{u}:{p}@"),
        (None, Some(p)) => format!(":{p}@"),
        (Some(u), None) => format!("{u}@"),
        (None, None) => String::new(),
    };
    let sentinels = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|host| {
            if !host.contains(':') {
                return Err(bad("every sentinel needs host:port"));
            }
            let info = single(&format!("redis://{sentinel_auth}{host}"), shown)?;
            // A sentinel has no databases; redis-rs sends no SELECT for db 0.
            Ok(info)
        })
        .collect::<Result<Vec<_>>>()?;
    if sentinels.is_empty() {
        return Err(bad("no sentinel address"));
    }
    Ok(SentinelSpec {
        master_name: master_name.to_owned(),
        sentinels,
        master,
    })
}

/// `host:port` of a TCP address (for messages and node keys).
pub(crate) fn addr_text(addr: &redis::ConnectionAddr) -> String {
    match addr {
        redis::ConnectionAddr::Tcp(h, p) => format!("{h}:{p}"),
        redis::ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_sentinel_url_with_both_passwords_apart() {
        let d = parse(
            "redis+sentinel://u:mpw@127.0.0.1:26379,127.0.0.1:26380/mymaster/2?sentinel_password=spw",
            "x",
        )
        .unwrap();
        let Deployment::Sentinel(s) = d else {
            panic!("not sentinel")
        };
        assert_eq!(s.master_name, "mymaster");
        assert_eq!(s.master.db(), 2);
        assert_eq!(s.master.password(), Some("mpw"));
        assert_eq!(s.master.username(), Some("u"));
        assert_eq!(s.sentinels.len(), 2);
        assert_eq!(s.sentinels[1].redis_settings().password(), Some("spw"));
        assert_eq!(s.sentinels[0].redis_settings().username(), None);
    }

    #[test]
    fn parses_a_cluster_list() {
        let d = parse("redis://127.0.0.1:7000, redis://127.0.0.1:7001", "x").unwrap();
        assert!(matches!(d, Deployment::Cluster(n) if n.len() == 2));
    }

    #[test]
    fn bad_sentinel_urls_say_why() {
        for url in [
            "redis+sentinel://127.0.0.1:26379",
            "redis+sentinel://127.0.0.1:26379/",
            "redis+sentinel://127.0.0.1/m",
            "redis+sentinel://127.0.0.1:1/m/x",
            "redis+sentinel://127.0.0.1:1/m?password=x",
        ] {
            let e = parse(url, url).map(|_| ()).unwrap_err();
            assert!(e.to_string().contains("sentinel URL"), "{url}: {e}");
        }
    }
}
