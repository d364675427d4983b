"""Every `execute`, sync and asyncio, takes the core's one call path: a
blocking command never holds up other calls, a connection-state command is
refused unsent, a connect is bounded by `socket_connect_timeout`, and
`close()` ends the calls in flight.

The figures the contract speaks of (p99 latency, time to fail) are printed:
run with `-s` to see them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Optional

import pytest

import redkeep
import redkeep.asyncio
from conftest import wait_until

#: What the contract promises for a call on the shared path while another
#: caller blocks, and what the tests assert (generous: CI machines are busy).
P99_PROMISED = 0.010
P99_ASSERTED = 0.050


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def blocked_clients(pool: redkeep.Pool) -> int:
    info = pool.execute("INFO", "clients")
    for line in info.decode().splitlines():
        if line.startswith("blocked_clients:"):
            return int(line.split(":", 1)[1])
    raise AssertionError(f"no blocked_clients in {info!r}")


@contextlib.contextmanager
def silent_peer() -> Iterator[int]:
    """A TCP listener that accepts (the kernel does) and never replies."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield int(s.getsockname()[1])


@contextlib.contextmanager
def stopped(server: redkeep.Server) -> Iterator[None]:
    """The server SIGSTOPped: connections stay open, nothing is answered."""
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


# --- a blocking command never holds up other callers -------------------------


def test_sets_from_another_thread_stay_fast_while_one_thread_blocks_in_blpop(
    redis_server: redkeep.Server, redis_pool: redkeep.Pool
) -> None:
    blpop: dict[str, Any] = {}

    def block() -> None:
        t0 = time.monotonic()
        blpop["reply"] = redis_pool.execute("BLPOP", "q", 3)
        blpop["elapsed"] = time.monotonic() - t0

    blocker = threading.Thread(target=block)
    blocker.start()
    assert wait_until(lambda: blocked_clients(redis_pool) == 1, timeout=2)

    samples: list[float] = []

    def sets() -> None:
        for i in range(500):
            t0 = time.perf_counter()
            redis_pool.execute("SET", f"k{i}", i)
            samples.append(time.perf_counter() - t0)

    setter = threading.Thread(target=sets)
    setter.start()
    setter.join()
    still_blocked = blocked_clients(redis_pool)
    blocker.join()

    print(f"\nSET p99 while a thread blocks in BLPOP: {p99(samples) * 1e3:.2f} ms "
          f"(max {max(samples) * 1e3:.2f} ms, {len(samples)} calls)")
    assert still_blocked == 1, "the BLPOP ended before the SETs did"
    assert blpop["reply"] is None and blpop["elapsed"] >= 2.9
    assert p99(samples) < P99_ASSERTED
    assert redis_pool.execute("GET", "k499") == b"499"


def test_set_tasks_stay_fast_while_one_asyncio_task_blocks_in_blpop(
    redis_server: redkeep.Server,
) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url) as p:
            t0 = time.monotonic()
            blocker = asyncio.ensure_future(p.execute("BLPOP", "q", 3))

            async def blocked() -> int:
                info = await p.execute("INFO", "clients")
                line = next(
                    x for x in info.decode().splitlines() if x.startswith("blocked_clients:")
                )
                return int(line.split(":", 1)[1])

            deadline = time.monotonic() + 2
            while await blocked() != 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert await blocked() == 1

            samples: list[float] = []

            async def sets() -> None:
                for i in range(500):
                    s0 = time.perf_counter()
                    await p.execute("SET", f"k{i}", i)
                    samples.append(time.perf_counter() - s0)

            await asyncio.ensure_future(sets())
            still_blocked = await blocked()
            assert await blocker is None
            elapsed = time.monotonic() - t0

            print(f"\nSET p99 while an asyncio task blocks in BLPOP: "
                  f"{p99(samples) * 1e3:.2f} ms (max {max(samples) * 1e3:.2f} ms, "
                  f"{len(samples)} calls)")
            assert still_blocked == 1, "the BLPOP ended before the SETs did"
            assert elapsed >= 2.9
            assert p99(samples) < P99_ASSERTED

    asyncio.run(main())


# --- connection-state commands are refused, unsent ----------------------------

