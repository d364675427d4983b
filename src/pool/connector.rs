//! What the pool connects to. A `Connector` knows the deployment (one
//! server today; Sentinel and Cluster plug in here) and how to open each
//! kind of connection the pool's sets use. The pool, its health watch and
//! the bindings are written against it, not against a redis-rs type.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::cluster::ClusterNodes;
use super::mux::Mux;
use super::sentinel::SentinelMaster;
use super::thread_conn::{login_pipeline, ThreadTarget};
use crate::config::Config;
use crate::deployment::Deployment;
use crate::error::{Error, Result};

/// The deployment behind a pool. (`Single` stays unboxed: it is on the
/// path of every call, and a pool holds one `Connector`.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Connector {
    /// One Redis server.
    Single(SingleServer),
    /// The master of a Sentinel group, followed across failovers.
    Sentinel(SentinelMaster),
    /// A Redis Cluster.
    Cluster(ClusterNodes),
}

/// One Redis server at one address.
pub(crate) struct SingleServer {
    client: redis::Client,
    /// The same server and login over RESP3, for subscribers: their
    /// messages come as pushes on a multiplexed connection.
    resp3: redis::Client,
    info: redis::ConnectionInfo,
    /// For callers' exclusive connections and subscribers: replies bounded
    /// by `timeouts.command`.
    request: redis::AsyncConnectionConfig,
    /// No reply timeout of its own, for two kinds of connection that bound
    /// their replies themselves: the health watch's (it bounds each probe
    /// by `health.timeout`, so `timeouts.command` never cuts a probe short
    /// or drops the probe connection) and the shared ones (the shared set
    /// bounds each call by `timeouts.command`: see `shared::Picked`).
    unbounded: redis::AsyncConnectionConfig,
}

/// Which kind of multiplexed connection to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// A caller's exclusive connection.
    Request,
    /// A shared connection of all callers: the pool's own where it can be
    /// (see [`Link::Own`]). No reply timeout of
    /// its own: the shared set bounds each call (see `shared::Picked`).
    Shared,
    /// The health watch's own connection.
    Probe,
}

impl SingleServer {
    /// A server at `info` without TLS, with the pool's timeouts.
    pub(crate) fn plain(info: redis::ConnectionInfo, config: &Config) -> redis::RedisResult<Self> {
        let client = redis::Client::open(info.clone())?;
        Self::with_client(client, info, config)
    }

    fn with_client(
        client: redis::Client,
        info: redis::ConnectionInfo,
        config: &Config,
    ) -> redis::RedisResult<Self> {
        // The client's own info: a TLS client's carries its certificates.
        let own = client.get_connection_info().clone();
        let settings = own
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        let resp3 = redis::Client::open(own.set_redis_settings(settings))?;
        let base = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.timeouts.connect));
        Ok(SingleServer {
            client,
            resp3,
            info,
            request: base
                .clone()
                .set_response_timeout(Some(config.timeouts.command)),
            unbounded: base.set_response_timeout(None),
        })
    }

    /// Where it is, and how to log in.
    pub(crate) fn info(&self) -> &redis::ConnectionInfo {
        &self.info
    }

    /// Opens a multiplexed connection of `kind` (handshake included).
    pub(crate) async fn open(&self, kind: Use) -> redis::RedisResult<MultiplexedConnection> {
        let config = match kind {
            Use::Request => &self.request,
            Use::Shared | Use::Probe => &self.unbounded,
        };
        self.client
            .get_multiplexed_async_connection_with_config(config)
            .await
    }

    /// Opens a shared connection: over TCP or a unix socket, one of the
    /// pool's own, driven by its callers ([`Mux`]); over TLS, redis-rs's
    /// (nothing to end: see [`Opened::ends`]).
    async fn open_shared(&self) -> redis::RedisResult<Opened> {
        let mux = match self.info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Mux::tcp(stream)
            }
            #[cfg(unix)]
            redis::ConnectionAddr::Unix(path) => {
                Mux::unix(tokio::net::UnixStream::connect(path).await?)
            }
            _ => {
                let conn = self.open(Use::Shared).await?;
                return Ok(Opened {
                    conn: Link::Redis(conn),
                    ends: None,
                });
            }
        };
        if let Some(target) = ThreadTarget::from_info(&self.info) {
            let login = login_pipeline(&target);
            for reply in mux.pipeline(&login, 0, login.len()).await? {
                reply.extract_error()?;
            }
        }
        Ok(Opened {
            conn: Link::Own(mux.clone()),
            ends: Some(EndOnDrop(mux)),
        })
    }

    /// Opens a RESP3 multiplexed connection whose pushes (pub/sub
    /// messages, subscription confirmations, its disconnection) go to
    /// `pushes`; replies bounded by `timeouts.command`.
    async fn open_push(&self, pushes: PushSender) -> redis::RedisResult<MultiplexedConnection> {
        let config = self.request.clone().set_push_sender(pushes);
        self.resp3
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }
}

