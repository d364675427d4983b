//! `redkeep run --cluster N` and `redkeep run --sentinel`: CMD runs against
//! a ready deployment with its environment (and `{url}`) set, and every
//! process is gone once CMD ends.
#![cfg(all(target_os = "linux", feature = "cli"))]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

/// `redkeep run -q ARGS -- sh -c SCRIPT {url}`: the script prints its
/// environment on one line and waits for a line on stdin.
fn run(args: &[&str]) -> (Child, Vec<String>) {
    let script = r#"echo "ENV $REDIS_URL|$REDIS_CLUSTER_URLS|$REDIS_SENTINEL_URLS|$REDIS_MASTER_NAME|$1"; read line; exit 7"#;
    let mut child = Command::new(env!("CARGO_BIN_EXE_redkeep"))
        .args(["run", "-q"])
        .args(args)
        .args(["--", "sh", "-c", script, "sh", "{url}"])
        .env("REDIS_SENTINEL_URLS", "inherited")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start redkeep");
    let stdout = child.stdout.take().expect("stdout");
    let line = BufReader::new(stdout)
        .lines()
        .map_while(|l| l.ok())
        .find(|l| l.starts_with("ENV "))
        .expect("CMD printed its environment");
    let vars = line["ENV ".len()..].split('|').map(str::to_owned).collect();
    (child, vars)
}

fn query<T: redis::FromRedisValue>(url: &str, cmd: &mut redis::Cmd) -> T {
    let client = redis::Client::open(url).expect("url");
    let mut con = client.get_connection().expect("connect");
    cmd.query(&mut con).expect("query")
}

/// Ends CMD, checks its exit code came through and nothing answers at `urls`.
fn finish(mut child: Child, urls: &[&str]) {
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"done\n")
        .expect("write");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(7), "CMD's exit code");
    for url in urls {
        let client = redis::Client::open(*url).expect("url");
        assert!(client.get_connection().is_err(), "{url} still answers");
    }
}

#[test]
fn run_cluster_sets_the_node_urls_and_stops_the_cluster() {
    let (child, vars) = run(&["--cluster", "3", "--replicas", "1"]);
    let [url, cluster, sentinel, name, arg] = &vars[..] else {
        panic!("{vars:?}");
    };
    let nodes: Vec<&str> = cluster.split(',').collect();
    assert_eq!(nodes.len(), 6, "{cluster}");
    assert_eq!(url, nodes[0]);
    assert_eq!(arg, url, "{{url}} is REDIS_URL");
    assert!(sentinel.is_empty() && name.is_empty(), "{vars:?}");
    for node in &nodes {
        let info: String = query(node, redis::cmd("CLUSTER").arg("INFO"));
        assert!(info.contains("cluster_state:ok"), "{node}: {info}");
    }
    finish(child, &nodes);
}

#[test]
fn run_sentinel_sets_the_sentinel_urls_and_stops_the_group() {
    let (child, vars) = run(&["--sentinel", "--replicas", "1", "--sentinels", "2"]);
    let [url, cluster, sentinels, name, arg] = &vars[..] else {
        panic!("{vars:?}");
    };
    assert!(cluster.is_empty(), "{vars:?}");
    assert_eq!(name, "mymaster");
    assert_eq!(arg, url);
    let list: Vec<&str> = sentinels.split(',').collect();
    assert_eq!(list.len(), 2, "{sentinels}");
    let addrs: Vec<&str> = list
        .iter()
        .map(|u| u.strip_prefix("redis://").expect("redis:// URL"))
        .collect();
    assert_eq!(
        *url,
        format!("redis+sentinel://{}/mymaster", addrs.join(","))
    );
    let (host, port): (String, u16) = query(
        list[0],
        redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg("mymaster"),
    );
    let master = format!("redis://{host}:{port}");
    let role: Vec<redis::Value> = query(&master, &mut redis::cmd("ROLE"));
    assert_eq!(
        role.first(),
        Some(&redis::Value::BulkString(b"master".to_vec()))
    );
    finish(child, &[list[0], list[1], master.as_str()]);
}

#[test]
fn deployment_options_are_checked() {
    for (args, says) in [
        (&["--cluster", "0"][..], "at least 1"),
        (&["--cluster", "3", "--sentinel"][..], "exclude each other"),
        (&["--sentinel", "--tls"][..], "--tls is for one server"),
        (
            &["--cluster", "3", "--port", "7000"][..],
            "--port is for one server",
        ),
        (&["--replicas", "1"][..], "need --cluster N or --sentinel"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_redkeep"))
            .arg("run")
            .args(args)
            .args(["--", "true"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
