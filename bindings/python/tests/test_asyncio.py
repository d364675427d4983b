"""redkeep.asyncio.Pool: awaitables, cancellation, async context manager."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import time

import pytest

import redkeep
import redkeep.asyncio
from conftest import free_port, wait_until


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_round_trip(redis_server: redkeep.Server) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url) as p:
            assert await p.execute("SET", "k", "v") == "OK"
            assert await p.execute("GET", "k") == b"v"
            assert await p.execute("GET", "missing") is None
            assert await p.execute("INCR", "n") == 1
            assert await p.execute("RPUSH", "l", 1, 2) == 2
            assert await p.execute("LRANGE", "l", 0, -1) == [b"1", b"2"]
            got = await asyncio.gather(*(p.execute("INCR", "c") for _ in range(500)))
            assert sorted(got) == list(range(1, 501))
            assert p.health().state == "up"
            assert p.stats().connects >= 1
        assert p.closed

    run(main())


def test_execute_uses_a_shared_connection(redis_server: redkeep.Server) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url) as p:
            assert await p.execute("PING") == "PONG"
            assert p.stats().shared_open >= 1, p.stats()

    run(main())


def test_decode_responses(redis_server: redkeep.Server) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url, decode_responses=True) as p:
            await p.execute("SET", "k", "é")
            assert await p.execute("GET", "k") == "é"

    run(main())


def test_errors(redis_server: redkeep.Server) -> None:
    async def main() -> None:
        p = redkeep.asyncio.Pool(redis_server.url)
        await p.connect()
        await p.execute("SET", "k", "v")
        with pytest.raises(redkeep.ResponseError):
            await p.execute("INCR", "k")
        with pytest.raises(TypeError):
            await p.execute("SET", "k", None)
        await p.aclose()
        await p.aclose()
        with pytest.raises(redkeep.ClosedError):
            await p.execute("PING")

        with pytest.raises(redkeep.ConnectionError):
            async with redkeep.asyncio.Pool(f"redis://127.0.0.1:{free_port()}"):
                pass
        with pytest.raises(redkeep.ConfigError):
            redkeep.asyncio.Pool("http://nope")


    run(main())


def test_command_timeout_names_the_phase(redis_server_fresh: redkeep.Server) -> None:
    # A SIGSTOPped server keeps the connection open and never answers.
    pid = redis_server_fresh.pid
    assert pid is not None

    async def main() -> None:
        async with redkeep.asyncio.Pool(
            redis_server_fresh.url, socket_timeout=0.2, health_check_interval=30
        ) as q:
            await q.execute("PING")
            os.kill(pid, signal.SIGSTOP)
            try:
                with pytest.raises(redkeep.TimeoutError) as e:
                    await q.execute("GET", "k")
            finally:
                os.kill(pid, signal.SIGCONT)
            assert e.value.phase == "command"

    run(main())


def test_constructor_does_not_block_and_connects_lazily(redis_server: redkeep.Server) -> None:
    async def main() -> None:
        p = redkeep.asyncio.Pool(redis_server.url)
        assert p.health().state == "degraded"  # nothing built yet
        assert await p.execute("PING") == "PONG"
        await p.aclose()

    run(main())


def test_cancelling_the_task_cancels_the_rust_future(redis_server: redkeep.Server) -> None:
    """With one exclusive connection taken, a second BLPOP waits in the
    pool's queue; cancelling its task must remove it from that queue (the
    Rust future is dropped), and the pool stays usable."""

    async def main() -> None:
        async with redkeep.asyncio.Pool(
            redis_server.url, max_connections=1, pool_timeout=30
        ) as p:
            holder = asyncio.ensure_future(p.execute("BLPOP", "q1", 0))
            await asyncio.sleep(0.2)
            waiter = asyncio.ensure_future(p.execute("BLPOP", "q2", 0))
            await asyncio.sleep(0.2)
            assert p.stats().waiting == 1
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            deadline = time.monotonic() + 5
            while p.stats().waiting != 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert p.stats().waiting == 0, "the cancelled request is still queued"
            # Shared path unaffected; the holder is served when its key arrives.
            assert await p.execute("RPUSH", "q1", "x") == 1
            assert await asyncio.wait_for(holder, 5) == [b"q1", b"x"]
            # The cancelled BLPOP never ran: q2 keeps its item.
            await p.execute("RPUSH", "q2", "y")
            await asyncio.sleep(0.2)
            assert await p.execute("LLEN", "q2") == 1

    run(main())


def test_cancel_in_flight_blocking_command(redis_server: redkeep.Server) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url, max_connections=2) as p:
            task = asyncio.ensure_future(p.execute("BLPOP", "never", 0))
            await asyncio.sleep(0.2)
            t0 = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert time.monotonic() - t0 < 1
            for _ in range(3):  # the pool serves blocking commands again
                assert await p.execute("BLPOP", "never", 0.05) is None
            assert await p.execute("PING") == "PONG"

    run(main())


def test_wait_for_timeout_cancels(redis_server: redkeep.Server) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url) as p:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(p.execute("BLPOP", "never", 0), 0.2)
            assert await p.execute("PING") == "PONG"

    run(main())


def test_down_pool_fails_fast() -> None:
    async def main() -> None:
        port = free_port()
        server = redkeep.ensure_server(port=port, max_restarts=0)
        pid = server.pid
        assert pid is not None
        async with redkeep.asyncio.Pool(server.url, health_check_interval=0.1) as p:
            await p.execute("PING")
            server.close()
            deadline = time.monotonic() + 5
            while p.health().state != "down" and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            assert p.health().state == "down"
            with pytest.raises(redkeep.UnavailableError):
                await p.execute("PING")

    run(main())
    assert wait_until(lambda: True)


def test_an_async_pool_works_in_a_forked_child(redis_server: redkeep.Server) -> None:
    async def ping() -> object:
        async with redkeep.asyncio.Pool(redis_server.url) as p:
            return await p.execute("PING")

    assert run(ping()) == "PONG"  # the parent's runtime is running
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the runtime it inherited has no threads
        code = 1
        try:
            code = 0 if run(ping()) == "PONG" else 2
        finally:
            os.write(w, bytes([code]))
            os._exit(0)
    os.close(w)
    ready, _, _ = select.select([r], [], [], 30)
    if not ready:
        os.kill(pid, signal.SIGKILL)
    code = os.read(r, 1) if ready else b"hung"
    os.close(r)
    os.waitpid(pid, 0)
    assert code == b"\x00", f"child failed with {code!r}"
    assert run(ping()) == "PONG"  # and the parent's still works


def test_one_pool_serves_several_event_loops(redis_server: redkeep.Server) -> None:
    """Each event loop gets its own wake-up channel: loops in four threads
    at once, then one loop after another (as `asyncio.run` makes them),
    all get their own replies, errors included."""
    import threading

    p = redkeep.asyncio.Pool(redis_server.url)
    failures: list[BaseException] = []

    async def work(name: str) -> None:
        await p.execute("DEL", name)
        got = await asyncio.gather(*(p.execute("INCR", name) for _ in range(200)))
        assert sorted(got) == list(range(1, 201))
        with pytest.raises(redkeep.ResponseError):
            await p.execute("LPUSH", name, "x")  # WRONGTYPE, via the same batch path
        assert await p.execute("GET", name) == b"200"

    def in_thread(name: str) -> None:
        try:
            asyncio.run(work(name))
        except BaseException as e:  # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=in_thread, args=(f"loop{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not failures, failures
    for i in range(3):
        run(work(f"again{i}"))

    async def close() -> None:
        await p.aclose()

    run(close())


async def _warm(p: redkeep.asyncio.Pool) -> None:
    """Until a calling-thread connection is idle: the first one-at-a-time
    call opens it in the background and goes through the runtime."""
    deadline = time.monotonic() + 10
    while p.stats().thread_idle < 1:
        assert time.monotonic() < deadline, p.stats()
        assert await p.execute("PING") == "PONG"
        await asyncio.sleep(0.01)


def test_one_call_at_a_time_is_read_by_the_loop_and_concurrent_ones_share_the_runtime(
    redis_server: redkeep.Server,
) -> None:
    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server.url) as p:
            await _warm(p)
            ids = {await p.execute("CLIENT", "ID") for _ in range(20)}
            assert len(ids) == 1, ids  # one calling-thread connection, reused
            assert p.stats().thread_open == 1
            await p.execute("SET", "k", "v")
            assert [await p.execute("GET", "k") for _ in range(50)] == [b"v"] * 50
            # Concurrent calls: one on that connection, the rest shared.
            got = await asyncio.gather(*(p.execute("CLIENT", "ID") for _ in range(20)))
            assert ids <= set(got) and len(set(got)) >= 2, got
            assert p.stats().thread_open == 1

    run(main())


def test_the_loop_runs_while_an_evented_reply_is_awaited_and_a_timeout_drops_it(
    redis_server_fresh: redkeep.Server,
) -> None:
    pid = redis_server_fresh.pid
    assert pid is not None

    async def main() -> None:
        async with redkeep.asyncio.Pool(
            redis_server_fresh.url, socket_timeout=0.5, health_check_interval=30
        ) as p:
            await _warm(p)
            evicted = p.stats().evicted
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            t = asyncio.ensure_future(ticker())
            os.kill(pid, signal.SIGSTOP)
            try:
                t0 = time.monotonic()
                with pytest.raises(redkeep.TimeoutError) as e:
                    await p.execute("GET", "k")
                took = time.monotonic() - t0
            finally:
                os.kill(pid, signal.SIGCONT)
                t.cancel()
            assert e.value.phase == "command"
            assert 0.4 < took < 3, took
            assert ticks >= 10, f"the loop was blocked: {ticks} ticks in {took:.2f} s"
            assert p.stats().evicted == evicted + 1  # out of step: dropped
            await _warm(p)
            assert await p.execute("PING") == "PONG"

    run(main())


def test_a_cancelled_evented_call_returns_its_connection_once_the_reply_is_read(
    redis_server_fresh: redkeep.Server,
) -> None:
    pid = redis_server_fresh.pid
    assert pid is not None

    async def main() -> None:
        async with redkeep.asyncio.Pool(redis_server_fresh.url, health_check_interval=30) as p:
            await _warm(p)
            [conn_id] = {await p.execute("CLIENT", "ID") for _ in range(3)}
            os.kill(pid, signal.SIGSTOP)
            try:
                task = asyncio.ensure_future(p.execute("INCR", "n"))
                await asyncio.sleep(0.1)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            finally:
                os.kill(pid, signal.SIGCONT)
            deadline = time.monotonic() + 5
            while p.stats().thread_idle < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert await p.execute("CLIENT", "ID") == conn_id  # in step, reused
            assert await p.execute("GET", "n") == b"1"  # written once, never again

    run(main())


def test_aclose_ends_an_evented_call_at_once(redis_server_fresh: redkeep.Server) -> None:
    pid = redis_server_fresh.pid
    assert pid is not None

    async def main() -> None:
        p = redkeep.asyncio.Pool(redis_server_fresh.url, socket_timeout=10, health_check_interval=30)
        await p.connect()
        await _warm(p)
        os.kill(pid, signal.SIGSTOP)
        try:
            task = asyncio.ensure_future(p.execute("GET", "k"))
            await asyncio.sleep(0.1)
            t0 = time.monotonic()
            await p.aclose()
            with pytest.raises(redkeep.ClosedError):
                await asyncio.wait_for(task, 2)
            assert time.monotonic() - t0 < 1
        finally:
            os.kill(pid, signal.SIGCONT)

    run(main())


def test_evented_read_only_command_is_resent_once_and_a_write_never(
    redis_server: redkeep.Server,
) -> None:
    """Its calling-thread connection killed under it, a GET is sent again
    (through the shared path) and an INCR fails unrepeated."""

    async def main() -> None:
        admin = redkeep.Pool(redis_server.url)
        try:
            async with redkeep.asyncio.Pool(redis_server.url, health_check_interval=30) as p:
                await p.execute("SET", "r", "v")
                await p.execute("SET", "w", 0)
                for cmd, expect in ((("GET", "r"), b"v"), (("INCR", "w"), None)):
                    await _warm(p)
                    [conn_id] = {await p.execute("CLIENT", "ID") for _ in range(3)}
                    assert admin.execute("CLIENT", "KILL", "ID", conn_id) == 1
                    if expect is not None:
                        assert await p.execute(*cmd) == expect
                    else:
                        with pytest.raises(redkeep.ConnectionError):
                            await p.execute(*cmd)
                assert await p.execute("GET", "w") == b"0"
        finally:
            admin.close()

    run(main())
