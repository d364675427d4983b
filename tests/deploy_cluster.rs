//! `testing::TestCluster`: a real local Redis Cluster comes up ready (the
//! same view everywhere, every slot served, replicas linked), fails over on
//! request and after a master is killed, takes a killed node back, and
//! leaves no process behind. One cluster for the whole file (each start
//! takes ~2–3 s).

use std::time::Instant;

use redkeep::testing::{ClusterRole, TestCluster};

fn query<T: redis::FromRedisValue>(url: &str, cmd: &mut redis::Cmd) -> T {
    let client = redis::Client::open(url).expect("url");
    let mut con = client.get_connection().expect("connect");
    cmd.query(&mut con).expect("query")
}

fn masters(cluster: &TestCluster) -> Vec<String> {
    cluster
        .nodes()
        .expect("nodes")
        .into_iter()
        .filter(|n| matches!(n.role, ClusterRole::Master { .. }))
        .map(|n| n.url)
        .collect()
}

#[test]
fn a_cluster_is_ready_fails_over_and_leaves_nothing() {
    let started = Instant::now();
    let cluster = TestCluster::start(3, 1);
    eprintln!("TestCluster::start(3, 1) ready in {:?}", started.elapsed());

    // Ready: every node says ok and knows all six; three masters, three replicas.
    let urls = cluster.urls();
    assert_eq!(urls.len(), 6);
    for url in &urls {
        let info: String = query(url, redis::cmd("CLUSTER").arg("INFO"));
        assert!(info.contains("cluster_state:ok"), "{url}: {info}");
        assert!(info.contains("cluster_known_nodes:6"), "{url}: {info}");
        assert!(
            info.contains("cluster_slots_assigned:16384"),
            "{url}: {info}"
        );
    }
    let nodes = cluster.nodes().expect("nodes");
    assert_eq!(masters(&cluster).len(), 3, "{nodes:?}");
    assert_eq!(cluster.config().url, urls.join(","));
    let pids = cluster.pids();
    assert_eq!(pids.len(), 6);

    // A write on the slot-0 master reaches its replica.
    let master = cluster.master_url().expect("master");
    assert_eq!(master, urls[0]);
    // "{3560}" hashes to slot 0.
    let _: () = query(&master, redis::cmd("SET").arg("{3560}k").arg("v"));

    // Coordinated failover: the replica of the first master takes over.
    let failover = cluster.failover().expect("failover");
    assert_eq!(failover.old_master, urls[0]);
    assert_eq!(cluster.master_url().expect("master"), failover.new_master);
    let got: String = query(&failover.new_master, redis::cmd("GET").arg("{3560}k"));
    assert_eq!(got, "v", "the promoted replica has the data");

    // SIGKILL of a master: its replica (the old master) is promoted.
    let killed = cluster.kill_master().expect("kill");
    assert_eq!(killed, failover.new_master);
    assert_eq!(cluster.pids().len(), 5);
    cluster.wait_ready().expect("promotion");
    assert_eq!(cluster.master_url().expect("master"), failover.old_master);

    // The killed node comes back as a replica of its successor.
    cluster.restart(&killed).expect("restart");
    let back = cluster.nodes().expect("nodes");
    let back = back.iter().find(|n| n.url == killed).expect("node");
    assert!(matches!(back.role, ClusterRole::Replica { .. }), "{back:?}");
    assert_eq!(cluster.pids().len(), 6);

    let pids = cluster.pids();
    drop(cluster);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists() || !cfg!(target_os = "linux"),
            "node {pid} still runs after the drop"
        );
    }
}
