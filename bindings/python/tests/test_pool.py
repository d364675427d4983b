"""redkeep.Pool: round trips, reply types, errors, health, stats, threads."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

import redkeep
from conftest import free_port, pid_alive, wait_until


def test_round_trip_and_reply_types(redis_pool: redkeep.Pool) -> None:
    p = redis_pool
    assert p.execute("PING") == "PONG"
    assert p.execute("SET", "k", "v") == "OK"
    assert p.execute("GET", "k") == b"v"
    assert p.execute("GET", "missing") is None
    assert p.execute("INCR", "n") == 1
    assert p.execute("INCRBY", "n", 41) == 42
    assert p.execute("RPUSH", "l", "a", b"b\x00\xff", 3, 2.5) == 4
    assert p.execute("LRANGE", "l", 0, -1) == [b"a", b"b\x00\xff", b"3", b"2.5"]
    assert p.execute("LRANGE", "nothing", 0, -1) == []
    assert p.execute("HSET", "h", "f", "x") == 1
    assert p.execute("HGETALL", "h") == [b"f", b"x"]
    assert p.execute("SET", "big", 2**70) == "OK"
    assert p.execute("GET", "big") == str(2**70).encode()
    assert p.execute("SET", "u", "é€") == "OK"
    assert p.execute("GET", "u") == "é€".encode()
    assert p.execute("SET", "ba", bytearray(b"xy")) == "OK"
    assert p.execute("SET", "mv", memoryview(b"zz")) == "OK"
    assert p.execute("MGET", "ba", "mv") == [b"xy", b"zz"]
    assert p.execute("TYPE", "h") == "hash"  # a status reply is a str
    assert p.execute("EXISTS", "k", "missing") == 1


def test_decode_responses(redis_server: redkeep.Server) -> None:
    with redkeep.Pool(redis_server.url, decode_responses=True) as p:
        p.execute("SET", "k", "é")
        assert p.execute("GET", "k") == "é"
        p.execute("RPUSH", "l", "a", "b")
        assert p.execute("LRANGE", "l", 0, -1) == ["a", "b"]
        p.execute("SET", "bin", b"\xff")
        with pytest.raises(UnicodeDecodeError):
            p.execute("GET", "bin")


def test_bad_arguments_raise_type_error(redis_pool: redkeep.Pool) -> None:
    with pytest.raises(TypeError, match="command name"):
        redis_pool.execute()
    for bad in (None, True, object(), [1], {"a": 1}):
        with pytest.raises(TypeError):
            redis_pool.execute("SET", "k", bad)
    with pytest.raises(TypeError):
        redkeep.Pool(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        redkeep.Pool("redis://127.0.0.1:1", max_connections="many")  # type: ignore[arg-type]
    assert redis_pool.execute("PING") == "PONG"  # still fine


def test_response_error(redis_pool: redkeep.Pool) -> None:
    redis_pool.execute("SET", "k", "v")
    with pytest.raises(redkeep.ResponseError, match="not an integer"):
        redis_pool.execute("INCR", "k")
    with pytest.raises(redkeep.ResponseError, match="WRONGTYPE"):
        redis_pool.execute("LPUSH", "k", "x")
    with pytest.raises(redkeep.ResponseError):
        redis_pool.execute("NOSUCHCOMMAND")
    assert issubclass(redkeep.ResponseError, redkeep.RedisError)


def test_exception_tree() -> None:
    assert issubclass(redkeep.ConnectionError, redkeep.RedisError)
    assert issubclass(redkeep.ConnectionError, ConnectionError)
    assert issubclass(redkeep.TimeoutError, redkeep.RedisError)
    assert issubclass(redkeep.TimeoutError, TimeoutError)
    assert issubclass(redkeep.UnavailableError, redkeep.ConnectionError)
    assert issubclass(redkeep.ConfigError, ValueError)
    assert issubclass(redkeep.RefusedError, redkeep.RedisError)
    assert issubclass(redkeep.RefusedError, ValueError)
    for cls in (redkeep.SpawnError, redkeep.ClosedError, redkeep.ResponseError):
        assert issubclass(cls, redkeep.RedisError)
    assert redkeep.TimeoutError.__module__ == "redkeep"


def test_invalid_url_is_a_config_error() -> None:
    for url in ("http://localhost", "not a url", "redis://host:notaport"):
        with pytest.raises(redkeep.ConfigError) as e:
            redkeep.Pool(url)
        assert isinstance(e.value, ValueError)
    with pytest.raises(redkeep.ConfigError, match="socket_timeout"):
        redkeep.Pool("redis://127.0.0.1:1", socket_timeout=-1, lazy=True)
    with pytest.raises(redkeep.ConfigError, match="^max_connections= must be at least 1$"):
        redkeep.Pool("redis://127.0.0.1:1", max_connections=0, lazy=True)
    with pytest.raises(redkeep.ConfigError, match="max_connections"):
        redkeep.Pool("redis://127.0.0.1:1", max_connections=-1, lazy=True)


def test_password_never_in_errors_or_repr() -> None:
    port = free_port()
    url = f"redis://:hunter2@127.0.0.1:{port}"
    with pytest.raises(redkeep.ConnectionError) as e:
        redkeep.Pool(url)
    assert "hunter2" not in str(e.value)
    p = redkeep.Pool(url, lazy=True)
    assert "hunter2" not in repr(p) and "hunter2" not in p.url
    p.close()


def test_nothing_listening_is_a_connection_error() -> None:
    with pytest.raises(redkeep.ConnectionError, match="refused"):
        redkeep.Pool(f"redis://127.0.0.1:{free_port()}")


def test_connect_timeout_names_the_phase() -> None:
    # A listener that never answers: the handshake cannot finish.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        port = s.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(redkeep.TimeoutError) as e:
            redkeep.Pool(f"redis://127.0.0.1:{port}", socket_connect_timeout=0.3)
        assert time.monotonic() - t0 < 5
        assert e.value.phase == "connect"
        assert "connect" in str(e.value)
        assert isinstance(e.value, TimeoutError)


def test_command_timeout_names_the_phase(redis_server_fresh: redkeep.Server) -> None:
    # A server stopped with SIGSTOP keeps the connection open and never
    # answers: the reply wait runs out after socket_timeout.
    pid = redis_server_fresh.pid
    assert pid is not None
    with redkeep.Pool(
        redis_server_fresh.url, socket_timeout=0.2, health_check_interval=30
    ) as p:
        assert p.execute("PING") == "PONG"
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            with pytest.raises(redkeep.TimeoutError) as e:
                p.execute("GET", "k")
            elapsed = time.monotonic() - t0
        finally:
            os.kill(pid, signal.SIGCONT)
        assert e.value.phase == "command"
        assert "timed out" in str(e.value)
        assert elapsed < 1.5
        assert wait_until(lambda: _pings(p), timeout=5)


def _pings(p: redkeep.Pool) -> bool:
    try:
        return p.execute("PING") == "PONG"
    except redkeep.RedisError:
        return False


def test_blocking_commands_use_their_own_timeout(
    redis_server: redkeep.Server, redis_pool: redkeep.Pool
) -> None:
    # BLPOP waits longer than socket_timeout and must not time out.
    def push() -> None:
        time.sleep(0.5)
        with redkeep.Pool(redis_server.url) as other:
            other.execute("RPUSH", "q", "job")

    t = threading.Thread(target=push)
    t.start()
    with redkeep.Pool(redis_server.url, socket_timeout=0.2) as p:
        assert p.execute("BLPOP", "q", 5) == [b"q", b"job"]
    t.join()
    assert redis_pool.execute("BLPOP", "q", 0.1) is None
    # Meanwhile the shared connection was never blocked.
    assert redis_pool.execute("PING") == "PONG"


def test_pool_timeout_names_the_wait_phase(redis_server: redkeep.Server) -> None:
    with redkeep.Pool(redis_server.url, max_connections=1, pool_timeout=0.2) as p:
        t = threading.Thread(target=lambda: p.execute("BLPOP", "never", 1))
        t.start()
        time.sleep(0.2)
        with pytest.raises(redkeep.TimeoutError) as e:
            p.execute("BLPOP", "never", 1)
        assert e.value.phase == "wait"
        t.join()
        assert p.stats().checkout_timeouts == 1


def test_closed_pool(redis_server: redkeep.Server) -> None:
    p = redkeep.Pool(redis_server.url)
    p.close()
    p.close()  # idempotent
    assert p.closed
    with pytest.raises(redkeep.ClosedError):
        p.execute("PING")
    with redkeep.Pool(redis_server.url) as q:
        assert q.execute("PING") == "PONG"
    assert q.closed


def test_health_after_close_is_closed_and_execute_raises_the_closed_error(
    redis_server: redkeep.Server,
) -> None:
    p = redkeep.Pool(redis_server.url)
    assert p.health().state == "up"
    p.close()
    assert p.health().state == "closed"
    assert not p.health().is_up
    assert "closed" in repr(p)
    for cmd in (("GET", "k"), ("SET", "k", "v"), ("BLPOP", "q", 1)):
        with pytest.raises(redkeep.ClosedError, match="closed"):
            p.execute(*cmd)
    assert p.health().state == "closed"
    lazy = redkeep.Pool(redis_server.url, lazy=True)
    lazy.close()
    assert lazy.health().state == "closed"
    with pytest.raises(redkeep.ClosedError):
        lazy.execute("PING")


def test_lazy_pool_connects_on_first_command(redis_server: redkeep.Server) -> None:
    with redkeep.Pool(redis_server.url, lazy=True) as p:
        assert p.health().state in ("degraded", "up")
        assert p.execute("PING") == "PONG"
        assert wait_until(lambda: p.health().state == "up")


def test_health_and_stats(redis_pool: redkeep.Pool) -> None:
    h = redis_pool.health()
    assert h.state == "up" and h.is_up
    assert h.last_error is None
    assert abs(h.since - time.time()) < 60
    assert "up" in repr(h)
    s = redis_pool.stats()
    d = s.to_dict()
    assert set(d) == {
        "size", "idle", "waiting", "checkouts", "checkout_timeouts", "fast_fails",
        "connects", "connect_failures", "reconnects", "evicted", "probes", "probe_failures",
        "shared_open", "thread_open", "thread_idle",
    }
    assert s.connects >= 1 and d["connects"] == s.connects


def test_execute_opens_a_calling_thread_connection(redis_server: redkeep.Server) -> None:
    with redkeep.Pool(redis_server.url) as p:
        assert p.execute("PING") == "PONG"
        s = p.stats()
        assert s.thread_open >= 1, s
        assert s.thread_idle <= s.thread_open, s


def test_threads_share_one_pool(redis_pool: redkeep.Pool) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(200):
                redis_pool.execute("INCR", "ctr")
                redis_pool.execute("SET", f"k{i}", j)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert redis_pool.execute("GET", "ctr") == b"1600"


def test_health_goes_down_and_up_with_the_server() -> None:
    """Kill -9 the server this test started: the pool turns down and fails
    fast; start it again on the same port: the pool is up again."""
    port = free_port()
    server = redkeep.ensure_server(port=port, max_restarts=0)
    assert server.spawned
    pid = server.pid
    assert pid is not None
    with redkeep.Pool(
        server.url, health_check_interval=0.1, retry_backoff_min=0.05, retry_backoff_max=0.2
    ) as p:
        assert p.execute("SET", "k", "v") == "OK"
        os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: p.health().state == "down", timeout=5)
        h = p.health()
        assert h.last_error
        t0 = time.monotonic()
        with pytest.raises(redkeep.UnavailableError):
            p.execute("GET", "k")
        assert time.monotonic() - t0 < 0.1, "a down pool must fail fast"
        assert p.stats().fast_fails >= 1
        server.close()
        with redkeep.ensure_server(port=port, max_restarts=0) as again:
            assert again.spawned
            assert wait_until(lambda: p.health().state == "up", timeout=5)
            assert p.execute("GET", "k") is None  # a new, empty server
            assert p.stats().reconnects >= 1
            assert p.health().generation >= 1
    assert not pid_alive(pid)


def test_fork_child_gets_a_clear_error(redis_server: redkeep.Server) -> None:
    with redkeep.Pool(redis_server.url) as p:
        assert p.execute("PING") == "PONG"
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                try:
                    p.execute("PING")
                except redkeep.ClosedError as e:
                    code = 0 if "fork" in str(e) else 2
                # A new pool in the child works.
                with redkeep.Pool(redis_server.url) as mine:
                    if mine.execute("PING") != "PONG":
                        code = 3
            finally:
                os.write(w, bytes([code]))
                os._exit(0)
        os.close(w)
        code = os.read(r, 1)
        os.waitpid(pid, 0)
        assert code == b"\x00", f"child failed with {code!r}"
        assert p.execute("PING") == "PONG"  # the parent's pool is unharmed


@pytest.mark.skipif(sys.platform != "linux", reason="Linux")
def test_gil_is_released_while_waiting(redis_pool: redkeep.Pool) -> None:
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    t = threading.Thread(target=count)
    t.start()
    redis_pool.execute("DEBUG", "SLEEP", "0.3")
    stop.set()
    t.join()
    assert ticks > 1000


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_a_blocking_call(redis_server: redkeep.Server) -> None:
    import subprocess
    import textwrap

    script = textwrap.dedent(
        f"""
        import redkeep, sys
        pool = redkeep.Pool({redis_server.url!r})
        print("ready", flush=True)
        try:
            pool.execute("BLPOP", "never", 0)
        except KeyboardInterrupt:
            pool.execute("PING")  # still usable
            print("interrupted", flush=True)
            sys.exit(0)
        sys.exit(1)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "interrupted" in out
    assert time.monotonic() - t0 < 2
