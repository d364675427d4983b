"""pytest plugin: throwaway Redis servers that leave nothing behind.

Installed with the package (entry point ``pytest11``), it provides:

``redis_server_session``
    One ``redis-server`` per test session (per xdist worker), on a free port
    of 127.0.0.1, with no persistence and no restarts.
``redis_server``
    The session server, flushed (``FLUSHALL``) before each test.
``redis_server_fresh``
    A new server for one test, stopped after it.
``redis_pool``
    A ``redkeep.Pool`` on ``redis_server``, closed after the test.
``redis_url``
    ``redis_server.url``.

No process outlives the run: servers stop at teardown (also after Ctrl-C),
and on Linux the kernel kills them if the pytest process (or an xdist
worker) is killed, even with SIGKILL.

Options: ``--redis-server-binary PATH`` (or the ini option
``redkeep_redis_server``, or ``$REDKEEP_REDIS_SERVER``) picks the binary;
``--redis-server-arg ARG`` (repeatable) or the ini option
``redkeep_redis_args`` add server arguments.
"""

from __future__ import annotations

from typing import Iterator, Optional

import pytest

import redkeep


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("redkeep", "redkeep Redis fixtures")
    group.addoption(
        "--redis-server-binary",
        action="store",
        default=None,
        help="redis-server binary for the redkeep fixtures "
        "(default: $REDKEEP_REDIS_SERVER, then redis-server, then valkey-server on PATH)",
    )
    group.addoption(
        "--redis-server-arg",
        action="append",
        default=[],
        help="extra redis-server argument for the redkeep fixtures (repeatable), "
        "e.g. --redis-server-arg=--enable-debug-command --redis-server-arg=local",
    )
    parser.addini(
        "redkeep_redis_server",
        "redis-server binary for the redkeep fixtures",
        default=None,
    )
    parser.addini(
        "redkeep_redis_args",
        "extra redis-server arguments for the redkeep fixtures",
        type="args",
        default=[],
    )


def _binary(config: pytest.Config) -> Optional[str]:
    opt = config.getoption("--redis-server-binary", default=None)
    if opt:
        return str(opt)
    ini = config.getini("redkeep_redis_server")
    return str(ini) if ini else None


def _args(config: pytest.Config) -> list[str]:
    ini = [str(a) for a in config.getini("redkeep_redis_args")]
    return ini + [str(a) for a in config.getoption("--redis-server-arg", default=[]) or []]


def _start(config: pytest.Config) -> redkeep.Server:
    server = redkeep.ensure_server(
        port=0, binary=_binary(config), args=_args(config), max_restarts=0
    )
    if not server.spawned:  # port 0 always spawns; keep the promise explicit
        server.close()
        raise redkeep.SpawnError("expected a spawned server on a free port")
    return server


@pytest.fixture(scope="session")
def redis_server_session(pytestconfig: pytest.Config) -> Iterator[redkeep.Server]:
    """One redis-server for the whole session (per xdist worker)."""
    with _start(pytestconfig) as server:
        yield server


@pytest.fixture(scope="session")
def _redkeep_admin_pool(redis_server_session: redkeep.Server) -> Iterator[redkeep.Pool]:
    with redkeep.Pool(redis_server_session.url) as pool:
        yield pool


@pytest.fixture
def redis_server(
    redis_server_session: redkeep.Server, _redkeep_admin_pool: redkeep.Pool
) -> redkeep.Server:
    """The session's redis-server, flushed before the test."""
    _redkeep_admin_pool.execute("FLUSHALL")
    return redis_server_session


@pytest.fixture
def redis_server_fresh(pytestconfig: pytest.Config) -> Iterator[redkeep.Server]:
    """A redis-server of the test's own, stopped after it."""
    with _start(pytestconfig) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: redkeep.Server) -> str:
    """The URL of ``redis_server`` (flushed before the test)."""
    return redis_server.url


@pytest.fixture
def redis_pool(redis_server: redkeep.Server) -> Iterator[redkeep.Pool]:
    """A ``redkeep.Pool`` on ``redis_server``, closed after the test."""
    with redkeep.Pool(redis_server.url) as pool:
        yield pool
