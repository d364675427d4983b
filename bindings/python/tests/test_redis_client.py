"""redkeep.Redis / redkeep.asyncio.Redis: redis-py's clients over redkeep's
core, against real redis-servers. (redis-py's own suite is the wider judge:
scripts/test-redis-py-suite.sh.)"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import redkeep

redis = pytest.importorskip("redis")

import redkeep.asyncio  # noqa: E402
import redkeep.client  # noqa: E402


def test_methods_pipeline_watch_lock(redis_url: str) -> None:
    r = redkeep.Redis.from_url(redis_url, decode_responses=True)
    assert r.set("k", "v", ex=60) is True
    assert r.get("k") == "v" and 0 < r.ttl("k") <= 60
    assert r.hset("h", mapping={"a": "1"}) == 1 and r.hgetall("h") == {"a": "1"}
    p = r.pipeline(transaction=False)
    assert p.set("n", 1).incr("n").get("n").execute() == [True, 2, "2"]
    assert r.transaction(lambda pipe: (pipe.multi(), pipe.incr("n")), "n") == [3]
    with r.lock("L", timeout=5):
        assert r.exists("L") == 1
    assert sorted(r.scan_iter(match="[kn]")) == ["k", "n"]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.hget("k", "x")


def test_redis_py_retry_never_resends(redis_url: str) -> None:
    r = redkeep.Redis.from_url(redis_url, retry_on_timeout=True)
    assert r.get_retry().get_retries() == 0
    conn = r.connection_pool.get_connection()
    assert conn.retry.get_retries() == 0


def test_shared_path_refuses_connection_state(redis_url: str) -> None:
    r = redkeep.Redis.from_url(redis_url)
    with pytest.raises(redkeep.client.RefusedError, match="SETNAME"):
        r.client_setname("x")
    c = r.client()  # one exclusive connection: per-connection state works there
    assert c.client_setname("x") is True and c.client_getname() == "x"
    c.close()


def test_fast_fail_is_both_error_families() -> None:
    with redkeep.ensure_server(port=0) as server:
        url = server.url
        r = redkeep.Redis.from_url(url, socket_timeout=0.5)
        assert r.ping() is True
    deadline = time.monotonic() + 5
    while r.health().state != "down" and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(redis.ConnectionError) as info:
        r.get("k")
    assert isinstance(info.value, redkeep.UnavailableError)


def _next_message(p: "redkeep.client.PubSub", timeout: float) -> object:
    """The next message that is not an (ignored) subscribe confirmation."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = p.get_message(timeout=0.2)
        if m is not None:
            return m
    return None


def test_pubsub_resubscribes_after_restart(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="redkeep")
    with redkeep.ensure_server(port=0) as first:
        port = first.port
        r = redkeep.Redis(host="127.0.0.1", port=port)
        p = r.pubsub(ignore_subscribe_messages=True)
        p.subscribe("news")
        r.publish("news", "one")
        assert _next_message(p, 2)["data"] == b"one"  # type: ignore[index]
    with redkeep.ensure_server(port=port):
        deadline = time.monotonic() + 10
        got = None
        while got is None and time.monotonic() < deadline:
            try:
                p.get_message(timeout=0.2)  # re-subscribes once the pool is up
                if r.publish("news", "two") >= 1:
                    got = _next_message(p, 2)
            except redis.ConnectionError:
                time.sleep(0.1)
        assert got is not None and got["data"] == b"two"  # type: ignore[index]
    assert any("re-subscribed" in rec.getMessage() for rec in caplog.records)


def test_asyncio_client(redis_url: str) -> None:
    async def main() -> None:
        r = redkeep.asyncio.Redis.from_url(redis_url, decode_responses=True)
        assert await r.set("ak", "v") is True
        assert await r.get("ak") == "v"
        async with r.pipeline(transaction=True) as pipe:
            pipe.incr("an").incr("an")
            assert await pipe.execute() == [1, 2]
        p = r.pubsub()
        await p.subscribe("ch")
        assert (await p.get_message(timeout=1))["type"] == "subscribe"
        await r.publish("ch", "hi")
        m = await p.get_message(timeout=2)
        assert m is not None and m["data"] == "hi"
        await p.aclose()

    asyncio.run(main())
