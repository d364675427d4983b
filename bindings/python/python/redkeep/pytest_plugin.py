"""pytest plugin: throwaway Redis servers that leave nothing behind.

Installed with the package (entry point ``pytest11``), it provides:

``redis_server_session``
    One ``redis-server`` per test session (per xdist worker), on a free port
    of 127.0.0.1, with no persistence and no restarts.
``redis_server``
    The session server, flushed (``FLUSHALL``) before each test.
``redis_server_fresh``
    A new server for one test, stopped after it.
``redis_server_tls``
    A new TLS-only server for one test (``rediss://`` URL, a throwaway CA
    at ``.ca_cert_path`` for ``ssl_ca_certs=``), stopped after it.
``redis_pool``
    A ``redkeep.Pool`` on ``redis_server``, closed after the test.
``redis_url``
    ``redis_server.url``.

No process outlives the run: servers stop at teardown (also after Ctrl-C),
and on Linux the kernel kills them if the pytest process (or an xdist
worker) is killed, even with SIGKILL.

The session server starts at configure time (``pytest_configure``, run
first), so its URL is known before other plugins and conftests read their
options: ``$REDIS_URL`` is set to it for the run (the previous value is
restored at the end), and ``--redkeep-fill-option=DEST`` (repeatable; ini
``redkeep_fill_options``) sets another plugin's option to it, e.g.
``--redkeep-fill-option=redis_url`` for redis-py's own ``--redis-url``.
If it cannot start, ``$REDIS_URL`` is left alone and the fixtures raise the
error (a fill option makes it a usage error at once). With xdist, the
controller and each worker have their own session server, and a worker
exits within a fraction of a second if the controller dies (it polls its
parent pid), taking its servers with it.

Options: ``--redis-server-binary PATH`` (or the ini option
``redkeep_redis_server``, or ``$REDKEEP_REDIS_SERVER``) picks the binary;
``--redis-server-arg ARG`` (repeatable) or the ini option
``redkeep_redis_args`` add server arguments.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
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
    group.addoption(
        "--redkeep-fill-option",
        action="append",
        default=[],
        metavar="DEST",
        help="set another plugin's option (its dest, as config.getoption takes it, "
        "e.g. redis_url for --redis-url) to the session server's URL at configure "
        "time (repeatable)",
    )
    parser.addini(
        "redkeep_fill_options",
        "options (dests) of other plugins to set to the session server's URL",
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


def _start(config: pytest.Config, tls: bool = False) -> redkeep.Server:
    server = redkeep.ensure_server(
        port=0, binary=_binary(config), args=_args(config), max_restarts=0, tls=tls
    )
    if not server.spawned:  # port 0 always spawns; keep the promise explicit
        server.close()
        raise redkeep.SpawnError("expected a spawned server on a free port")
    return server


ENV_VAR = "REDIS_URL"
"""The environment variable set to the session server's URL during the run."""

# How often an xdist worker checks that its controller still runs.
_PARENT_POLL_SECONDS = 0.2


@dataclass
class _Session:
    server: Optional[redkeep.Server]
    error: Optional[redkeep.RedisError]


_SESSION = pytest.StashKey[_Session]()


def _fill_dests(config: pytest.Config) -> list[str]:
    names = [str(n) for n in config.getini("redkeep_fill_options")]
    names += [str(n) for n in config.getoption("--redkeep-fill-option", default=[]) or []]
    dests = []
    for name in names:
        # argparse's rule for a dest: "--redis-url" is stored as "redis_url".
        dest = name.lstrip("-").replace("-", "_")
        if not hasattr(config.option, dest):
            raise pytest.UsageError(
                f"redkeep: cannot fill option {name!r}: no plugin or initial conftest "
                "defines it (give its dest, e.g. redis_url for --redis-url)"
            )
        dests.append(dest)
    return dests


def _exit_with_parent(ppid: int, server: redkeep.Server) -> None:
    """Ends this process (an xdist worker) once its parent is gone. Alone,
    execnet ends a worker whose controller was killed 5 s later with SIGINT,
    or 15 s later with ``os._exit`` if the test does not stop on SIGINT
    (native code, a handler): that long its servers would outlive the run."""

    def watch() -> None:
        while os.getppid() == ppid:
            time.sleep(_PARENT_POLL_SECONDS)
        try:
            server.close()
        except Exception:  # exiting anyway; the guard kills what is left
            pass
        os._exit(1)

    threading.Thread(target=watch, name="redkeep-parent-watch", daemon=True).start()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "help", False) or getattr(config.option, "version", False):
        return
    dests = _fill_dests(config)
    try:
        server = _start(config)
    except redkeep.RedisError as e:
        if dests:
            raise pytest.UsageError(
                f"redkeep: the session redis-server did not start: {e}"
            ) from e
        config.stash[_SESSION] = _Session(server=None, error=e)
        return
    config.stash[_SESSION] = _Session(server=server, error=None)
    previous = os.environ.get(ENV_VAR)

    def cleanup() -> None:
        if previous is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = previous
        server.close()

    config.add_cleanup(cleanup)
    os.environ[ENV_VAR] = server.url
    for dest in dests:
        setattr(config.option, dest, server.url)
    if hasattr(config, "workerinput") and os.name == "posix":
        _exit_with_parent(os.getppid(), server)


@pytest.fixture(scope="session")
def redis_server_session(pytestconfig: pytest.Config) -> Iterator[redkeep.Server]:
    """One redis-server for the whole session (per xdist worker), started at
    configure time; its URL is also in ``$REDIS_URL``."""
    session = pytestconfig.stash.get(_SESSION, None)
    if session is None:  # not configured by this plugin (e.g. `pytest --help`)
        with _start(pytestconfig) as server:
            yield server
        return
    if session.error is not None:
        raise session.error
    assert session.server is not None
    yield session.server


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
def redis_server_tls(pytestconfig: pytest.Config) -> Iterator[redkeep.Server]:
    """A TLS-only redis-server of the test's own, stopped after it: its
    ``url`` is ``rediss://``, and clients trust ``ca_cert_path`` (a
    throwaway CA removed with it): ``redkeep.Pool(s.url, ssl_ca_certs=s.ca_cert_path)``."""
    with _start(pytestconfig, tls=True) as server:
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


@pytest.fixture(scope="session")
def redis_cluster(pytestconfig: pytest.Config) -> Iterator[redkeep.Deployment]:
    """A Redis Cluster of 3 masters with 1 replica each, ready, shared by the
    session (started on first use, ~2-3 s); ``.urls`` are the nodes'
    ``redis://`` URLs, ``.addrs`` the same as ``(host, port)``."""
    with redkeep.start_cluster(3, 1, binary=_binary(pytestconfig), args=_args(pytestconfig)) as c:
        yield c


@pytest.fixture(scope="session")
def redis_sentinel(pytestconfig: pytest.Config) -> Iterator[redkeep.Deployment]:
    """A Sentinel group (a master, 2 replicas, 3 sentinels), ready, shared by
    the session (started on first use); ``.urls`` / ``.addrs`` are the
    sentinels', ``.master_name`` is ``"mymaster"``, ``.url`` the
    ``redis+sentinel://`` URL."""
    with redkeep.start_sentinel(2, 3, binary=_binary(pytestconfig), args=_args(pytestconfig)) as s:
        yield s