/// [`Connector::open_multiplexed`] in progress, its type erased.
type OpenFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = redis::RedisResult<Opened>> + Send + 'a>>;

/// A multiplexed connection just opened, and what ends it when the pool
/// owns that.
pub(crate) struct Opened {
    pub(crate) conn: Link,
    /// For a shared connection over TCP or a unix socket, the pool's own;
    /// `None` when redis-rs owns the connection's driver (TLS, and every
    /// other kind of connection): that one ends when the last handle on
    /// the connection is dropped.
    pub(crate) ends: Option<EndOnDrop>,
}

/// A multiplexed connection: redis-rs's, or a shared one of the pool's own.
#[derive(Clone)]
pub(crate) enum Link {
    /// redis-rs's, with its driver task.
    Redis(MultiplexedConnection),
    /// The pool's own, driven by its callers.
    Own(Mux),
}

impl Link {
    /// Sends one command and waits for its reply (a server error as
    /// `Value::ServerError`).
    pub(crate) async fn request(&mut self, cmd: &redis::Cmd) -> redis::RedisResult<redis::Value> {
        use redis::aio::ConnectionLike;
        match self {
            Link::Redis(conn) => conn.req_packed_command(cmd).await,
            Link::Own(mux) => mux.request(cmd).await,
        }
    }

    /// redis-rs's connection; an error for the pool's own, which only the
    /// shared set opens (and keeps).
    pub(crate) fn into_redis(self) -> redis::RedisResult<MultiplexedConnection> {
        match self {
            Link::Redis(conn) => Ok(conn),
            Link::Own(_) => Err(redis::RedisError::from(std::io::Error::other(
                "a shared connection was opened where a dedicated one was asked",
            ))),
        }
    }
}

/// Shuts the pool's own connection down when dropped: every request in
/// flight on it then fails at once (its reply can no longer come), which
/// is how `Pool::close` ends the shared path's calls without each of them
/// registering for it.
pub(crate) struct EndOnDrop(Mux);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.0.shut_down();
    }
}

/// Where a push connection sends what the server pushes: a bounded queue
/// (redis-rs hands pushes over without waiting), which drops what does not
/// fit and says so in [`Pushes::overflowed`].
pub(crate) struct PushSender {
    tx: tokio::sync::mpsc::Sender<redis::PushInfo>,
    overflowed: Arc<AtomicBool>,
}

impl redis::aio::AsyncPushSender for PushSender {
    fn send(&self, info: redis::PushInfo) -> Result<(), redis::aio::SendError> {
        self.tx.try_send(info).map_err(|e| {
            if matches!(e, tokio::sync::mpsc::error::TrySendError::Full(_)) {
                self.overflowed.store(true, Ordering::Release);
            }
            redis::aio::SendError
        })
    }
}

/// The reading end of a [`PushSender`].
pub(crate) struct Pushes {
    pub(crate) rx: tokio::sync::mpsc::Receiver<redis::PushInfo>,
    overflowed: Arc<AtomicBool>,
}

impl Pushes {
    /// A queue of `capacity` pushes: its sender for the connection, and
    /// this end.
    pub(crate) fn bounded(capacity: usize) -> (PushSender, Pushes) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        let overflowed = Arc::new(AtomicBool::new(false));
        let sender = PushSender {
            tx,
            overflowed: overflowed.clone(),
        };
        (sender, Pushes { rx, overflowed })
    }

    /// Whether a push was dropped because the queue was full: the reader
    /// fell behind, and what the connection received has a gap.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

