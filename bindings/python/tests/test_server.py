"""redkeep.ensure_server: spawned vs attached, errors, and no orphans."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import redkeep
from conftest import free_port, linux_only, pid_alive, wait_until


def test_spawned_then_attached() -> None:
    port = free_port()
    with redkeep.ensure_server(port=port, max_restarts=0) as first:
        assert first.spawned
        assert first.host == "127.0.0.1" and first.port == port
        assert first.url == f"redis://127.0.0.1:{port}"
        assert first.pid is not None and pid_alive(first.pid)
        assert first.status == "running"
        with redkeep.ensure_server(port=port) as second:
            assert not second.spawned
            assert second.pid is None
            assert second.status == "attached"
            assert second.url == first.url
        # Closing an attached server leaves the real one running.
        assert first.pid is not None and pid_alive(first.pid)
        with redkeep.Pool(first.url) as p:
            assert p.execute("PING") == "PONG"
        pid = first.pid
    assert first.status == "stopped"
    assert first.pid is None
    assert wait_until(lambda: not pid_alive(pid), timeout=5)


def test_port_zero_picks_a_free_port() -> None:
    with redkeep.ensure_server(port=0) as s:
        assert s.spawned and s.port not in (None, 0, 6379)
        assert "spawned" in repr(s)


def test_close_is_idempotent_and_context_manager_stops() -> None:
    s = redkeep.ensure_server(port=0)
    pid = s.pid
    assert pid is not None
    s.close()
    s.close()
    assert not pid_alive(pid)


def test_password() -> None:
    with redkeep.ensure_server(port=0, password="s3cret/é") as s:
        assert "s3cret" in s.url
        assert "s3cret" not in s.redacted_url and "***" in s.redacted_url
        assert "s3cret" not in repr(s)
        with redkeep.Pool(s.url) as p:
            assert p.execute("PING") == "PONG"
        with pytest.raises(redkeep.ConnectionError) as e:
            redkeep.Pool(f"redis://127.0.0.1:{s.port}")
        assert "s3cret" not in str(e.value)
        with pytest.raises(redkeep.ConnectionError):
            redkeep.Pool(f"redis://:wrong@127.0.0.1:{s.port}")


def test_unix_socket(tmp_path: Path) -> None:
    with redkeep.ensure_server(unix_socket=True) as s:
        assert s.spawned and s.port is None and s.host is None
        assert s.unix_socket is not None and os.path.exists(s.unix_socket)
        with redkeep.Pool(s.url) as p:
            assert p.execute("SET", "k", "v") == "OK"
    with pytest.raises(redkeep.ConfigError):
        redkeep.ensure_server(port=1234, unix_socket=True)


def test_missing_binary_is_a_spawn_error(tmp_path: Path) -> None:
    with pytest.raises(redkeep.SpawnError) as e:
        redkeep.ensure_server(port=0, binary=tmp_path / "no-such-redis-server")
    assert "no-such-redis-server" in str(e.value)


def test_bad_argument_says_why(tmp_path: Path) -> None:
    with pytest.raises(redkeep.SpawnError) as e:
        redkeep.ensure_server(port=0, args=["--no-such-directive", "1"], max_restarts=0)
    assert "no-such-directive" in str(e.value).lower() or "bad directive" in str(e.value).lower()


def test_not_redis_is_never_attached() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        port = s.getsockname()[1]
        t0 = time.monotonic()
        with pytest.raises(redkeep.SpawnError, match="not Redis"):
            redkeep.ensure_server(port=port)
        assert time.monotonic() - t0 < 10


def test_non_loopback_host_is_refused() -> None:
    with pytest.raises(redkeep.ConfigError, match="loopback"):
        redkeep.ensure_server(port=0, host="0.0.0.0")


def test_bad_argument_types() -> None:
    with pytest.raises(TypeError):
        redkeep.ensure_server(port="x")  # type: ignore[arg-type]
    with pytest.raises(redkeep.ConfigError, match="port"):
        redkeep.ensure_server(port=70000)
    with pytest.raises(redkeep.ConfigError, match="max_restarts"):
        redkeep.ensure_server(port=0, max_restarts=-1)
    with pytest.raises(redkeep.ConfigError):
        redkeep.ensure_server(port=0, ready_timeout=-1)


def test_spawn_if_absent_pool_owns_its_server() -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}"
    p = redkeep.Pool(url, spawn_if_absent=True)
    assert p.execute("SET", "k", "v") == "OK"
    # Another ensure_server now attaches to the pool's server.
    with redkeep.ensure_server(port=port) as s:
        assert not s.spawned
    p.close()
    # The pool's server is gone with it.
    assert wait_until(lambda: _refused(port), timeout=5)


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return False
    except OSError:
        return True


ORPHAN_SCRIPT = textwrap.dedent(
    """
    import os, sys, time, redkeep
    s = redkeep.ensure_server(port=0, max_restarts=0, guard=os.environ.get("ORPHAN_GUARD"))
    print(s.pid, flush=True)
    time.sleep(120)
    """
)


@linux_only
def test_no_orphan_after_sigkill_of_the_owner() -> None:
    """A Python process that started a server is SIGKILLed: its server dies too."""
    proc = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        child = int(line)
        assert pid_alive(child)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert wait_until(lambda: not pid_alive(child), timeout=10), f"redis-server {child} survived"


@linux_only
def test_no_orphan_after_sigkill_of_the_owner_with_the_watchdog_guard() -> None:
    """guard="watchdog" (the guard of macOS and the BSDs): five owners SIGKILLed."""
    env = {**os.environ, "ORPHAN_GUARD": "watchdog"}
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            assert proc.stdout is not None
            child = int(proc.stdout.readline())
            assert pid_alive(child)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        assert wait_until(lambda: not pid_alive(child), timeout=2), f"redis-server {child} survived"


def test_bad_guard_is_a_config_error() -> None:
    with pytest.raises(redkeep.ConfigError, match="guard="):
        redkeep.ensure_server(port=0, guard="bogus")


@linux_only
def test_no_orphan_after_sigterm_and_sigint() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc = subprocess.Popen(
            [sys.executable, "-c", ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        proc.send_signal(sig)
        proc.wait(10)
        assert wait_until(lambda: not pid_alive(child), timeout=10), (sig, child)


@linux_only
def test_spawn_from_a_short_lived_thread_survives_the_thread() -> None:
    import threading

    box: list[redkeep.Server] = []
    t = threading.Thread(target=lambda: box.append(redkeep.ensure_server(port=0)))
    t.start()
    t.join()
    s = box[0]
    time.sleep(0.3)
    assert s.pid is not None and pid_alive(s.pid)
    s.close()


def test_forked_child_does_not_stop_the_parents_server() -> None:
    import gc

    box = [redkeep.ensure_server(port=0)]
    pid = box[0].pid
    assert pid is not None
    child = os.fork()
    if child == 0:  # the child drops its only reference to the parent's server
        code = 2
        try:
            srv = box.pop()
            try:
                srv.close()
                code = 1
            except redkeep.ClosedError:
                code = 0
            del srv
            gc.collect()
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    time.sleep(0.2)
    assert pid_alive(pid)
    with box.pop() as s:
        with redkeep.Pool(s.url) as p:
            assert p.execute("PING") == "PONG"
    assert not pid_alive(pid)


@linux_only
def test_a_crashed_server_is_restarted() -> None:
    with redkeep.ensure_server(port=0, max_restarts=3) as s:
        first = s.pid
        assert first is not None
        with redkeep.Pool(s.url, health_check_interval=0.1, retry_backoff_max=0.2) as p:
            p.execute("SET", "k", "v")
            os.kill(first, signal.SIGKILL)
            assert wait_until(lambda: s.pid not in (None, first), timeout=10), s.status
            assert s.restarts == 1 and s.status == "running"
            assert wait_until(lambda: p.health().state == "up", timeout=10)
            assert wait_until(lambda: _ping(p), timeout=5)
        second = s.pid
    assert second is not None and not pid_alive(second)
    assert not pid_alive(first)


def _ping(p: redkeep.Pool) -> bool:
    try:
        return p.execute("PING") == "PONG"
    except redkeep.RedisError:
        return False
