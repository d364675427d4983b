//! One process of a deployment: spawned through [`ensure_server_blocking`]
//! (so under the orphan guard), and a blocking admin connection to it.

use std::path::PathBuf;
use std::time::Duration;

use super::super::config::ServerConfig;
use super::super::local::{ensure_server_blocking, LocalServer, Origin};
use super::super::testing::TestServer;
use super::error;
use crate::error::{Param, Result};

/// New port pairs tried when a picked free port is taken first.
pub(super) const PORT_ATTEMPTS: usize = 8;
/// Connect, read and write timeout of an admin connection.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(2);

/// How to start one node.
#[derive(Clone, Debug)]
pub(super) struct Spec {
    pub(super) binary: Option<PathBuf>,
    pub(super) args: Vec<String>,
    /// The data directory (a cluster node keeps its `nodes.conf` there, so a
    /// restart on the same port is the same node).
    pub(super) dir: Option<PathBuf>,
    /// A cluster node: also pick a free cluster bus port (`cluster-port`;
    /// the default, port + 10000, may be taken or beyond 65535).
    pub(super) bus: bool,
    /// A port chosen by the caller (a collision is an error marked
    /// `Param::ServerPort`); `None` picks a free one.
    pub(super) port: Option<u16>,
    pub(super) ready_timeout: Duration,
}

/// A started node.
pub(super) struct Spawned {
    pub(super) server: LocalServer,
    pub(super) port: u16,
    pub(super) bus_port: Option<u16>,
}

impl Spec {
    fn server_config(&self, port: u16, bus_port: Option<u16>) -> ServerConfig {
        let mut args = self.args.clone();
        if let Some(bus) = bus_port {
            args.extend(["--cluster-port".to_owned(), bus.to_string()]);
        }
        ServerConfig {
            binary: self.binary.clone(),
            args,
            dir: self.dir.clone(),
            ready_timeout: self.ready_timeout,
            ..ServerConfig {
                addr: ServerConfig::tcp(port).addr,
                ..TestServer::config()
            }
        }
    }

    /// Starts the node on a free port (and bus port), trying new ones when
    /// another process takes a picked port first.
    pub(super) fn spawn(&self) -> Result<Spawned> {
        if let Some(port) = self.port {
            let server = self.spawn_at(port, None)?;
            return Ok(Spawned {
                server,
                port,
                bus_port: None,
            });
        }
        if !self.bus {
            // ensure_server picks the port and retries on collisions itself.
            let server = ensure_server_blocking(self.server_config(0, None))?;
            let port = server.port().unwrap_or_default();
            return Ok(Spawned {
                server,
                port,
                bus_port: None,
            });
        }
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            let (port, bus) = free_port_pair()?;
            match self.spawn_at(port, Some(bus)) {
                Ok(server) => {
                    return Ok(Spawned {
                        server,
                        port,
                        bus_port: Some(bus),
                    })
                }
                Err(e) if e.param() == Some(Param::ServerPort) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| error("no free port pair")))
    }

    /// Starts the node at `port` (a restart of a node that was there).
    pub(super) fn spawn_at(&self, port: u16, bus_port: Option<u16>) -> Result<LocalServer> {
        let server = ensure_server_blocking(self.server_config(port, bus_port))?;
        if server.origin() == Origin::Attached {
            // Someone else's Redis took the port: not ours to use.
            return Err(error(format!("port {port} was taken by another Redis"))
                .with_param(Param::ServerPort));
        }
        Ok(server)
    }
}

/// Starts every spec at once; on any failure the started ones are stopped
/// (dropped) and the first error returned.
pub(super) fn spawn_all(specs: &[Spec]) -> Result<Vec<Spawned>> {
    let results: Vec<Result<Spawned>> = std::thread::scope(|s| {
        let handles: Vec<_> = specs.iter().map(|spec| s.spawn(|| spec.spawn())).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(error("a node's start panicked")))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// Two distinct free ports of 127.0.0.1.
fn free_port_pair() -> Result<(u16, u16)> {
    let ports = free_ports(2)?;
    Ok((ports[0], ports[1]))
}

/// `n` distinct free ports of 127.0.0.1 (held together while picked; the
/// caller retries on new ones if one is taken before its server binds).
pub(super) fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| {
            std::net::TcpListener::bind(("127.0.0.1", 0))
                .map_err(|e| error(format!("cannot find a free port on 127.0.0.1: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .map(|a| a.port())
                .map_err(|e| error(format!("cannot read a bound port: {e}")))
        })
        .collect()
}

/// A blocking admin connection to the node at `port`.
pub(super) fn admin(port: u16) -> Result<redis::Connection> {
    let open = || -> redis::RedisResult<redis::Connection> {
        let client = redis::Client::open(super::node_url(port))?;
        let con = client.get_connection_with_timeout(ADMIN_TIMEOUT)?;
        con.set_read_timeout(Some(ADMIN_TIMEOUT))?;
        con.set_write_timeout(Some(ADMIN_TIMEOUT))?;
        Ok(con)
    };
    open().map_err(|e| error(format!("cannot connect to 127.0.0.1:{port}: {e}")))
}

/// Runs `cmd` on `con` (the node at `port`), the error naming both.
pub(super) fn run<T: redis::FromRedisValue>(
    con: &mut redis::Connection,
    port: u16,
    cmd: &redis::Cmd,
) -> Result<T> {
    cmd.query(con).map_err(|e| {
        let name = cmd
            .args_iter()
            .take(2)
            .map(|a| match a {
                redis::Arg::Simple(b) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        error(format!("{name} on 127.0.0.1:{port}: {e}"))
    })
}

/// A field of an `INFO` reply (`name:value` lines).
pub(super) fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}
