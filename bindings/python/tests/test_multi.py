"""``redkeep.Pool`` on the Cluster and Sentinel URL forms, against the
session's ``redis_cluster`` and ``redis_sentinel`` fixtures."""

from __future__ import annotations

import time

import redkeep


def _wait_up(pool: redkeep.Pool) -> redkeep.Health:
    deadline = time.monotonic() + 10
    while True:
        h = pool.health()
        if h.is_up or time.monotonic() > deadline:
            return h
        time.sleep(0.02)


def _set_get_many(pool: redkeep.Pool, prefix: str) -> None:
    for i in range(50):
        assert pool.execute("SET", f"{prefix}:key:{i}", str(i)) in ("OK", b"OK")
    for i in range(50):
        assert pool.execute("GET", f"{prefix}:key:{i}") == str(i).encode()


def test_pool_on_a_cluster_url(redis_cluster: redkeep.Deployment) -> None:
    with redkeep.Pool(",".join(redis_cluster.urls)) as pool:
        _set_get_many(pool, "py-cluster")
        h = _wait_up(pool)
        assert h.state == "up", h
        # The 3 primaries at least (the watch probes the primaries).
        assert len(h.nodes) >= 3, h.nodes
        assert sum(n.primary for n in h.nodes) == 3, h.nodes
        assert all(n.state == "up" and ":" in n.addr for n in h.nodes), h.nodes
    # The keys went through the slot map: every primary holds some.
    sizes = []
    for url in redis_cluster.urls:
        with redkeep.Pool(url) as node:
            if node.execute("ROLE")[0] in (b"master", "master"):
                sizes.append(node.execute("DBSIZE"))
    assert len(sizes) == 3 and all(n > 0 for n in sizes), sizes


def test_pool_on_a_sentinel_url(redis_sentinel: redkeep.Deployment) -> None:
    with redkeep.Pool(redis_sentinel.url) as pool:
        _set_get_many(pool, "py-sentinel")
        assert pool.execute("ROLE")[0] in (b"master", "master")
        h = _wait_up(pool)
        assert h.state == "up", h
        assert h.nodes == []