REFUSED = [
    ("SELECT", 1),
    ("MULTI",),
    ("WATCH", "k"),
    ("SUBSCRIBE", "c"),
    ("CLIENT", "SETNAME", "x"),
]

#: How `INFO commandstats` names each of them once it has run.
REFUSED_STATS = [
    "cmdstat_select:",
    "cmdstat_multi:",
    "cmdstat_watch:",
    "cmdstat_subscribe:",
    "cmdstat_client|setname:",
]


def commandstats(pool: redkeep.Pool) -> str:
    return str(pool.execute("INFO", "commandstats").decode())


def test_connection_state_commands_are_refused_unsent_and_incrs_all_land_in_db_0(
    redis_server: redkeep.Server,
) -> None:
    with redkeep.Pool(redis_server.url) as p:
        p.execute("CONFIG", "RESETSTAT")
        for cmd in REFUSED:
            with pytest.raises(redkeep.RefusedError) as e:
                p.execute(*cmd)
            assert isinstance(e.value, ValueError)
            assert isinstance(e.value, redkeep.RedisError)
            assert "not sent" in str(e.value), str(e.value)
            assert str(cmd[0]) in str(e.value)
        # Lower case is the same command.
        with pytest.raises(redkeep.RefusedError):
            p.execute("select", 1)
        stats = commandstats(p)
        for name in REFUSED_STATS:
            assert name not in stats, f"{name} reached the server:\n{stats}"
        # A CLIENT subcommand that only reads is not refused.
        assert isinstance(p.execute("CLIENT", "ID"), int)

        with ThreadPoolExecutor(max_workers=50) as ex:
            replies = list(ex.map(lambda _: p.execute("INCR", "counter"), range(50)))
        assert sorted(replies) == list(range(1, 51))
        assert p.execute("GET", "counter") == b"50"
        keyspace = p.execute("INFO", "keyspace").decode()
        assert "db0:keys=1," in keyspace and "db1:" not in keyspace, keyspace
        assert "cmdstat_select:" not in commandstats(p)


def test_asyncio_connection_state_commands_are_refused_unsent_and_incrs_all_land_in_db_0(
    redis_server: redkeep.Server, redis_pool: redkeep.Pool
) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url) as p:
            await p.execute("CONFIG", "RESETSTAT")
            for cmd in REFUSED:
                with pytest.raises(redkeep.RefusedError) as e:
                    await p.execute(*cmd)
                assert isinstance(e.value, ValueError)
                assert "not sent" in str(e.value), str(e.value)
            replies = await asyncio.gather(*(p.execute("INCR", "counter") for _ in range(50)))
            assert sorted(replies) == list(range(1, 51))

    asyncio.run(main())
    stats = commandstats(redis_pool)
    for name in REFUSED_STATS:
        assert name not in stats, f"{name} reached the server:\n{stats}"
    assert redis_pool.execute("GET", "counter") == b"50"
    keyspace = redis_pool.execute("INFO", "keyspace").decode()
    assert "db0:keys=1," in keyspace and "db1:" not in keyspace, keyspace


# --- a connect is bounded by socket_connect_timeout ---------------------------


def test_execute_against_a_silent_peer_times_out_in_socket_connect_timeout() -> None:
    with silent_peer() as port:
        p = redkeep.Pool(
            f"redis://127.0.0.1:{port}", socket_connect_timeout=1.0, lazy=True
        )
        try:
            t0 = time.monotonic()
            with pytest.raises(redkeep.TimeoutError) as e:
                p.execute("GET", "k")
            elapsed = time.monotonic() - t0
        finally:
            p.close()
    print(f"\nexecute against a silent peer failed after {elapsed:.3f} s "
          f"(socket_connect_timeout=1.0, phase {e.value.phase})")
    assert isinstance(e.value, TimeoutError)
    assert e.value.phase == "connect"
    assert 0.9 <= elapsed <= 1.5


