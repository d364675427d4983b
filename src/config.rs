//! Pool configuration: plain structs with public fields and documented defaults.

use std::fmt;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::error::{Error, Language, Param, Result};

/// Everything a [`Pool`](crate::Pool) needs to know.
///
/// Build it with [`Config::from_url`] and adjust the public fields:
///
/// ```
/// use std::time::Duration;
/// let mut cfg = redkeep::Config::from_url("redis://127.0.0.1:6379/0");
/// cfg.pool.max_size = 32;
/// cfg.timeouts.command = Duration::from_millis(500);
/// ```
#[derive(Clone)]
pub struct Config {
    /// Where Redis is: `redis://[user[:password]@]host[:port][/db]`,
    /// `rediss://...` (TLS, crate feature `tls`),
    /// `redis+unix:///path/to/socket[?db=N&user=U&pass=P]`; a Sentinel
    /// group, `redis+sentinel://[user:pass@]host:port,host:port/master[/db][?sentinel_password=P]`
    /// (see [`Config::sentinel`]); or a Cluster, a comma list of `redis://`
    /// node URLs (see [`Config::cluster`]).
    ///
    /// Default: `redis://127.0.0.1:6379`. The password never appears in
    /// `Debug` output, logs or errors.
    pub url: String,
    /// Sizes of the exclusive and the shared connection sets.
    pub pool: PoolConfig,
    /// Timeouts for every phase of a request.
    pub timeouts: Timeouts,
    /// The reconnect schedule while Redis is down.
    pub backoff: Backoff,
    /// The health watch.
    pub health: HealthConfig,
    /// When set, [`Pool::connect`](crate::Pool::connect) starts a local
    /// `redis-server` at [`ServerConfig::addr`](crate::ServerConfig) if nothing
    /// answers at that address, owns it, and restarts it if it crashes. The
    /// URL's host and port are then taken from the server.
    ///
    /// Default: `None`.
    pub spawn: Option<crate::server::ServerConfig>,
    /// TLS settings beyond the URL: the CA to trust, a client certificate
    /// (crate feature `tls`). Setting it makes the connection TLS even for
    /// a `redis://` URL.
    ///
    /// Default: `None` (a `rediss://` URL verifies against the web roots).
    pub tls: Option<crate::tls::TlsConfig>,
    /// Whether the call paths time their calls for
    /// [`Pool::metrics`](crate::Pool::metrics) (the `wait_time` and
    /// `use_time` histograms: two clock reads and two atomic adds per
    /// call). Counters, gauges, connect times and probe round trips are
    /// kept either way.
    ///
    /// Default: `true`.
    pub metrics: bool,
}

impl Config {
    /// The defaults with `url` as the address. The URL is checked when the
    /// pool is built ([`Config::validate`]), so this never fails.
    pub fn from_url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Checks the configuration without touching the network: the URL
    /// parses, sizes and timeouts are non-zero, the backoff is sane. An
    /// error about a setting is marked with its [`Param`], so that
    /// [`Error::message_in`] names it the caller's way.
    pub fn validate(&self) -> Result<()> {
        let deployment = self.deployment()?;
        if !matches!(deployment, crate::deployment::Deployment::Single(_)) {
            if self.spawn.is_some() {
                return Err(Error::config(
                    "Config::spawn starts one local server: it cannot be combined with a Sentinel or Cluster URL",
                ));
            }
            if self.tls.is_some() {
                return Err(Error::config(
                    "Config::tls is not supported yet for Sentinel and Cluster pools",
                ));
            }
        }
        if let Some(tls) = &self.tls {
            tls.validate()?;
        }
        if self.pool.max_size == 0 {
            return Err(
                Error::config("pool.max_size must be at least 1").with_param(Param::PoolMaxSize)
            );
        }
        if self.pool.multiplexed == 0 {
            return Err(Error::config("pool.multiplexed must be at least 1")
                .with_param(Param::PoolMultiplexed));
        }
        if self.pool.min_idle > self.pool.max_size {
            return Err(Error::config(format!(
                "pool.min_idle ({}) exceeds pool.max_size ({})",
                self.pool.min_idle, self.pool.max_size
            ))
            .with_param(Param::PoolMinIdle)
            .also_naming(Param::PoolMaxSize));
        }
        for (param, value) in [
            (Param::TimeoutConnect, self.timeouts.connect),
            (Param::TimeoutWait, self.timeouts.wait),
            (Param::TimeoutCommand, self.timeouts.command),
            (Param::HealthInterval, self.health.interval),
            (Param::HealthTimeout, self.health.timeout),
        ] {
            if value.is_zero() {
                let name = param.name(Language::Rust);
                return Err(
                    Error::config(format!("{name} must be greater than zero")).with_param(param)
                );
            }
        }
        if self.health.failures_before_down == 0 {
            return Err(
                Error::config("health.failures_before_down must be at least 1")
                    .with_param(Param::HealthFailuresBeforeDown),
            );
        }
        self.backoff.validate_reconnect()
    }

