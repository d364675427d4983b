"""The pytest fixtures ``redis_cluster`` and ``redis_sentinel``: a ready
local deployment that plain client commands work on."""

from __future__ import annotations

import redkeep


def _one(url: str, *args: str) -> object:
    with redkeep.Pool(url) as pool:
        return pool.execute(*args)


def _text(v: object) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def test_redis_cluster_is_ready(redis_cluster: redkeep.Deployment) -> None:
    assert len(redis_cluster.urls) == 6
    assert redis_cluster.url == redis_cluster.urls[0]
    assert redis_cluster.master_name is None
    assert redis_cluster.addrs[0] == ("127.0.0.1", int(redis_cluster.urls[0].rsplit(":", 1)[1]))
    info = _text(_one(redis_cluster.urls[-1], "CLUSTER", "INFO"))
    assert "cluster_state:ok" in info and "cluster_known_nodes:6" in info, info


def test_redis_sentinel_is_ready(redis_sentinel: redkeep.Deployment) -> None:
    assert len(redis_sentinel.urls) == 3
    assert redis_sentinel.master_name == "mymaster"
    hosts = ",".join(f"{h}:{p}" for h, p in redis_sentinel.addrs)
    assert redis_sentinel.url == f"redis+sentinel://{hosts}/mymaster"
    host, port = _one(redis_sentinel.urls[0], "SENTINEL", "get-master-addr-by-name", "mymaster")
    assert _text(host) == "127.0.0.1"
    role = _one(f"redis://127.0.0.1:{_text(port)}", "ROLE")
    assert _text(role[0]) == "master"


def test_a_deployment_closes_its_processes() -> None:
    with redkeep.start_sentinel(1, 1) as group:
        sentinel = group.urls[0]
        assert _text(_one(sentinel, "PING")) == "PONG"
    group.close()  # idempotent
    try:
        _one(sentinel, "PING")
    except redkeep.RedisError:
        pass
    else:
        raise AssertionError("the sentinel still answers after close()")
