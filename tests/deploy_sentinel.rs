//! `testing::TestSentinel`: a real local Sentinel group comes up ready
//! (replicas linked, every sentinel knows the master, the replicas and the
//! other sentinels), fails over on request and after the master is killed,
//! and leaves no process behind. Two groups, one per test, run in parallel
//! (a group cannot do both quickly: the sentinels wait 2 × failover-timeout
//! between two failovers of one master).

use std::time::Instant;

use redkeep::testing::TestSentinel;

fn query<T: redis::FromRedisValue>(url: &str, cmd: &mut redis::Cmd) -> T {
    let client = redis::Client::open(url).expect("url");
    let mut con = client.get_connection().expect("connect");
    cmd.query(&mut con).expect("query")
}

fn role(url: &str) -> String {
    let role: Vec<redis::Value> = query(url, &mut redis::cmd("ROLE"));
    match role.first() {
        Some(redis::Value::BulkString(r)) => String::from_utf8_lossy(r).into_owned(),
        other => panic!("ROLE: {other:?}"),
    }
}

fn assert_all_gone(pids: Vec<u32>) {
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists() || !cfg!(target_os = "linux"),
            "process {pid} still runs after the drop"
        );
    }
}

fn started() -> TestSentinel {
    let t = Instant::now();
    let group = TestSentinel::start(2, 3);
    eprintln!("TestSentinel::start(2, 3) ready in {:?}", t.elapsed());
    group
}

#[test]
fn a_sentinel_group_is_ready_and_fails_over_on_request() {
    let group = started();
    assert_eq!(group.urls().len(), 3);
    assert_eq!(group.master_name(), "mymaster");
    let data = group.data_urls();
    assert_eq!(data.len(), 3);
    assert_eq!(group.pids().len(), 6);
    let expected = format!(
        "redis+sentinel://{}/mymaster",
        group.sentinel_addrs().join(",")
    );
    assert_eq!(group.config().url, expected);

    // Every sentinel names the first data node as the master.
    for url in group.urls() {
        let (host, port): (String, u16) = query(
            &url,
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg("mymaster"),
        );
        assert_eq!(format!("redis://{host}:{port}"), data[0], "{url}");
    }
    assert_eq!(role(&data[0]), "master");
    // SENTINEL FAILOVER does not wait for the replicas to catch up: make
    // sure both have the write first (one connection: WAIT counts its own).
    let client = redis::Client::open(data[0].as_str()).expect("url");
    let mut con = client.get_connection().expect("connect");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut con)
        .expect("SET");
    let acked: i64 = redis::cmd("WAIT")
        .arg(2)
        .arg(5000)
        .query(&mut con)
        .expect("WAIT");
    assert_eq!(acked, 2, "both replicas have the write");

    let failover = group.failover().expect("failover");
    assert_eq!(failover.old_master, data[0]);
    assert_ne!(failover.new_master, data[0]);
    assert!(data.contains(&failover.new_master));
    assert_eq!(role(&failover.new_master), "master");
    assert_eq!(group.master_url().expect("master"), failover.new_master);
    let got: String = query(&failover.new_master, redis::cmd("GET").arg("k"));
    assert_eq!(got, "v", "the promoted replica has the data");

    let pids = group.pids();
    drop(group);
    assert_all_gone(pids);
}

#[test]
fn a_killed_master_is_replaced_by_a_replica() {
    let group = started();
    let old = group.kill_master().expect("kill");
    assert_eq!(old, group.data_urls()[0]);
    assert_eq!(group.pids().len(), 5);
    let t = Instant::now();
    let new = group.wait_new_master(&old).expect("new master");
    eprintln!("new master {new} agreed {:?} after the kill", t.elapsed());
    assert_ne!(new, old);
    assert_eq!(role(&new), "master");
    let pids = group.pids();
    drop(group);
    assert_all_gone(pids);
}
