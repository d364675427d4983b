//! `Pool::begin_evented`: a command written on a calling-thread connection
//! whose reply the caller's event loop reads when the socket is readable
//! (Python's asyncio). Here the "loop" polls; the same rules as `query`.

mod support;

use std::time::{Duration, Instant};

use redkeep::{redis, Begun, ErrorKind, Finished, Pool};
use support::{fast_config, within, RedisServer};

/// Begins `cmd` once an idle calling-thread connection exists (the first
/// calls open one in the background), then polls until the reply is read.
fn evented(pool: &Pool, cmd: &redis::Cmd) -> redkeep::Result<redis::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pending = loop {
        match pool.begin_evented(cmd.clone()) {
            Begun::Written(pending) => break pending,
            Begun::UseRuntime(_) => {
                assert!(Instant::now() < deadline, "no calling-thread connection");
                std::thread::sleep(Duration::from_millis(5));
            }
            Begun::Finished(Finished::Done(result)) => return result,
            Begun::Finished(Finished::SendAgain(_)) => panic!("nothing dropped here"),
        }
    };
    loop {
        match pending.poll() {
            Some(Finished::Done(result)) => return result,
            Some(Finished::SendAgain(_)) => panic!("nothing dropped here"),
            None => {
                assert!(Instant::now() < deadline, "no reply");
                std::thread::sleep(Duration::from_micros(200));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_are_read_in_pieces_and_the_connection_is_reused() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    let p = pool.clone();
    let job = tokio::task::spawn_blocking(move || {
        // A 4 MiB reply: many reads, each resuming the partial reply. (A
        // command that large is not written this way: the runtime runs it.)
        let big = vec![b'x'; 4 << 20];
        let mut set = redis::cmd("SET");
        set.arg("big").arg(&big);
        assert!(matches!(p.begin_evented(set.clone()), Begun::UseRuntime(_)));
        let set = p.query_blocking::<redis::Value>(&set, None).unwrap();
        let got = evented(&p, redis::cmd("GET").arg("big")).unwrap();
        let id = || evented(&p, redis::cmd("CLIENT").arg("ID")).unwrap();
        let ids = (id(), id());
        let err = evented(&p, redis::cmd("LPUSH").arg("big").arg(1)).unwrap_err();
        (set, got == redis::Value::BulkString(big), ids, err)
    });
    let (set, same, ids, err) = within(Duration::from_secs(30), "evented calls", job)
        .await
        .unwrap();
    assert_eq!(set, redis::Value::Okay);
    assert!(same, "the 4 MiB value came back whole");
    assert_eq!(ids.0, ids.1, "the idle connection was reused");
    assert_eq!(err.kind(), ErrorKind::Response);
    assert_eq!(pool.stats().thread_open, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_blocking_commands_never_go_this_way() {
    let server = RedisServer::start();
    let pool = Pool::connect(fast_config(server.url())).await.unwrap();
    match pool.begin_evented(redis::cmd("SELECT").arg(1).clone()) {
        Begun::Finished(Finished::Done(Err(e))) => assert_eq!(e.kind(), ErrorKind::Refused),
        _ => panic!("SELECT must be refused unsent"),
    }
    match pool.begin_evented(redis::cmd("BLPOP").arg("q").arg(0).clone()) {
        Begun::UseRuntime(cmd) => assert_eq!(cmd.args_iter().count(), 3),
        _ => panic!("BLPOP must be handed to the runtime"),
    }
}
