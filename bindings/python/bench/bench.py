"""redkeep vs redis-py: GET throughput against one local redis-server.

    python bindings/python/bench/bench.py [--seconds 2] [--threads 8] [--tasks 32]

Starts one redis-server on a free loopback port (redkeep.ensure_server),
stores one 100-byte value, then measures GET round trips for a fixed time
each: sequential, N threads sharing one pool, and asyncio (one task, and
many concurrent tasks) against redis.asyncio. Prints the median ops/s of alternating rounds and the ratio.
Also ``redkeep.Redis.get`` (redis-py's client over redkeep) vs
``redis.Redis.get``, sequential and threaded. Needs the `redis` package
(redis-py); hiredis is used if installed (say so in the figures you quote).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import threading
import time
from typing import Any, Awaitable, Callable, Tuple

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


def _cpu() -> float:
    """CPU seconds used by this process so far, all threads (tokio's too)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


Figure = Tuple[float, float]  # (ops/s, CPU µs per op)


def _measure(run: Callable[[float], float], seconds: float) -> Figure:
    c0, t0 = _cpu(), time.perf_counter()
    rate = run(seconds)
    ops = rate * (time.perf_counter() - t0)
    return rate, (_cpu() - c0) / max(ops, 1.0) * 1e6


async def _async_measure(fn: Callable[[], Awaitable[Any]], tasks: int, seconds: float) -> Figure:
    c0, t0 = _cpu(), time.perf_counter()
    rate = await _async_rate(fn, tasks, seconds)
    ops = rate * (time.perf_counter() - t0)
    return rate, (_cpu() - c0) / max(ops, 1.0) * 1e6


def compare(
    ours: Callable[[float], float], theirs: Callable[[float], float], seconds: float, rounds: int
) -> tuple[Figure, Figure]:
    """Alternates short rounds of both sides (so a noisy neighbour hurts
    both alike) and returns the median rate and CPU cost of each."""
    ours(0.05), theirs(0.05)  # warm up
    a: list[Figure] = []
    b: list[Figure] = []
    for _ in range(rounds):
        a.append(_measure(ours, seconds / rounds))
        b.append(_measure(theirs, seconds / rounds))
    return _median(a), _median(b)


def _median(figures: list[Figure]) -> Figure:
    return (
        statistics.median(f[0] for f in figures),
        statistics.median(f[1] for f in figures),
    )


def row(name: str, ours: Figure, theirs: Figure) -> None:
    print(
        f"{name:<28} {ours[0]:>12,.0f} {theirs[0]:>12,.0f} {ours[0] / theirs[0]:>7.2f}x"
        f"   {ours[1]:>6.1f} {theirs[1]:>6.1f}"
    )


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

            print(f"{'':<28} {'ops/s':>25} {'':>8}   {'CPU µs/op':>13}")
            print(
                f"{'GET':<28} {'redkeep':>12} {'redis-py':>12} {'ratio':>8}"
                f"   {'redkeep':>6} {'redis-py':>6}"
            )
            sec, rounds, n = args.seconds, args.rounds, args.threads
            rk_get = lambda: pool.execute("GET", KEY)  # noqa: E731
            py_get = lambda: rpy.get(KEY)  # noqa: E731
            row(
                "sequential",
                *compare(lambda s: _rate(rk_get, s), lambda s: _rate(py_get, s), sec, rounds),
            )
            row(
                f"{n} threads",
                *compare(
                    lambda s: _threaded_rate(rk_get, n, s),
                    lambda s: _threaded_rate(py_get, n, s),
                    sec,
                    rounds,
                ),
            )
            # redkeep.Redis: redis-py's client (its methods and response
            # callbacks) whose commands go through redkeep's core.
            rkr = redkeep.Redis.from_url(server.url, max_connections=max(16, n * 2))
            assert rkr.get(KEY) == value
            rkr_get = lambda: rkr.get(KEY)  # noqa: E731
            print(f"{'Redis.get':<28} {'redkeep.Redis':>12} {'redis.Redis':>12}")
            row(
                "sequential",
                *compare(lambda s: _rate(rkr_get, s), lambda s: _rate(py_get, s), sec, rounds),
            )
            row(
                f"{n} threads",
                *compare(
                    lambda s: _threaded_rate(rkr_get, n, s),
                    lambda s: _threaded_rate(py_get, n, s),
                    sec,
                    rounds,
                ),
            )
            rkr.close()
            rpy.close()

        async def run_async() -> None:
            async with redkeep.asyncio.Pool(server.url) as apool:
                arpy = redis.asyncio.Redis.from_url(server.url, max_connections=args.tasks * 2)
                try:
                    for tasks in (1, args.tasks):
                        a: list[Figure] = []
                        b: list[Figure] = []
                        for _ in range(args.rounds):
                            a.append(
                                await _async_measure(
                                    lambda: apool.execute("GET", KEY), tasks, sec / rounds
                                )
                            )
                            b.append(
                                await _async_measure(lambda: arpy.get(KEY), tasks, sec / rounds)
                            )
                        name = "1 task" if tasks == 1 else f"{tasks} tasks"
                        row(f"asyncio, {name}", _median(a), _median(b))
                finally:
                    await arpy.aclose()

        asyncio.run(run_async())
        print(
            f"\nmedians of {rounds} alternating rounds, {sec / rounds:g} s each; CPU is the "
            "whole process (all threads) per operation"
        )


if __name__ == "__main__":
    main()
