//! What the pool connects to. A `Connector` knows the deployment (one
//! server today; Sentinel and Cluster plug in here) and how to open each
//! kind of connection the pool's sets use. The pool, its health watch and
//! the bindings are written against it, not against a redis-rs type.

use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::thread_conn::ThreadTarget;
use crate::config::Config;
use crate::error::{Error, Result};

/// The deployment behind a pool.
pub(crate) enum Connector {
    /// One Redis server.
    Single(SingleServer),
}

/// One Redis server at one address.
pub(crate) struct SingleServer {
    client: redis::Client,
    info: redis::ConnectionInfo,
    /// For callers' connections: replies bounded by `timeouts.command`.
    request: redis::AsyncConnectionConfig,
    /// For the health watch: no reply timeout of its own (the watch bounds
    /// each probe by `health.timeout`), so `timeouts.command` never cuts a
    /// probe short or drops the probe connection.
    probe: redis::AsyncConnectionConfig,
}

/// Which kind of multiplexed connection to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// A caller's connection (shared or exclusive).
    Request,
    /// The health watch's own connection.
    Probe,
}

impl Connector {
    pub(crate) fn new(config: &Config) -> Result<Self> {
        let info = config.connection_info()?;
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
        let base = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.timeouts.connect));
        Ok(Connector::Single(SingleServer {
            client,
            info,
            request: base
                .clone()
                .set_response_timeout(Some(config.timeouts.command)),
            probe: base.set_response_timeout(None),
        }))
    }

    /// Opens a multiplexed connection (handshake included; no `PING`).
    pub(crate) async fn open_multiplexed(
        &self,
        kind: Use,
    ) -> redis::RedisResult<MultiplexedConnection> {
        match self {
            Connector::Single(server) => {
                let config = match kind {
                    Use::Request => &server.request,
                    Use::Probe => &server.probe,
                };
                server
                    .client
                    .get_multiplexed_async_connection_with_config(config)
                    .await
            }
        }
    }

    /// Opens a dedicated pub/sub connection.
    pub(crate) async fn open_pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        match self {
            Connector::Single(server) => server.client.get_async_pubsub().await,
        }
    }

    /// Where a calling-thread connection goes, or `None` when this
    /// deployment needs the runtime for every connection (TLS).
    pub(crate) fn thread_target(&self) -> Option<ThreadTarget> {
        match self {
            Connector::Single(server) => ThreadTarget::from_info(&server.info),
        }
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
