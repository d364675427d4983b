//! The Sentinel and Cluster pools on `redkeep::testing`'s own local
//! deployments, through the `config()` they hand out.

use std::time::Duration;

use redkeep::testing::{TestCluster, TestSentinel};
use redkeep::{redis, Pool, State};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_on_test_sentinel_and_test_cluster() {
    let (sentinel, cluster) =
        tokio::task::spawn_blocking(|| (TestSentinel::start(1, 3), TestCluster::start(3, 0)))
            .await
            .unwrap();
    for cfg in [sentinel.config(), cluster.config()] {
        let shown = cfg.redacted_url();
        let pool = tokio::time::timeout(Duration::from_secs(5), Pool::connect(cfg))
            .await
            .expect("connect in time")
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        assert_eq!(pool.health().state, State::Up, "{shown}");
        let () = pool
            .query(redis::cmd("SET").arg("k").arg("v"))
            .await
            .unwrap();
        let v: String = pool.query(redis::cmd("GET").arg("k")).await.unwrap();
        assert_eq!(v, "v", "{shown}");
        pool.close().await;
    }
}
