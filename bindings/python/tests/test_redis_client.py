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


def test_pubsub_sharded_messages_and_confirmations(redis_url: str) -> None:
    r = redkeep.Redis.from_url(redis_url)
    p = r.pubsub()
    p.ssubscribe("s1", "s2")
    assert p.get_sharded_message(timeout=1) == {
        "type": "ssubscribe", "pattern": None, "channel": b"s1", "data": 1
    }
    assert p.get_sharded_message(timeout=1)["data"] == 2  # type: ignore[index]
    p.subscribe("plain")  # the server counts shard channels apart
    assert p.get_message(timeout=1)["data"] == 1  # type: ignore[index]
    assert set(p.shard_channels) == {b"s1", b"s2"} and p.subscribed
    assert r.spublish("s1", "hi") == 1
    assert p.get_sharded_message(timeout=2) == {
        "type": "smessage", "pattern": None, "channel": b"s1", "data": b"hi"
    }
    p.sunsubscribe()
    got = [p.get_sharded_message(timeout=1) for _ in range(2)]
    assert sorted((m["channel"], m["data"]) for m in got) == [(b"s1", 1), (b"s2", 0)]  # type: ignore[index]
    assert p.shard_channels == {} and r.spublish("s1", "gone") == 0
    p.close()


def test_pubsub_shard_channels_resubscribe_after_restart() -> None:
    with redkeep.ensure_server(port=0) as first:
        port = first.port
        r = redkeep.Redis(host="127.0.0.1", port=port)
        p = r.pubsub(ignore_subscribe_messages=True)
        p.ssubscribe("orders")
        r.spublish("orders", "one")
        assert _next_message(p, 2)["data"] == b"one"  # type: ignore[index]
    with redkeep.ensure_server(port=port):
        deadline = time.monotonic() + 10
        got = None
        while got is None and time.monotonic() < deadline:
            try:
                p.get_sharded_message(timeout=0.2)  # re-subscribes once the pool is up
                if r.spublish("orders", "two") >= 1:
                    got = _next_message(p, 2)
            except redis.ConnectionError:
                time.sleep(0.1)
        assert got is not None and got["type"] == "smessage"  # type: ignore[index]
        assert got["data"] == b"two"  # type: ignore[index]
        p.close()


def test_asyncio_pubsub_sharded(redis_url: str) -> None:
    async def main() -> None:
        r = redkeep.asyncio.Redis.from_url(redis_url, decode_responses=True)
        p = r.pubsub()
        await p.ssubscribe("s1")
        assert await p.get_message(timeout=1) == {
            "type": "ssubscribe", "pattern": None, "channel": "s1", "data": 1
        }
        assert await r.spublish("s1", "hi") == 1
        m = await p.get_message(timeout=2)
        assert m == {"type": "smessage", "pattern": None, "channel": "s1", "data": "hi"}
        await p.sunsubscribe("s1")
        m = await p.get_message(timeout=1)
        assert m is not None and (m["type"], m["data"]) == ("sunsubscribe", 0)
        assert await r.spublish("s1", "gone") == 0
        await p.aclose()

    asyncio.run(main())


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


def test_asyncio_pubsub_closes_while_a_reader_waits(redis_url: str) -> None:
    """aclose() while another task waits in listen() ends that wait and
    drops the subscription; a reader task and subscribe() racing to open
    the connection open one, not two."""

    async def numsub(r: redkeep.asyncio.Redis, channel: str) -> int:
        return int(dict(await r.pubsub_numsub(channel)).get(channel.encode(), 0))

    async def until_numsub(r: redkeep.asyncio.Redis, channel: str, n: int) -> int:
        for _ in range(250):  # up to 5 s
            got = await numsub(r, channel)
            if got == n:
                break
            await asyncio.sleep(0.02)
        return got

    async def main() -> None:
        r = redkeep.asyncio.Redis.from_url(redis_url)
        p = r.pubsub()
        await p.subscribe("rw")
        assert (await p.get_message(timeout=1))["type"] == "subscribe"

        async def reader() -> None:
            async for _ in p.listen():
                pass

        task = asyncio.create_task(reader())
        await asyncio.sleep(0.05)
        await p.aclose()
        assert await until_numsub(r, "rw", 0) == 0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        # run()'s first read and subscribe() both open the connection.
        messages: asyncio.Queue[object] = asyncio.Queue()
        q = r.pubsub()
        await q.connect()
        runner = asyncio.create_task(q.run(poll_timeout=0.05))
        await q.subscribe(late=messages.put_nowait)
        assert await until_numsub(r, "late", 1) == 1
        await r.publish("late", "x")
        msg = await asyncio.wait_for(messages.get(), 5)
        assert isinstance(msg, dict) and msg["data"] == b"x"
        clients = [c for c in await r.client_list() if c.get("sub") != "0"]
        assert len(clients) == 1, clients
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await q.aclose()

    asyncio.run(main())


def test_asyncio_cancelled_call_frees_a_single_connection_client(redis_url: str) -> None:
    """A call cancelled on a single-connection client (a BLPOP still
    waiting on the server) does not hold up the next call: its connection
    is dropped and the next call gets another."""

    async def main() -> None:
        r = await redkeep.asyncio.Redis.from_url(redis_url).client()
        task = asyncio.create_task(r.blpop(["never-pushed"], 0))
        await asyncio.sleep(0.1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert await asyncio.wait_for(r.set("after-cancel", "ok"), 5) is True
        assert await r.get("after-cancel") == b"ok"
        await r.aclose()

    asyncio.run(main())