impl Connector {
    pub(crate) fn new(config: &Config) -> Result<Self> {
        let info = match config.deployment()? {
            Deployment::Single(info) => info,
            Deployment::Sentinel(spec) => {
                return Ok(Connector::Sentinel(SentinelMaster::new(spec, config)))
            }
            Deployment::Cluster(seeds) => {
                return Ok(Connector::Cluster(ClusterNodes::new(seeds, config)?))
            }
        };
        #[cfg(feature = "tls")]
        install_crypto_provider();
        let invalid = |e: redis::RedisError| {
            Error::config(format!(
                "invalid redis URL {:?}: {e}",
                config.redacted_url()
            ))
        };
        let (client, info) = match &config.tls {
            None => (redis::Client::open(info.clone()).map_err(invalid)?, info),
            Some(tls) => tls_client(info, tls, invalid)?,
        };
        let server = SingleServer::with_client(client, info, config).map_err(invalid)?;
        Ok(Connector::Single(server))
    }

    /// Opens a multiplexed connection (handshake included; no `PING`). For
    /// a Sentinel group, to the master (resolved first if none is known).
    ///
    /// Boxed, its type erased: every connect's future would otherwise carry
    /// the nested futures of redis-rs's handshakes.
    pub(crate) fn open_multiplexed(&self, kind: Use) -> OpenFuture<'_> {
        Box::pin(async move {
            let resolved;
            let server = match self {
                Connector::Single(server) => server,
                Connector::Sentinel(master) => {
                    resolved = master.master().await?;
                    &*resolved
                }
                Connector::Cluster(_) => return Err(not_for_cluster()),
            };
            match kind {
                Use::Shared => server.open_shared().await,
                kind => Ok(Opened {
                    conn: Link::Redis(server.open(kind).await?),
                    ends: None,
                }),
            }
        })
    }

    /// Opens a dedicated pub/sub connection.
    pub(crate) async fn open_pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        match self {
            Connector::Single(server) => server.client.get_async_pubsub().await,
            Connector::Sentinel(master) => master.master().await?.client.get_async_pubsub().await,
            Connector::Cluster(_) => Err(not_for_cluster()),
        }
    }

    /// Opens a dedicated RESP3 connection for a subscriber, its pushes sent
    /// to `pushes` (see [`SingleServer::open_push`]).
    pub(crate) async fn open_push(
        &self,
        pushes: PushSender,
    ) -> redis::RedisResult<MultiplexedConnection> {
        match self {
            Connector::Single(server) => server.open_push(pushes).await,
            Connector::Sentinel(master) => master.master().await?.open_push(pushes).await,
            Connector::Cluster(_) => Err(not_for_cluster()),
        }
    }

    /// Opens a dedicated `MONITOR` connection (the server's `OK` read).
    pub(crate) async fn open_monitor(&self) -> redis::RedisResult<redis::aio::Monitor> {
        match self {
            Connector::Single(server) => server.client.get_async_monitor().await,
            Connector::Sentinel(master) => master.master().await?.client.get_async_monitor().await,
            Connector::Cluster(_) => Err(not_for_cluster()),
        }
    }

    /// Where a calling-thread connection goes now, or `None` when this
    /// deployment needs the runtime for every connection (TLS, a Sentinel
    /// group with no master resolved yet).
    pub(crate) fn thread_target(&self) -> Option<ThreadTarget> {
        match self {
            Connector::Single(server) => ThreadTarget::from_info(&server.info),
            Connector::Sentinel(master) => ThreadTarget::from_info(master.current()?.info()),
            Connector::Cluster(_) => None,
        }
    }

    /// Before the health watch reconnects: a Sentinel group's master is
    /// resolved again (it may have moved).
    pub(crate) fn before_reconnect(&self) {
        if let Connector::Sentinel(master) = self {
            master.forget();
        }
    }

    /// The health probe on `conn`: `PING` for one server, `ROLE` for a
    /// Sentinel group's master (a demoted master fails it at once).
    pub(crate) async fn probe(&self, conn: &mut MultiplexedConnection) -> Result<(), ProbeFailure> {
        match self {
            Connector::Single(_) | Connector::Cluster(_) => {
                ping(conn).await.map_err(ProbeFailure::Io)
            }
            Connector::Sentinel(master) => {
                let role = super::sentinel::role(conn)
                    .await
                    .map_err(ProbeFailure::Io)?;
                if role == "master" {
                    Ok(())
                } else {
                    Err(ProbeFailure::Wrong(format!(
                        "{} is no longer master {:?} (ROLE {role})",
                        master.current_addr().unwrap_or_default(),
                        master.master_name()
                    )))
                }
            }
        }
    }
}

