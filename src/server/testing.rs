//! Throwaway Redis servers for tests.
//!
//! ```no_run
//! #[test]
//! fn counts() {
//!     let server = redkeep::testing::TestServer::start();
//!     let client = redkeep::redis::Client::open(server.url()).unwrap();
//!     let mut con = client.get_connection().unwrap();
//!     let n: i64 = redkeep::redis::cmd("INCR").arg("n").query(&mut con).unwrap();
//!     assert_eq!(n, 1);
//! } // flushed and killed here
//! ```
//!
//! Each [`TestServer`] is a fresh `redis-server` on a free port of
//! 127.0.0.1 with no persistence, in a private directory. It is flushed and
//! stopped when dropped, and, like every server redkeep spawns, killed by
//! the kernel if the test process dies (Linux, Windows; see
//! [`crate::server`]). Many can run at once: each picks its own port and
//! retries on another if it loses a race for one.
//!
//! Deployments of several processes, with the same guarantee for each:
//! [`TestCluster`] (a Redis Cluster) and [`TestSentinel`] (a master, its
//! replicas and sentinels).

use std::time::Duration;

use super::config::{RestartPolicy, ServerConfig};
use super::local::{ensure_server_blocking, LocalServer};
use super::resp::Conn;

pub use super::deploy::{
    ClusterNode, ClusterRole, Failover, TestCluster, TestClusterConfig, TestSentinel,
    TestSentinelConfig,
};
use crate::error::Result;

/// A throwaway `redis-server` for one test, flushed and stopped on drop.
#[derive(Debug)]
pub struct TestServer {
    server: LocalServer,
}

impl TestServer {
    /// The config [`TestServer::start`] uses: TCP on `127.0.0.1`, port `0`
    /// (a free one), no persistence, no restarts (a crash in a test should
    /// show, not be hidden).
    pub fn config() -> ServerConfig {
        ServerConfig {
            restart: RestartPolicy {
                max_restarts: 0,
                ..RestartPolicy::default()
            },
            ..ServerConfig::tcp(0)
        }
    }

    /// [`TestServer::config`] serving TLS only, with a throwaway CA (crate
    /// feature `tls`; see [`ServerConfig::tls`](ServerConfig#structfield.tls)).
    pub fn config_tls() -> ServerConfig {
        ServerConfig {
            tls: true,
            ..TestServer::config()
        }
    }

    /// A TLS-only server with a throwaway CA, blocking the thread until it
    /// answers `PONG` over TLS (crate feature `tls`). Connect with
    /// [`TestServer::pool_config`] (it trusts the CA), or with
    /// [`TestServer::url`] (`rediss://`) and [`TestServer::ca_cert_path`].
    ///
    /// ```no_run
    /// # async fn demo() {
    /// let server = redkeep::testing::TestServer::start_tls();
    /// let pool = redkeep::Pool::connect(server.pool_config()).await.unwrap();
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If it cannot be started, as [`TestServer::start`].
    pub fn start_tls() -> TestServer {
        match TestServer::try_start(TestServer::config_tls()) {
            Ok(server) => server,
            Err(e) => panic!("redkeep::testing: {e}"),
        }
    }

    /// Starts a server, blocking the thread until it answers `PONG`.
    ///
    /// # Panics
    ///
    /// If it cannot be started; the message says why (missing binary with
    /// install hints, log tail of a failed start).
    pub fn start() -> TestServer {
        match TestServer::try_start(TestServer::config()) {
            Ok(server) => server,
            Err(e) => panic!("redkeep::testing: {e}"),
        }
    }

    /// Starts a server from `cfg` (its address must be free: a `TestServer`
    /// never attaches to an existing Redis), blocking the thread.
    pub fn try_start(cfg: ServerConfig) -> Result<TestServer> {
        let server = ensure_server_blocking(cfg)?;
        if server.origin() == super::Origin::Attached {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::Spawn,
                format!(
                    "a Redis already runs at {}; a TestServer needs a free address",
                    server.redacted_url()
                ),
            ));
        }
        Ok(TestServer { server })
    }

    /// [`TestServer::start`] for async tests: the blocking part runs on
    /// tokio's blocking pool.
    ///
    /// # Panics
    ///
    /// If it cannot be started, as [`TestServer::start`].
    pub async fn start_async() -> TestServer {
        match TestServer::try_start_async(TestServer::config()).await {
            Ok(server) => server,
            Err(e) => panic!("redkeep::testing: {e}"),
        }
    }

    /// [`TestServer::try_start`] for async tests.
    pub async fn try_start_async(cfg: ServerConfig) -> Result<TestServer> {
        tokio::task::spawn_blocking(move || TestServer::try_start(cfg))
            .await
            .map_err(|e| crate::error::Error::new(crate::error::ErrorKind::Spawn, e.to_string()))?
    }

    /// A TLS server's CA certificate (PEM file); `None` without TLS.
    pub fn ca_cert_path(&self) -> Option<&std::path::Path> {
        self.server.ca_cert_path()
    }

    /// The URL to connect with (password included, if one was set;
    /// `rediss://` for a TLS server).
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The TCP port (`None` for a unix socket).
    pub fn port(&self) -> Option<u16> {
        self.server.port()
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.pid()
    }

    /// The underlying [`LocalServer`].
    pub fn server(&self) -> &LocalServer {
        &self.server
    }

    /// A redkeep pool [`Config`](crate::Config) pointing at this server
    /// (trusting its CA if it serves TLS).
    pub fn pool_config(&self) -> crate::Config {
        crate::Config {
            tls: self.server.client_tls(),
            ..crate::Config::from_url(self.url())
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.server.pid().is_some() {
            if let Ok(mut conn) = Conn::open(
                self.server.addr(),
                self.server.tls_files(),
                Duration::from_millis(500),
            ) {
                let password = self.server_password();
                let _ = match password.as_deref() {
                    Some(pw) => conn.send(&[&[b"AUTH", pw.as_bytes()], &[b"FLUSHALL"]]),
                    None => conn.send(&[&[b"FLUSHALL"]]),
                };
                if password.is_some() {
                    let _ = conn.read();
                }
                let _ = conn.read();
            }
        }
        // Dropping `server` stops it.
    }
}

impl TestServer {
    fn server_password(&self) -> Option<String> {
        self.server.password().map(str::to_owned)
    }
}