    /// Sets [`Config::spawn`] to a local server at this URL's address (TCP
    /// host and port, or unix socket path) with this URL's password, so that
    /// [`Pool::connect`](crate::Pool::connect) starts one if nothing answers
    /// there. Other [`ServerConfig`](crate::ServerConfig) fields keep their
    /// defaults; fails with `Config` if the URL does not parse or uses TLS.
    pub fn spawn_if_absent(mut self) -> Result<Self> {
        let info = self.connection_info()?;
        let addr = match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => crate::server::ServerAddr::Tcp {
                host: host.clone(),
                port: *port,
            },
            redis::ConnectionAddr::Unix(path) => {
                crate::server::ServerAddr::Unix(Some(path.clone()))
            }
            _ => return Err(Error::config(
                "spawn-if-absent needs a redis:// or redis+unix:// URL (a local server has no TLS)",
            )),
        };
        self.spawn = Some(crate::server::ServerConfig {
            addr,
            password: info.redis_settings().password().map(str::to_owned),
            ..Default::default()
        });
        Ok(self)
    }

    /// Sets `health.interval`, and shortens `health.timeout` to it if it is
    /// longer: a probe never outlasts the interval between two (redis-py's
    /// `health_check_interval`, go-redis's `HealthCheckInterval`).
    pub fn set_health_interval(&mut self, interval: Duration) {
        self.health.interval = interval;
        self.health.timeout = self.health.timeout.min(interval);
    }

    /// Sets `backoff.initial`, and raises `backoff.max` to it if it is
    /// lower (a minimum retry backoff given alone).
    pub fn set_backoff_initial(&mut self, initial: Duration) {
        self.backoff.initial = initial;
        self.backoff.max = self.backoff.max.max(initial);
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted_url(&self) -> String {
        if self.url.starts_with(crate::deployment::SENTINEL_SCHEME) {
            return crate::util::redact_url(&self.url);
        }
        // A cluster's node list: each URL has its own userinfo. A comma
        // starts a new node only before `scheme://`; any other comma (one
        // typed in a raw password) stays in its URL, which is redacted whole.
        let mut nodes: Vec<String> = Vec::new();
        for piece in self.url.split(',') {
            match nodes.last_mut() {
                Some(node) if !starts_with_scheme(piece) => {
                    node.push(',');
                    node.push_str(piece);
                }
                _ => nodes.push(piece.to_owned()),
            }
        }
        nodes
            .iter()
            .map(|node| crate::util::redact_url(node))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One server's connection details; a Sentinel or Cluster URL is a
    /// `Config` error here (callers that need one server: spawn, TLS).
    pub(crate) fn connection_info(&self) -> Result<redis::ConnectionInfo> {
        match self.deployment()? {
            crate::deployment::Deployment::Single(info) => Ok(info),
            _ => Err(Error::config(format!(
                "{:?} names a Sentinel group or a Cluster, not one server",
                self.redacted_url()
            ))),
        }
    }

    /// What `url` names: one server, a Sentinel group or a Cluster.
    pub(crate) fn deployment(&self) -> Result<crate::deployment::Deployment> {
        crate::deployment::parse(&self.url, &self.redacted_url())
    }

    /// A pool on a Sentinel group: the master named `master_name`, found
    /// through any of `sentinels` (`host:port` each) that answers. The URL
    /// this sets is `redis+sentinel://host:port,host:port/master_name`; to
    /// give the master a password or a database, or the sentinels their
    /// own password, write the URL yourself:
    /// `redis+sentinel://user:pass@h:p,h:p/mymaster/2?sentinel_password=S`
    /// (the master's credentials before the `@`, the sentinels' in the
    /// query: the two are never mixed up, and neither is ever shown).
    ///
    /// ```
    /// let cfg = redkeep::Config::sentinel("mymaster", ["127.0.0.1:26379", "127.0.0.1:26380"]);
    /// assert_eq!(cfg.url, "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster");
    /// ```
    pub fn sentinel<I, S>(master_name: &str, sentinels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let hosts: Vec<String> = sentinels
            .into_iter()
            .map(|s| {
                let s = s.as_ref();
                s.strip_prefix("redis://").unwrap_or(s).to_owned()
            })
            .collect();
        Self::from_url(format!(
            "{}{}/{master_name}",
            crate::deployment::SENTINEL_SCHEME,
            hosts.join(",")
        ))
    }

    /// A pool on a Redis Cluster reached through any of `nodes`
    /// (`redis://` URLs, the same credentials on each); the rest of the
    /// cluster is discovered from them. Sets `url` to their comma list.
    ///
    /// ```
    /// let cfg = redkeep::Config::cluster(["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"]);
    /// assert_eq!(cfg.url, "redis://127.0.0.1:7000,redis://127.0.0.1:7001");
    /// ```
    pub fn cluster<I, S>(nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let urls: Vec<String> = nodes
            .into_iter()
            .map(|n| {
                let n = n.as_ref();
                // Accept bare `host:port` too.
                if n.contains("://") {
                    n.to_owned()
                } else {
                    format!("redis://{n}")
                }
            })
            .collect();
        Self::from_url(urls.join(","))
    }
}

/// Whether `s` begins with a URL scheme and `://` (`redis://`, `rediss://`).
fn starts_with_scheme(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

impl Default for Config {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".to_owned(),
            pool: PoolConfig::default(),
            timeouts: Timeouts::default(),
            backoff: Backoff::default(),
            health: HealthConfig::default(),
            spawn: None,
            tls: None,
            metrics: true,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("url", &self.redacted_url())
            .field("pool", &self.pool)
            .field("timeouts", &self.timeouts)
            .field("backoff", &self.backoff)
            .field("health", &self.health)
            .field("spawn", &self.spawn)
            .field("tls", &self.tls)
            .field("metrics", &self.metrics)
            .finish()
    }
}

/// Sizes of the two connection sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most exclusive connections ([`Pool::get`](crate::Pool::get)) open at once.
    ///
    /// Default: `16`. Must be at least 1.
    pub max_size: usize,
    /// Exclusive connections the health watch keeps open while Redis is up,
    /// so that the first checkouts after start or recovery find one ready.
    ///
    /// Default: `0`.
    pub min_idle: usize,
    /// Shared multiplexed connections behind [`Pool::query`](crate::Pool::query);
    /// commands are spread over them round-robin and pipelined on each.
    ///
    /// Default: `1` (one connection pipelines better than several on a
    /// loopback server; raise it for high-latency links).
    pub multiplexed: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_size: 16,
            min_idle: 0,
            multiplexed: 1,
        }
    }
}

