//! Stop-gap local Sentinel groups and Clusters for the Sentinel and Cluster
//! pool tests, until `redkeep::testing::TestSentinel` / `TestCluster`
//! (branch wip-deploy) land; then these tests move to those. Every process
//! is a `RedisServer` or an `OwnedChild`: killed with the test process.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redkeep::redis;
use redkeep::server::OwnedChild;

use super::{free_port, redis_server_binary, RedisServer, ServerOptions};

/// A `redis-server --sentinel` on a free port.
pub struct Sentinel {
    child: Option<OwnedChild>,
    pub port: u16,
    dir: PathBuf,
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One master, `replicas` replicas and `sentinels` sentinels (quorum 2,
/// down-after 1 s), all on 127.0.0.1.
pub struct SentinelGroup {
    pub servers: Vec<RedisServer>,
    pub sentinels: Vec<Sentinel>,
}

pub const MASTER: &str = "mymaster";

impl SentinelGroup {
    pub fn start(replicas: usize, sentinels: usize) -> Self {
        let master = RedisServer::start_with(ServerOptions {
            args: vec!["--repl-diskless-sync-delay".into(), "0".into()],
            ..Default::default()
        });
        let mport = master.port();
        let mut servers = vec![master];
        for _ in 0..replicas {
            servers.push(RedisServer::start_with(ServerOptions {
                args: vec![
                    "--replicaof".into(),
                    "127.0.0.1".into(),
                    mport.to_string(),
                    "--repl-diskless-sync-delay".into(),
                    "0".into(),
                ],
                ..Default::default()
            }));
        }
        // Replicas linked before the sentinels start.
        wait_until(Duration::from_secs(10), "replicas linked", || {
            info(mport, "replication")
                .map(|i| i.contains(&format!("connected_slaves:{replicas}")))
                .unwrap_or(false)
        });
        let sentinels: Vec<Sentinel> = (0..sentinels).map(|_| start_sentinel(mport)).collect();
        let group = Self { servers, sentinels };
        let n = group.sentinels.len();
        wait_until(Duration::from_secs(15), "sentinels agree", || {
            group.sentinels.iter().all(|s| {
                sentinel_master(s.port)
                    .map(|m| {
                        m.get("num-slaves").map(String::as_str) == Some(&replicas.to_string())
                            && m.get("num-other-sentinels").map(String::as_str)
                                == Some(&(n - 1).to_string())
                    })
                    .unwrap_or(false)
            })
        });
        group
    }

    pub fn sentinel_addrs(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect()
    }

    /// The port the first sentinel names as master now.
    pub fn master_port(&self) -> u16 {
        let m = sentinel_master(self.sentinels[0].port).expect("SENTINEL MASTER");
        m["port"].parse().unwrap()
    }

    pub fn server_by_port(&mut self, port: u16) -> &mut RedisServer {
        self.servers
            .iter_mut()
            .find(|s| s.port() == port)
            .expect("a server of the group")
    }

    /// `SENTINEL FAILOVER` on the first sentinel.
    pub fn failover(&self) {
        let mut c = sync_conn(self.sentinels[0].port);
        let _: () = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(MASTER)
            .query(&mut c)
            .expect("SENTINEL FAILOVER");
    }
}

fn start_sentinel(master_port: u16) -> Sentinel {
    let dir = std::env::temp_dir().join(format!(
        "redkeep-sentinel-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for _ in 0..10 {
        let port = free_port();
        let conf = dir.join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {d}\nlogfile {d}/sentinel.log\n\
                 sentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n\
                 sentinel down-after-milliseconds {MASTER} 1000\n\
                 sentinel failover-timeout {MASTER} 10000\n\
                 sentinel parallel-syncs {MASTER} 1\n",
                d = dir.display()
            ),
        )
        .unwrap();
        let mut cmd = Command::new(redis_server_binary());
        cmd.arg(&conf)
            .arg("--sentinel")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = OwnedChild::spawn(cmd).expect("start a sentinel");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if sentinel_master(port).is_ok() {
                return Sentinel {
                    child: Some(child),
                    port,
                    dir,
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("could not start a sentinel");
}

fn sync_conn(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    client
        .get_connection_with_timeout(Duration::from_millis(500))
        .expect("connect")
}

pub fn info(port: u16, section: &str) -> redis::RedisResult<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut c = client.get_connection_with_timeout(Duration::from_millis(500))?;
    redis::cmd("INFO").arg(section).query(&mut c)
}

pub fn sentinel_master(port: u16) -> redis::RedisResult<std::collections::HashMap<String, String>> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut c = client.get_connection_with_timeout(Duration::from_millis(500))?;
    redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(MASTER)
        .query(&mut c)
}

pub fn wait_until(limit: Duration, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A Redis Cluster: `masters` primaries (slots split evenly), each with
/// `replicas` replicas; node-timeout 1 s, full coverage not required (the
/// other slots keep serving while one shard is down).
pub struct ClusterGroup {
    pub nodes: Vec<RedisServer>,
    pub masters: usize,
}

impl ClusterGroup {
    pub fn start(masters: usize, replicas: usize) -> Self {
        let total = masters * (1 + replicas);
        let nodes: Vec<RedisServer> = (0..total)
            .map(|_| {
                RedisServer::start_with(ServerOptions {
                    args: [
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        "1000",
                        "--cluster-require-full-coverage",
                        "no",
                        "--repl-diskless-sync-delay",
                        "0",
                    ]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                    ..Default::default()
                })
            })
            .collect();
        let per = 16384 / masters;
        for (i, node) in nodes.iter().take(masters).enumerate() {
            let start = i * per;
            let end = if i + 1 == masters {
                16383
            } else {
                start + per - 1
            };
            let mut c = sync_conn(node.port());
            let _: () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(start)
                .arg(end)
                .query(&mut c)
                .expect("ADDSLOTSRANGE");
        }
        let first = nodes[0].port();
        for node in &nodes[1..] {
            let mut c = sync_conn(node.port());
            let _: () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(first)
                .query(&mut c)
                .expect("MEET");
        }
        let ids: Vec<String> = nodes
            .iter()
            .map(|n| {
                let mut c = sync_conn(n.port());
                redis::cmd("CLUSTER").arg("MYID").query(&mut c).unwrap()
            })
            .collect();
        for (r, node) in nodes.iter().enumerate().skip(masters) {
            let master = (r - masters) % masters;
            wait_until(Duration::from_secs(10), "replica knows its master", || {
                let mut c = sync_conn(node.port());
                let known: String = redis::cmd("CLUSTER").arg("NODES").query(&mut c).unwrap();
                known.contains(&ids[master])
            });
            let mut c = sync_conn(node.port());
            let _: () = redis::cmd("CLUSTER")
                .arg("REPLICATE")
                .arg(&ids[master])
                .query(&mut c)
                .expect("REPLICATE");
        }
        let group = Self { nodes, masters };
        wait_until(Duration::from_secs(20), "cluster ready", || {
            group.nodes.iter().all(|n| {
                let mut c = sync_conn(n.port());
                let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut c).unwrap();
                let known: String = redis::cmd("CLUSTER").arg("NODES").query(&mut c).unwrap();
                info.contains("cluster_state:ok")
                    && known.lines().count() == total
                    && known.lines().filter(|l| l.contains("slave")).count() == total - masters
                    && !known.contains("handshake")
            })
        });
        group
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url()).collect()
    }

    /// A key whose slot master `i` serves.
    pub fn key_on(&self, i: usize) -> String {
        let per = 16384 / self.masters;
        (0..)
            .map(|n| format!("k{n}"))
            .find(|k| {
                let mut c = sync_conn(self.nodes[0].port());
                let slot: usize = redis::cmd("CLUSTER")
                    .arg("KEYSLOT")
                    .arg(k)
                    .query(&mut c)
                    .unwrap();
                slot / per == i && (i + 1 == self.masters || slot < (i + 1) * per)
            })
            .unwrap()
    }
}
