"""redkeep vs redis-py: GET throughput against one local redis-server.

    python bindings/python/bench/bench.py [--seconds 2] [--threads 8] [--tasks 32]

Starts one redis-server on a free loopback port (redkeep.ensure_server),
stores one 100-byte value, then measures GET round trips for a fixed time
each: sequential, N threads sharing one pool, and asyncio (one task, and
many concurrent tasks) against redis.asyncio. Prints the median ops/s of alternating rounds and the ratio.
Needs the `redis` package (redis-py); hiredis is used if installed (say so
in the figures you quote).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import threading
import time
from typing import Any, Awaitable, Callable

import redis
import redis.asyncio

import redkeep
import redkeep.asyncio

KEY = "bench:key"


def _rate(fn: Callable[[], Any], seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            fn()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def _threaded_rate(fn: Callable[[], Any], threads: int, seconds: float) -> float:
    counts = [0] * threads
    stop = threading.Event()
    barrier = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        barrier.wait()
        c = 0
        while not stop.is_set():
            for _ in range(50):
                fn()
            c += 50
        counts[i] = c

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


async def _async_rate(fn: Callable[[], Awaitable[Any]], tasks: int, seconds: float) -> float:
    counts = [0] * tasks
    deadline = time.perf_counter() + seconds

    async def work(i: int) -> None:
        c = 0
        while time.perf_counter() < deadline:
            for _ in range(20):
                await fn()
            c += 20
        counts[i] = c

    start = time.perf_counter()
    await asyncio.gather(*(work(i) for i in range(tasks)))
    return sum(counts) / (time.perf_counter() - start)


def compare(
    ours: Callable[[float], float], theirs: Callable[[float], float], seconds: float, rounds: int
) -> tuple[float, float]:
    """Alternates short rounds of both sides (so a noisy neighbour hurts
    both alike) and returns the median rate of each."""
    ours(0.05), theirs(0.05)  # warm up
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        a.append(ours(seconds / rounds))
        b.append(theirs(seconds / rounds))
    return statistics.median(a), statistics.median(b)


def row(name: str, ours: float, theirs: float) -> None:
    print(f"{name:<28} {ours:>12,.0f} {theirs:>12,.0f} {ours / theirs:>7.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--tasks", type=int, default=32, help="concurrent asyncio tasks")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds per figure")
    args = ap.parse_args()

    try:
        import hiredis  # noqa: F401

        parser = "hiredis"
    except ImportError:
        parser = "pure-Python parser"
    print(
        f"redkeep {redkeep.__version__} vs redis-py {redis.__version__} ({parser}); "
        f"Python {platform.python_version()}; {os.cpu_count()} CPUs; "
        f"{args.seconds:g} s per measurement"
    )
    with redkeep.ensure_server(port=0) as server:
        print(f"server: {server.redacted_url} (pid {server.pid})\n")
        value = b"x" * 100
        with redkeep.Pool(server.url, max_connections=max(16, args.threads * 2)) as pool:
            pool.execute("SET", KEY, value)
            rpy = redis.Redis.from_url(server.url, max_connections=max(16, args.threads * 2))
            assert pool.execute("GET", KEY) == rpy.get(KEY) == value

            print(f"{'GET':<28} {'redkeep':>12} {'redis-py':>12} {'ratio':>8}")
            sec, rounds, n = args.seconds, args.rounds, args.threads
            rk_get = lambda: pool.execute("GET", KEY)  # noqa: E731
            py_get = lambda: rpy.get(KEY)  # noqa: E731
            row(
                "sequential (ops/s)",
                *compare(lambda s: _rate(rk_get, s), lambda s: _rate(py_get, s), sec, rounds),
            )
            row(
                f"{n} threads (ops/s)",
                *compare(
                    lambda s: _threaded_rate(rk_get, n, s),
                    lambda s: _threaded_rate(py_get, n, s),
                    sec,
                    rounds,
                ),
            )
            rpy.close()

        async def run_async() -> None:
            async with redkeep.asyncio.Pool(server.url) as apool:
                arpy = redis.asyncio.Redis.from_url(server.url, max_connections=args.tasks * 2)
                try:
                    for tasks in (1, args.tasks):
                        a: list[float] = []
                        b: list[float] = []
                        for _ in range(args.rounds):
                            a.append(
                                await _async_rate(
                                    lambda: apool.execute("GET", KEY), tasks, sec / rounds
                                )
                            )
                            b.append(await _async_rate(lambda: arpy.get(KEY), tasks, sec / rounds))
                        name = "1 task" if tasks == 1 else f"{tasks} tasks"
                        row(f"asyncio, {name} (ops/s)", statistics.median(a), statistics.median(b))
                finally:
                    await arpy.aclose()

        asyncio.run(run_async())
        print(f"\nmedians of {rounds} alternating rounds, {sec / rounds:g} s each")


if __name__ == "__main__":
    main()
