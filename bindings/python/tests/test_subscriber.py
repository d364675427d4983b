"""redkeep.Subscriber: redis-py-shaped messages, and a subscriber that
keeps receiving after its server is SIGKILLed and started again."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any, Optional

import pytest

import redkeep
import redkeep.asyncio
from conftest import free_port


def next_message(sub: redkeep.Subscriber, timeout: float = 10.0) -> dict[str, Any]:
    msg: Optional[dict[str, Any]] = sub.get_message(timeout=timeout)
    assert msg is not None, "nothing within the timeout"
    return msg


def test_messages_have_redis_py_shape(redis_server: redkeep.Server) -> None:
    with redkeep.Pool(redis_server.url) as p, p.subscriber() as sub:
        sub.subscribe("news")
        sub.psubscribe("alert.*")
        assert sub.get_message() is None  # nothing there: no wait
        assert p.execute("PUBLISH", "news", "one") == 1
        assert next_message(sub) == {
            "type": "message", "pattern": None, "channel": b"news", "data": b"one"
        }
        p.execute("PUBLISH", "alert.fire", b"\x00hot")
        assert next_message(sub) == {
            "type": "pmessage", "pattern": b"alert.*", "channel": b"alert.fire", "data": b"\x00hot"
        }
        sub.unsubscribe()
        assert p.execute("PUBLISH", "news", "gone") == 0
        with pytest.raises(ValueError):
            sub.get_message(timeout=-1)
    assert sub.closed
    with pytest.raises(redkeep.ClosedError):
        sub.subscribe("x")
    with pytest.raises(redkeep.ClosedError):
        sub.get_message()


def test_a_subscriber_survives_a_restart() -> None:
    port = free_port()
    server = redkeep.ensure_server(port=port, max_restarts=0)
    pid = server.pid
    assert pid is not None
    with redkeep.Pool(
        server.url, health_check_interval=0.1, retry_backoff_min=0.02,
        retry_backoff_max=0.2, decode_responses=True,
    ) as p:
        sub = p.subscriber()
        sub.subscribe("news")
        sub.psubscribe("alert.*")
        p.execute("PUBLISH", "news", "one")
        assert next_message(sub)["data"] == "one"

        os.kill(pid, signal.SIGKILL)
        gone = next_message(sub)
        assert gone["type"] == "disconnected" and gone["data"], gone
        with pytest.raises(redkeep.UnavailableError):
            sub.subscribe("late")  # kept: subscribed when it is back
        server.close()
        with redkeep.ensure_server(port=port, max_restarts=0):
            back = next_message(sub)
            assert back == {
                "type": "resubscribed", "pattern": None, "channel": None,
                "data": {
                    "channels": ["late", "news"], "patterns": ["alert.*"], "shard_channels": [],
                },
            }
            assert p.execute("PUBLISH", "late", "two") == 1
            assert next_message(sub)["data"] == "two"
            p.execute("PUBLISH", "alert.x", "three")
            msg = next_message(sub)
            assert (msg["type"], msg["pattern"], msg["data"]) == ("pmessage", "alert.*", "three")
            sub.close()
            assert list(sub.listen()) == []


def test_shard_channels_survive_a_restart() -> None:
    port = free_port()
    server = redkeep.ensure_server(port=port, max_restarts=0)
    pid = server.pid
    assert pid is not None
    with redkeep.Pool(
        server.url, health_check_interval=0.1, retry_backoff_min=0.02,
        retry_backoff_max=0.2,
    ) as p:
        sub = p.subscriber()
        sub.ssubscribe("orders", "stock")
        assert p.execute("SPUBLISH", "orders", "one") == 1
        assert next_message(sub) == {
            "type": "smessage", "pattern": None, "channel": b"orders", "data": b"one"
        }
        os.kill(pid, signal.SIGKILL)
        assert next_message(sub)["type"] == "disconnected"
        server.close()
        with redkeep.ensure_server(port=port, max_restarts=0):
            back = next_message(sub)
            assert back["type"] == "resubscribed"
            assert back["data"]["shard_channels"] == [b"orders", b"stock"]
            assert p.execute("SPUBLISH", "stock", "two") == 1
            assert next_message(sub)["data"] == b"two"
            sub.sunsubscribe()
            assert p.execute("SPUBLISH", "stock", "gone") == 0
            sub.close()


def test_asyncio_subscriber(redis_server: redkeep.Server) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url, decode_responses=True) as p:
            sub = await p.subscriber()
            assert isinstance(sub, redkeep.asyncio.Subscriber)
            await sub.subscribe("news")
            assert await sub.get_message() is None
            await p.execute("PUBLISH", "news", "one")
            msg = await sub.get_message(timeout=10)
            assert msg == {"type": "message", "pattern": None, "channel": "news", "data": "one"}
            await p.execute("PUBLISH", "news", "two")
            async for m in sub.listen():
                assert m["data"] == "two"
                break
            # Cancelling a wait loses nothing.
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(sub.get_message(timeout=None), 0.1)
            await p.execute("PUBLISH", "news", "three")
            msg = await sub.get_message(timeout=10)
            assert msg is not None and msg["data"] == "three"
            await sub.ssubscribe("orders")
            await p.execute("SPUBLISH", "orders", "four")
            msg = await sub.get_message(timeout=10)
            assert msg == {"type": "smessage", "pattern": None, "channel": "orders", "data": "four"}
            await sub.sunsubscribe("orders")
            assert await p.execute("SPUBLISH", "orders", "gone") == 0
            await sub.aclose()
            assert [m async for m in sub.listen()] == []

    asyncio.run(main())
