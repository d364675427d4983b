"""redkeep.Redis.monitor() / redkeep.asyncio.Redis.monitor(): redis-py's
Monitor over the core's MONITOR connection (Pool::monitor), against real
redis-servers."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict

import pytest

import redkeep

redis = pytest.importorskip("redis")

import redkeep.asyncio  # noqa: E402
import redkeep.client  # noqa: E402


def _until(m: Any, needle: str) -> Dict[str, Any]:
    """The first command seen by `m` whose text contains `needle` (the
    health watch's PINGs and other clients' commands are skipped)."""
    for _ in range(1000):
        cmd: Dict[str, Any] = m.next_command()
        if needle in cmd["command"]:
            return cmd
    raise AssertionError(f"no command with {needle!r}")


def test_monitor_sees_the_clients_commands_as_redis_py_parses_them(redis_url: str) -> None:
    r = redkeep.Redis.from_url(redis_url)
    with r.monitor() as m:
        assert isinstance(m, redis.client.Monitor)
        r.set("mon:k", 'a "quoted" value')
        cmd = _until(m, "mon:k")
        assert cmd["command"] == 'SET mon:k a "quoted" value'
        assert cmd["db"] == 0 and isinstance(cmd["time"], float)
        assert cmd["client_type"] == "tcp" and cmd["client_address"] == "127.0.0.1"
        assert int(cmd["client_port"]) > 0
        with r.pipeline() as pipe:  # an exclusive connection too
            pipe.watch("mon:k")
            pipe.reset()
        assert _until(m, "UNWATCH")["command"] == "UNWATCH"
        r.get("mon:listen")
        for cmd in m.listen():
            if "mon:listen" in cmd["command"]:
                assert cmd["command"] == "GET mon:listen"
                break
    assert m.connection._native is None


def test_monitor_with_decode_responses_and_a_read_timeout() -> None:
    # A server of its own: only this client's health watch pings it (every
    # 0.5 s), so a read of at most socket_timeout=0.3 s comes back empty.
    with redkeep.ensure_server(port=0) as server:
        r = redkeep.Redis.from_url(server.url, decode_responses=True, socket_timeout=0.3)
        m = r.monitor()
        r.incr("mon:n")  # before the monitor is open: never seen
        with m:
            r.incr("mon:n2")
            assert _until(m, "mon:n")["command"] == "INCRBY mon:n2 1"
            started = time.monotonic()
            with pytest.raises(redis.TimeoutError) as info:
                for _ in range(100):
                    m.next_command()
            assert isinstance(info.value, redkeep.TimeoutError)
            assert time.monotonic() - started < 5
        r.close()


def test_a_monitor_whose_server_dies_raises_and_a_down_pool_fails_fast() -> None:
    with redkeep.ensure_server(port=0) as server:
        r = redkeep.Redis.from_url(server.url)
        m = r.monitor()
        m.__enter__()
        r.set("mon:before", 1)
        _until(m, "mon:before")
    # The server is gone: lines already read, then ConnectionError.
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError) as info:
        for _ in range(1000):
            m.next_command()
    assert isinstance(info.value, redkeep.ConnectionError)
    assert time.monotonic() - started < 5
    with pytest.raises(redis.ConnectionError):  # and stays so: no reconnect
        m.next_command()
    m.close()
    deadline = time.monotonic() + 5
    while r.health().state != "down" and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    with pytest.raises(redkeep.UnavailableError):
        with r.monitor():
            pass
    assert time.monotonic() - started < 0.5


def test_asyncio_monitor(redis_url: str) -> None:
    async def until(m: Any, needle: str) -> Dict[str, Any]:
        for _ in range(1000):
            cmd: Dict[str, Any] = await m.next_command()
            if needle in cmd["command"]:
                return cmd
        raise AssertionError(needle)

    async def main() -> None:
        r = redkeep.asyncio.Redis.from_url(redis_url, decode_responses=True)
        async with r.monitor() as m:
            assert isinstance(m, redis.asyncio.client.Monitor)
            await r.set("amon:k", "v")
            cmd = await until(m, "amon:k")
            assert cmd["command"] == "SET amon:k v" and cmd["client_type"] == "tcp"
            async with r.pipeline() as pipe:
                await pipe.watch("amon:k")
                await pipe.reset()
            assert (await until(m, "UNWATCH"))["command"] == "UNWATCH"
            # A read cancelled by its timeout loses no line.
            for _ in range(20):
                try:
                    await asyncio.wait_for(m.next_command(), timeout=0.001)
                except asyncio.TimeoutError:
                    pass
            await r.get("amon:after")
            async for cmd in m.listen():
                if "amon:" in cmd["command"]:
                    assert cmd["command"] == "GET amon:after"
                    break
        assert m.connection._native is None
        await r.aclose()

    asyncio.run(main())


def test_asyncio_monitor_ends_with_an_error_when_the_server_dies() -> None:
    async def main(server: Any) -> None:
        r = redkeep.asyncio.Redis.from_url(server.url)
        m = r.monitor()
        await m.__aenter__()  # or the first next_command()
        await r.set("amon:before", 1)
        while "amon:before" not in (await m.next_command())["command"]:
            pass
        server.close()

        async def drain() -> None:
            for _ in range(1000):
                await m.next_command()

        with pytest.raises(redis.ConnectionError):
            await asyncio.wait_for(drain(), timeout=5)
        await m.__aexit__(None, None, None)
        await r.aclose()

    with redkeep.ensure_server(port=0) as server:
        asyncio.run(main(server))