/// A timeout for every phase of a request; see [`Phase`](crate::Phase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening one connection, handshake (`AUTH`, `SELECT`) included.
    ///
    /// Default: 1 s.
    pub connect: Duration,
    /// Waiting for a free exclusive connection when all are checked out.
    ///
    /// Default: 1 s.
    pub wait: Duration,
    /// Waiting for the reply to one command or pipeline.
    ///
    /// Default: 2 s. Blocking commands (`BLPOP` and friends) need a longer
    /// one: set it per connection with
    /// [`Connection::set_command_timeout`](crate::ExclusiveConnection::set_command_timeout).
    pub command: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(1),
            wait: Duration::from_secs(1),
            command: Duration::from_secs(2),
        }
    }
}

/// The health watch: one background task per pool probing with `PING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// Time between two probes while Redis is up.
    ///
    /// Default: 500 ms.
    pub interval: Duration,
    /// How long a probe waits for its `PONG`.
    ///
    /// Default: 250 ms.
    pub timeout: Duration,
    /// Failed probes in a row that turn the pool `Down` (a refused connect
    /// turns it `Down` at once).
    ///
    /// Default: `2`.
    pub failures_before_down: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
            timeout: Duration::from_millis(250),
            failures_before_down: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let cfg = Config::from_url("redis://user:hunter2@localhost:6379/2");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("user:***@localhost"), "{shown}");
    }

    #[test]
    fn rejects_unknown_schemes() {
        let err = Config::from_url("http://localhost").validate().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Config);
        assert!(err.to_string().contains("redis://"), "{err}");
    }

    #[test]
    fn rejects_zero_sizes() {
        let mut cfg = Config::default();
        cfg.pool.max_size = 0;
        assert_eq!(cfg.validate().unwrap_err().kind(), crate::ErrorKind::Config);
    }

    /// Each invalid setting, with the params its message names (the one
    /// it is about first).
    fn invalid_settings() -> Vec<(Config, Vec<Param>)> {
        type Set = fn(&mut Config);
        let cases: [(Set, &[Param]); 14] = [
            (|c| c.pool.max_size = 0, &[Param::PoolMaxSize]),
            (|c| c.pool.multiplexed = 0, &[Param::PoolMultiplexed]),
            (
                |c| c.pool.min_idle = c.pool.max_size + 1,
                &[Param::PoolMinIdle, Param::PoolMaxSize],
            ),
            (
                |c| c.timeouts.connect = Duration::ZERO,
                &[Param::TimeoutConnect],
            ),
            (|c| c.timeouts.wait = Duration::ZERO, &[Param::TimeoutWait]),
            (
                |c| c.timeouts.command = Duration::ZERO,
                &[Param::TimeoutCommand],
            ),
            (
                |c| c.health.interval = Duration::ZERO,
                &[Param::HealthInterval],
            ),
            (
                |c| c.health.timeout = Duration::ZERO,
                &[Param::HealthTimeout],
            ),
            (
                |c| c.health.failures_before_down = 0,
                &[Param::HealthFailuresBeforeDown],
            ),
            (
                |c| c.backoff.initial = Duration::ZERO,
                &[Param::BackoffInitial],
            ),
            (
                |c| c.backoff.max = Duration::from_micros(1),
                &[Param::BackoffMax, Param::BackoffInitial],
            ),
            (|c| c.backoff.multiplier = 0.5, &[Param::BackoffMultiplier]),
            (
                |c| c.backoff.multiplier = f64::NAN,
                &[Param::BackoffMultiplier],
            ),
            (|c| c.backoff.jitter = -0.1, &[Param::BackoffJitter]),
        ];
        cases
            .into_iter()
            .map(|(set, params)| {
                let mut cfg = Config::default();
                set(&mut cfg);
                (cfg, params.to_vec())
            })
            .collect()
    }

    #[test]
    fn validation_errors_are_marked_with_the_setting_they_name() {
        for (cfg, params) in invalid_settings() {
            let e = cfg.validate().expect_err("invalid");
            assert_eq!(e.kind(), crate::ErrorKind::Config, "{e}");
            assert_eq!(e.param(), Some(params[0]), "{e}");
            for p in &params {
                assert!(e.message().contains(p.name(Language::Rust)), "{e}");
            }
        }
    }

    #[test]
    fn validation_errors_name_the_setting_in_each_language() {
        use Language::*;
        for (cfg, params) in invalid_settings() {
            let e = cfg.validate().expect_err("invalid");
            assert_eq!(e.message_in(Rust), e.message());
            for language in [C, Go, Python, Cli] {
                let shown = e.message_in(language);
                for p in &params {
                    assert!(shown.contains(p.name(language)), "{language:?}: {shown}");
                    assert!(
                        !shown.contains(p.name(Rust)),
                        "{language:?} names {:?} the Rust way: {shown}",
                        p
                    );
                }
            }
        }
        let mut cfg = Config::default();
        cfg.pool.max_size = 0;
        let e = cfg.validate().unwrap_err();
        assert_eq!(e.message_in(Python), "max_connections= must be at least 1");
        assert_eq!(e.message_in(Go), "Options.PoolSize must be at least 1");
        assert_eq!(
            e.message_in(C),
            "redkeep_pool_options.max_size must be at least 1"
        );
        cfg = Config::default();
        cfg.backoff.initial = Duration::from_secs(5);
        assert_eq!(
            cfg.validate().unwrap_err().message_in(Go),
            "Options.MaxRetryBackoff must be at least Options.MinRetryBackoff"
        );
        cfg = Config::default();
        cfg.timeouts.connect = Duration::ZERO;
        assert_eq!(
            cfg.validate().unwrap_err().message_in(Python),
            "socket_connect_timeout= must be greater than zero"
        );
    }

    #[test]
    fn a_bare_backoff_error_names_no_param() {
        // A `Backoff` alone may be a server's restart schedule: it is not
        // marked as the pool's.
        let b = Backoff {
            jitter: 2.0,
            ..Backoff::default()
        };
        let e = b.validate().unwrap_err();
        assert_eq!(e.param(), None);
        assert_eq!(
            e.message_in(Language::Go),
            "backoff.jitter must be within [0, 1]"
        );
    }
}
