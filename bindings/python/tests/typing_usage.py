"""Checked by `mypy --strict` (tests/test_typing.py): the stubs describe the
API as users write it. Lines with `type: ignore[...]` must be errors: under
--strict an unneeded ignore is itself an error."""

from __future__ import annotations

import asyncio
from typing import Optional

import redkeep
import redkeep.asyncio


def sync_usage(url: str) -> int:
    with redkeep.Pool(
        url,
        max_connections=8,
        socket_timeout=0.5,
        socket_connect_timeout=1,
        pool_timeout=1.0,
        health_check_interval=0.25,
        retry_backoff_min=0.05,
        retry_backoff_max=2,
        decode_responses=True,
    ) as pool:
        pool.execute("SET", "k", b"v", 1, 2.5, bytearray(b"x"))
        value = pool.execute("GET", "k")
        assert value is None or isinstance(value, (bytes, str))
        health: redkeep.Health = pool.health()
        state: str = health.state
        assert state in ("up", "degraded", "down", "closed")
        since: float = health.since
        err: Optional[str] = health.last_error
        rtt: Optional[float] = health.rtt
        stats = pool.stats()
        total: int = stats.checkouts + stats.fast_fails + stats.to_dict()["connects"]
        total += stats.shared_open + stats.thread_open + stats.thread_idle
        closed: bool = pool.closed
        print(state, since, err, rtt, closed)
    pool.close()
    pool.execute("SET", "k", None)  # type: ignore[arg-type]
    pool.execute(["GET"])  # type: ignore[arg-type]
    redkeep.Pool(url, max_connections="8")  # type: ignore[arg-type]
    redkeep.Pool(url, 8)  # type: ignore[call-arg]
    return total


async def async_usage(url: str) -> None:
    async with redkeep.asyncio.Pool(url, spawn_if_absent=True) as pool:
        await pool.execute("PING")
        await pool.connect()
        h: redkeep.asyncio.Health = pool.health()
        s: redkeep.asyncio.Stats = pool.stats()
        print(h.is_up, s.size)
    await pool.aclose()
    await pool.close()
    await pool.health()  # type: ignore[misc]  # health() is not awaitable


def server_usage() -> None:
    with redkeep.ensure_server(port=0, password="pw", args=["--maxmemory", "64mb"]) as server:
        url: str = server.url
        host: Optional[str] = server.host
        port: Optional[int] = server.port
        spawned: bool = server.spawned
        pid: Optional[int] = server.pid
        print(url, host, port, spawned, pid, server.status, server.redacted_url)
    redkeep.ensure_server(unix_socket=True, ready_timeout=5).close()
    redkeep.ensure_server(port="6379")  # type: ignore[arg-type]


def errors() -> None:
    try:
        sync_usage("redis://127.0.0.1:6379")
    except redkeep.TimeoutError as e:
        phase: str = e.phase
        print(phase)
    except redkeep.UnavailableError:
        pass
    except redkeep.ConnectionError:
        pass
    except (redkeep.ResponseError, redkeep.SpawnError, redkeep.ClosedError) as e:
        base: redkeep.RedisError = e
        print(base)
    except redkeep.ConfigError as e:
        v: ValueError = e
        print(v)
    except redkeep.RefusedError as e:
        refused: ValueError = e
        redis_error: redkeep.RedisError = e
        print(refused, redis_error)
    builtin_timeout: TimeoutError = redkeep.TimeoutError("x")
    builtin_conn: ConnectionError = redkeep.ConnectionError("x")
    print(builtin_timeout, builtin_conn)


if __name__ == "__main__":
    asyncio.run(async_usage("redis://127.0.0.1:6379"))


def redis_py_client(url: str) -> None:
    """redkeep.Redis is redis-py's client: its methods type-check as redis-py's."""
    import redkeep.asyncio

    r = redkeep.Redis.from_url(url, decode_responses=True)
    r.set("k", "v", ex=60)
    with r.pipeline() as pipe:
        pipe.incr("n")
        pipe.execute()
    state: str = r.health().state
    print(state)
    ar = redkeep.asyncio.Redis.from_url(url)
    print(ar)