def test_asyncio_execute_against_a_silent_peer_times_out_in_socket_connect_timeout() -> None:
    async def main() -> tuple[float, redkeep.TimeoutError]:
        p = redkeep.asyncio.Pool(
            f"redis://127.0.0.1:{port}", socket_connect_timeout=1.0, lazy=True
        )
        try:
            t0 = time.monotonic()
            with pytest.raises(redkeep.TimeoutError) as e:
                await p.execute("GET", "k")
            return time.monotonic() - t0, e.value
        finally:
            await p.aclose()

    with silent_peer() as port:
        elapsed, err = asyncio.run(main())
    print(f"\nasyncio execute against a silent peer failed after {elapsed:.3f} s "
          f"(socket_connect_timeout=1.0, phase {err.phase})")
    assert err.phase == "connect"
    assert 0.9 <= elapsed <= 1.5


# --- close() ends the calls in flight -----------------------------------------


@pytest.mark.parametrize(
    "cmd",
    [("GET", "k"), ("BLPOP", "q", 0)],
    ids=["GET on the calling thread", "BLPOP on the runtime"],
)
def test_close_from_another_thread_ends_an_in_flight_execute_against_a_stopped_server(
    redis_server_fresh: redkeep.Server, cmd: tuple[Any, ...]
) -> None:
    # socket_timeout (5 s) and the health watch are far away: only close() can end it.
    p = redkeep.Pool(redis_server_fresh.url, socket_timeout=5, health_check_interval=30)
    assert p.execute("PING") == "PONG"
    closing: dict[str, float] = {}

    def close_soon() -> None:
        time.sleep(0.3)
        closing["at"] = time.monotonic()
        p.close()
        closing["returned"] = time.monotonic()

    closer = threading.Thread(target=close_soon)
    err: Optional[BaseException] = None
    with stopped(redis_server_fresh):
        closer.start()
        try:
            p.execute(*cmd)
        except BaseException as e:  # noqa: BLE001
            err = e
        ended = time.monotonic()
        closer.join(timeout=10)
    assert "at" in closing, "close() never ran"
    took = ended - closing["at"]
    print(f"\nclose() ended an in-flight {cmd[0]} after {took * 1e3:.1f} ms "
          f"(close() returned after {(closing.get('returned', ended) - closing['at']) * 1e3:.1f} ms)")
    assert isinstance(err, redkeep.ClosedError), repr(err)
    assert took < 0.5
    assert p.health().state == "closed"


@pytest.mark.parametrize("cmd", [("GET", "k"), ("BLPOP", "q", 0)], ids=["GET", "BLPOP"])
def test_aclose_ends_an_in_flight_asyncio_execute_against_a_stopped_server(
    redis_server_fresh: redkeep.Server, cmd: tuple[Any, ...]
) -> None:
    async def main() -> tuple[float, Optional[BaseException]]:
        p = redkeep.asyncio.Pool(
            redis_server_fresh.url, socket_timeout=5, health_check_interval=30
        )
        await p.connect()
        assert await p.execute("PING") == "PONG"
        with stopped(redis_server_fresh):
            task = asyncio.ensure_future(p.execute(*cmd))
            await asyncio.sleep(0.3)
            assert not task.done()
            t0 = time.monotonic()
            await p.aclose()
            err: Optional[BaseException] = None
            try:
                await asyncio.wait_for(task, 5)
            except BaseException as e:  # noqa: BLE001
                err = e
            took = time.monotonic() - t0
        assert p.health().state == "closed"
        return took, err

    took, err = asyncio.run(main())
    print(f"\naclose() ended an in-flight asyncio {cmd[0]} after {took * 1e3:.1f} ms")
    assert isinstance(err, redkeep.ClosedError), repr(err)
    assert took < 0.5


def test_asyncio_health_after_close_is_closed_and_execute_raises_the_closed_error(
    redis_server: redkeep.Server,
) -> None:
    async def main() -> None:
        p = redkeep.asyncio.Pool(redis_server.url)
        await p.connect()
        assert p.health().state == "up"
        await p.aclose()
        assert p.health().state == "closed"
        for cmd in (("GET", "k"), ("SET", "k", "v"), ("BLPOP", "q", 1)):
            with pytest.raises(redkeep.ClosedError, match="closed"):
                await p.execute(*cmd)
        # Closed before it ever connected.
        never = redkeep.asyncio.Pool(redis_server.url)
        await never.aclose()
        assert never.health().state == "closed"
        with pytest.raises(redkeep.ClosedError):
            await never.execute("PING")

    asyncio.run(main())