fn not_for_cluster() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::other(
        "a Cluster pool has no single connection of this kind (use Pool::get_for_key)",
    ))
}

/// Why a health probe failed.
pub(crate) enum ProbeFailure {
    /// No answer, or not a Redis answer.
    Io(redis::RedisError),
    /// A clear answer that this is the wrong server now (a demoted
    /// master): the pool is `Down` at once, and the deployment resolved again.
    Wrong(String),
}

async fn ping(conn: &mut MultiplexedConnection) -> Result<(), redis::RedisError> {
    let pong: String = redis::cmd("PING").query_async(conn).await?;
    if pong == "PONG" {
        Ok(())
    } else {
        Err(redis::RedisError::from(std::io::Error::other(format!(
            "unexpected PING reply {pong:?}"
        ))))
    }
}

/// A client for `info` with the CA and client certificate of `tls`: the
/// address becomes TLS (`insecure` as asked), the documents are read now.
#[cfg(feature = "tls")]
fn tls_client(
    info: redis::ConnectionInfo,
    tls: &crate::tls::TlsConfig,
    invalid: impl Fn(redis::RedisError) -> Error,
) -> Result<(redis::Client, redis::ConnectionInfo)> {
    let (host, port) = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
        redis::ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port),
        _ => {
            return Err(Error::config(
                "Config::tls needs a TCP address (redis:// or rediss://), not a unix socket",
            ))
        }
    };
    let info = info.set_addr(redis::ConnectionAddr::TcpTls {
        host,
        port,
        insecure: tls.insecure,
        tls_params: None,
    });
    let client_tls = match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
            client_cert: cert.read("TLS client certificate")?,
            client_key: key.read("TLS client key")?,
        }),
        _ => None,
    };
    let root_cert = match &tls.ca_cert {
        Some(ca) => Some(ca.read("TLS CA certificate")?),
        None => None,
    };
    let certs = redis::TlsCertificates {
        client_tls,
        root_cert,
    };
    let client = redis::Client::build_with_tls(info, certs).map_err(|e| {
        // The documents did not parse: say which setting, never their text.
        if e.kind() == redis::ErrorKind::InvalidClientConfig {
            Error::config(format!(
                "the TLS certificates in Config::tls are not usable: {e}"
            ))
        } else {
            invalid(e)
        }
    })?;
    let info = client.get_connection_info().clone();
    Ok((client, info))
}

/// Without the `tls` feature `Config::validate` refuses `Config::tls`.
#[cfg(not(feature = "tls"))]
fn tls_client(
    _: redis::ConnectionInfo,
    _: &crate::tls::TlsConfig,
    _: impl Fn(redis::RedisError) -> Error,
) -> Result<(redis::Client, redis::ConnectionInfo)> {
    Err(Error::config(
        "Config::tls is set, but redkeep was built without its `tls` feature",
    ))
}

/// Makes rustls's process-wide crypto provider the one this crate builds
/// with (ring), unless the program installed one already: a TLS connect
/// then never panics for want of a provider.
#[cfg(feature = "tls")]
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only if another thread installed one meanwhile: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Rounds a deadline's remaining time down to zero when it has passed.
pub(crate) fn remaining(deadline: std::time::Instant) -> Duration {
    deadline.saturating_duration_since(std::time::Instant::now())
}
