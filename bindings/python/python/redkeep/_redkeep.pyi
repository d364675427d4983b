"""Type stubs for the native module ``redkeep._redkeep``.

Import from ``redkeep`` and ``redkeep.asyncio``, not from here.
"""

import builtins
import os
from pathlib import Path
from ssl import VerifyMode
from types import TracebackType
from typing import Any, Callable, Dict, Literal, Optional, Sequence, Tuple, Union

from typing_extensions import Self

__version__: str

#: What ``execute`` accepts for each argument: encoded like redis-py does
#: (str as UTF-8, int and float as their decimal repr). ``bool`` and ``None``
#: are refused with ``TypeError``.
Arg = Union[str, bytes, bytearray, memoryview, int, float]

#: A reply: ``bytes`` for bulk strings (``str`` with ``decode_responses=True``),
#: ``str`` for status replies (``"OK"``, ``"PONG"``), ``int``, ``None`` for nil,
#: ``list`` for arrays, ``dict`` for RESP3 maps.
Reply = Any

class RedisError(Exception):
    """Base class of every redkeep error."""

class ConnectionError(RedisError, builtins.ConnectionError):
    """A connection failed: refused, reset, closed, authentication refused, or
    the peer does not speak the Redis protocol. Also a builtin ConnectionError."""

class UnavailableError(ConnectionError):
    """The pool is down: the call failed at once without touching the network.
    The health watch reconnects in the background on the backoff schedule."""

class TimeoutError(RedisError, builtins.TimeoutError):
    """A phase ran past its timeout. Also a builtin TimeoutError."""

    #: Which phase: ``"connect"``, ``"wait"`` (for a free connection) or
    #: ``"command"`` (for the reply).
    phase: Literal["connect", "wait", "command"]

class ResponseError(RedisError):
    """The server answered with an error reply (ERR, WRONGTYPE, NOAUTH, ...)."""

class SpawnError(RedisError):
    """A local redis-server could not be started or supervised; the message
    says why (missing binary, port in use, the tail of its log)."""

class ClosedError(RedisError):
    """The pool or server was closed, or was created in another process
    (before ``fork()``)."""

class RefusedError(RedisError, ValueError):
    """The pool refused the command without sending it: it changes the state
    of the connection it runs on (``SELECT``, ``MULTI``/``EXEC``, ``WATCH``,
    the ``SUBSCRIBE`` family, ``MONITOR``, ``CLIENT SETNAME``, ``AUTH``,
    ``HELLO``, ...), which other calls share. The message says what to use
    instead (the URL's database, a transaction, a subscriber). Also a
    ``ValueError``."""

class ConfigError(RedisError, ValueError):
    """Invalid configuration: a bad URL, an unknown scheme, a negative
    timeout. Also a ValueError."""

class Health:
    """A snapshot of the pool's view of Redis, read without sending a command."""

    @property
    def state(self) -> Literal["up", "degraded", "down", "closed"]:
        """``"up"``: the last probe got its PONG. ``"degraded"``: some probes
        failed, or the pool has not probed yet; requests still go to Redis.
        ``"down"``: requests fail at once with ``UnavailableError`` while the
        watch reconnects. ``"closed"``: ``close()`` was called; requests fail
        with ``ClosedError``."""
    @property
    def since(self) -> float:
        """When the pool entered this state, as a Unix timestamp (``time.time()``)."""
    @property
    def last_error(self) -> Optional[str]:
        """Why the last probe or connect failed, if one has since the pool
        was last up (never contains a password)."""
    @property
    def rtt(self) -> Optional[float]:
        """Round-trip time of the last successful probe, in seconds."""
    @property
    def consecutive_failures(self) -> int:
        """Failed probes or connects in a row."""
    @property
    def generation(self) -> int:
        """Increments each time the pool goes down."""
    @property
    def is_up(self) -> bool:
        """Whether ``state == "up"``."""
    @property
    def nodes(self) -> list[NodeHealth]:
        """For a Cluster pool, every node the health watch probes (primaries
        and replicas); empty for one server or a Sentinel group."""

class NodeHealth:
    """One node of a Cluster, as the health watch last saw it."""

    @property
    def addr(self) -> str:
        """``"host:port"``, as the cluster names it."""
    @property
    def primary(self) -> bool:
        """Whether it is a primary (serves slots); ``False`` for a replica."""
    @property
    def state(self) -> Literal["up", "down"]:
        """``"up"``, or ``"down"`` after failed probes."""
    @property
    def last_error(self) -> Optional[str]:
        """Why its last probe failed, if it did."""

class Stats:
    """Pool counters since it was built, plus a snapshot of each connection set."""

    @property
    def size(self) -> int:
        """Exclusive connections open now (idle + checked out)."""
    @property
    def idle(self) -> int:
        """Exclusive connections idle now."""
    @property
    def waiting(self) -> int:
        """Callers waiting for an exclusive connection now."""
    @property
    def checkouts(self) -> int:
        """Successful checkouts of an exclusive connection."""
    @property
    def checkout_timeouts(self) -> int:
        """Checkouts that hit the pool timeout."""
    @property
    def fast_fails(self) -> int:
        """Calls refused with ``UnavailableError`` because the pool was down."""
    @property
    def connects(self) -> int:
        """Connections opened successfully (exclusive, shared and probe)."""
    @property
    def connect_failures(self) -> int:
        """Connection attempts that failed."""
    @property
    def reconnects(self) -> int:
        """Reconnect attempts made by the health watch while down."""
    @property
    def evicted(self) -> int:
        """Connections dropped because they broke or predate an outage."""
    @property
    def probes(self) -> int:
        """Health probes sent."""
    @property
    def probe_failures(self) -> int:
        """Health probes that failed."""
    @property
    def shared_open(self) -> int:
        """Shared multiplexed connections open now (they carry the concurrent ordinary commands of ``redkeep.asyncio.Pool``)."""
    @property
    def thread_open(self) -> int:
        """Calling-thread connections open now, idle or in use (they carry the ordinary commands of ``Pool.execute``, and those of ``redkeep.asyncio.Pool`` made one at a time)."""
    @property
    def thread_idle(self) -> int:
        """Calling-thread connections idle now."""
    def to_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""

class Pool:
    """A resilient Redis pool; blocking calls release the GIL while they wait.

    Ordinary commands share a few multiplexed connections (auto-pipelined);
    blocking commands (``BLPOP``, ``XREAD ... BLOCK``, ``WAIT``, ...) get an
    exclusive connection whose reply timeout is the command's own timeout
    plus ``socket_timeout``, so they never hold up other calls. Commands
    that change a connection's state (``SELECT``, ``MULTI``, ``WATCH``,
    ``SUBSCRIBE``, ``CLIENT SETNAME``, ...) are refused unsent with
    ``RefusedError``. The Rust core decides all of this, the same way for
    every language. A background health watch probes Redis; while it is down, calls
    fail at once with ``UnavailableError`` and one reconnect at a time
    follows the backoff schedule. A command is never re-sent unless it is
    read-only.

    Args:
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://``
            (TLS, if built with it) or ``redis+unix:///path?db=N&pass=P``;
            a Sentinel group as
            ``redis+sentinel://[user:pass@]host:port,host:port/master[/db]``
            (``?sentinel_username=U&sentinel_password=P`` for the
            sentinels), or a Cluster as a comma list of ``redis://`` nodes.
        max_connections: most exclusive connections at once (default 16).
        socket_timeout: seconds to wait for a reply (default 2).
        socket_connect_timeout: seconds to open a connection, handshake
            included (default 1).
        pool_timeout: seconds to wait for a free exclusive connection (default 1).
        health_check_interval: seconds between two health probes (default 0.5).
        retry_backoff_min: first reconnect delay in seconds (default 0.05).
        retry_backoff_max: largest reconnect delay in seconds (default 2).
        spawn_if_absent: start a local redis-server at the URL's address if
            nothing answers there; the pool owns it (restarts it if it
            crashes, stops it on close).
        decode_responses: return bulk strings as ``str`` (UTF-8) instead of ``bytes``.
        lazy: do not connect in the constructor; the first command does.
        ssl: use TLS even for a ``redis://`` URL (a ``rediss://`` URL is
            TLS without it). Any of the ``ssl_*`` files, or
            ``ssl_cert_reqs="none"``, also turns TLS on.
        ssl_ca_certs: PEM file with the CA certificate(s) to trust instead
            of the built-in web roots.
        ssl_certfile: PEM file with a client certificate, for servers with
            ``tls-auth-clients yes`` (mutual TLS); needs ``ssl_keyfile``.
        ssl_keyfile: PEM file with the client certificate's private key
            (never logged or put in errors).
        ssl_cert_reqs: ``"required"`` (the default; also
            ``ssl.CERT_REQUIRED``) verifies the server's certificate;
            ``"none"`` (``ssl.CERT_NONE``) does not, which leaves the
            connection open to a man in the middle: only for tests.
            ``"optional"`` is refused.

    Raises:
        ConfigError: invalid URL or option (also a ``ValueError``), or an
            ``ssl_*`` file that cannot be read (the message names it).
        ConnectionError: Redis cannot be reached (unless ``lazy``), or its
            TLS certificate is not trusted, or it wants a client certificate.
        TimeoutError: connecting timed out (unless ``lazy``).
        SpawnError: ``spawn_if_absent`` could not start a server.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379",
        *,
        max_connections: Optional[int] = None,
        socket_timeout: Optional[float] = None,
        socket_connect_timeout: Optional[float] = None,
        pool_timeout: Optional[float] = None,
        health_check_interval: Optional[float] = None,
        retry_backoff_min: Optional[float] = None,
        retry_backoff_max: Optional[float] = None,
        spawn_if_absent: bool = False,
        decode_responses: bool = False,
        lazy: bool = False,
        ssl: bool = False,
        ssl_ca_certs: Optional[Union[str, os.PathLike[str]]] = None,
        ssl_certfile: Optional[Union[str, os.PathLike[str]]] = None,
        ssl_keyfile: Optional[Union[str, os.PathLike[str]]] = None,
        ssl_cert_reqs: Union[Literal["required", "none"], VerifyMode, None] = None,
    ) -> None: ...
    def execute(self, *args: Arg) -> Reply:
        """Runs one command, e.g. ``execute("SET", "k", "v")``, and returns its reply.

        Raises:
            TypeError: no arguments, or an argument of another type.
            RefusedError: a command that would change a shared connection's
                state (``SUBSCRIBE``, ``MULTI``, ``SELECT``, ``CLIENT SETNAME``,
                ...), not sent (also a ``ValueError``).
            ResponseError: the server answered with an error.
            UnavailableError: the pool is down (failed fast).
            TimeoutError: a phase timed out (``phase`` says which).
            ConnectionError: the connection failed.
            ClosedError: the pool was closed (also while the call was in
                flight: ``close()`` from another thread ends it at once), or
                created before ``fork()``.
        """
    def subscriber(self) -> Subscriber:
        """A subscriber on a dedicated connection that re-subscribes by itself
        when the pool is up again after an outage.

        Raises:
            UnavailableError: the pool is down (failed fast).
            TimeoutError: the connect timed out (``phase == "connect"``).
        """
    def health(self) -> Health:
        """The current health, read without sending a command."""
    def stats(self) -> Stats:
        """The pool's counters."""
    def metrics_text(self) -> str:
        """The pool's metrics as Prometheus text (format 0.0.4), rendered by
        the core; ``""`` before the pool connects."""
    def health_json(self) -> Tuple[int, str]:
        """The ``/health`` answer: 200 while up, else 503, and a JSON body
        (pool, state, since, last_error, rtt_seconds, restarts, ...)."""
    def close(self) -> None:
        """Stops the health watch, drops every connection (and stops a server
        started by ``spawn_if_absent``); calls in flight in other threads end
        with ``ClosedError``. Idempotent."""
    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
    @property
    def url(self) -> str:
        """The URL with its password replaced by ``***``."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

class AsyncPool:
    """``redkeep.asyncio.Pool``: the same pool for asyncio.

    The constructor takes the same arguments as ``redkeep.Pool`` and never
    blocks: the pool connects on ``async with``, ``await connect()`` or the
    first command (``lazy=True`` builds it at once without connecting).
    Cancelling a task that awaits a call drops the Rust future.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379",
        *,
        max_connections: Optional[int] = None,
        socket_timeout: Optional[float] = None,
        socket_connect_timeout: Optional[float] = None,
        pool_timeout: Optional[float] = None,
        health_check_interval: Optional[float] = None,
        retry_backoff_min: Optional[float] = None,
        retry_backoff_max: Optional[float] = None,
        spawn_if_absent: bool = False,
        decode_responses: bool = False,
        lazy: bool = False,
        ssl: bool = False,
        ssl_ca_certs: Optional[Union[str, os.PathLike[str]]] = None,
        ssl_certfile: Optional[Union[str, os.PathLike[str]]] = None,
        ssl_keyfile: Optional[Union[str, os.PathLike[str]]] = None,
        ssl_cert_reqs: Union[Literal["required", "none"], VerifyMode, None] = None,
    ) -> None: ...
    async def execute(self, *args: Arg) -> Reply:
        """Runs one command and returns its reply; raises as ``Pool.execute``."""
    async def connect(self) -> None:
        """Connects now (idempotent); otherwise the first command does."""
    async def subscriber(self) -> AsyncSubscriber:
        """A ``redkeep.asyncio.Subscriber``; raises as ``Pool.subscriber``."""
    def health(self) -> Health:
        """The current health, read without sending a command (not awaitable)."""
    def stats(self) -> Stats:
        """The pool's counters (not awaitable)."""
    def metrics_text(self) -> str:
        """The pool's metrics as Prometheus text, rendered by the core (not
        awaitable); ``""`` before the pool connects."""
    def health_json(self) -> Tuple[int, str]:
        """The ``/health`` answer: (200 while up else 503, JSON body) (not awaitable)."""
    async def aclose(self) -> None:
        """Closes the pool; calls in flight end with ``ClosedError``. Idempotent."""
    async def close(self) -> None:
        """The same as ``aclose()``."""
    @property
    def closed(self) -> bool:
        """Whether the pool was closed."""
    @property
    def url(self) -> str:
        """The URL with its password replaced by ``***``."""
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

#: A message dict as redis-py's ``PubSub.get_message()`` gives it:
#: ``{"type", "pattern", "channel", "data"}``. ``type`` is ``"message"`` or
#: ``"pmessage"``; the subscriber's own news is ``"disconnected"`` (``data``:
#: the reason) and ``"resubscribed"`` (``data``: ``{"channels": [...],
#: "patterns": [...], "shard_channels": [...]}``). Shard messages
#: (``ssubscribe``) have the type ``"smessage"``.
Message = dict[str, Any]

class Subscriber:
    """A pub/sub subscriber on a dedicated connection (``Pool.subscriber()``).

    It keeps its channels and patterns across outages: when its connection
    is lost it yields ``{"type": "disconnected", ...}``, waits until the pool
    is up again, reconnects on the pool's backoff schedule, subscribes
    everything again and yields ``{"type": "resubscribed", ...}``. Messages
    published in between are lost. Thread-safe; waits release the GIL.
    """

    def subscribe(self, *channels: Arg) -> None:
        """Subscribes to channels, waiting for the server's confirmation.

        Raises:
            UnavailableError: the subscriber is reconnecting; the channels
                are kept and subscribed when it is back.
            ResponseError: the server refused (e.g. an ACL); not kept.
            TimeoutError: no confirmation in time (it then reconnects).
            ClosedError: after ``close()``.
        """
    def unsubscribe(self, *channels: Arg) -> None:
        """Unsubscribes from channels (none: all)."""
    def psubscribe(self, *patterns: Arg) -> None:
        """Subscribes to glob-style patterns (``news.*``)."""
    def punsubscribe(self, *patterns: Arg) -> None:
        """Unsubscribes from patterns (none: all)."""
    def ssubscribe(self, *channels: Arg) -> None:
        """Subscribes to shard channels (``SSUBSCRIBE``, Redis 7; messages of
        type ``"smessage"``); kept across outages, raises as ``subscribe``."""
    def sunsubscribe(self, *channels: Arg) -> None:
        """Unsubscribes from shard channels (none: all)."""
    def get_message(self, timeout: Optional[float] = 0.0) -> Optional[Message]:
        """The next message or event within ``timeout`` seconds (``None``: no
        limit), or ``None``. Raises ``ClosedError`` once closed."""
    def listen(self) -> Self:
        """Iterates over every message and event until ``close()``."""
    def __iter__(self) -> Self: ...
    def __next__(self) -> Message: ...
    def close(self) -> None:
        """Ends the subscriber and drops its connection. Idempotent."""
    @property
    def closed(self) -> bool:
        """Whether it has ended (``close()``, or the pool was closed)."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

class AsyncSubscriber:
    """``redkeep.asyncio.Subscriber``: ``redkeep.Subscriber`` for asyncio
    (``async for message in sub.listen()``)."""

    async def subscribe(self, *channels: Arg) -> None:
        """Subscribes to channels; raises as ``Subscriber.subscribe``."""
    async def unsubscribe(self, *channels: Arg) -> None:
        """Unsubscribes from channels (none: all)."""
    async def psubscribe(self, *patterns: Arg) -> None:
        """Subscribes to glob-style patterns."""
    async def punsubscribe(self, *patterns: Arg) -> None:
        """Unsubscribes from patterns (none: all)."""
    async def ssubscribe(self, *channels: Arg) -> None:
        """Subscribes to shard channels; raises as ``Subscriber.subscribe``."""
    async def sunsubscribe(self, *channels: Arg) -> None:
        """Unsubscribes from shard channels (none: all)."""
    async def get_message(self, timeout: Optional[float] = 0.0) -> Optional[Message]:
        """The next message or event within ``timeout`` seconds, or ``None``."""
    def listen(self) -> Self:
        """Iterates (``async for``) over every message and event until closed."""
    def __aiter__(self) -> Self: ...
    async def __anext__(self) -> Message: ...
    def close(self) -> None:
        """Ends the subscriber (not awaitable). Idempotent."""
    async def aclose(self) -> None:
        """The same as ``close()``."""
    @property
    def closed(self) -> bool:
        """Whether it has ended."""
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

class Server:
    """A Redis at a local address: attached to, or spawned by this process.

    A spawned server binds loopback only, keeps no data (unless
    ``persistence``), is restarted if it crashes, and dies with its owner:
    on ``close()``, at exit, and (Linux) even when the owner is killed with
    SIGKILL. A context manager: ``with redkeep.ensure_server(port=0) as s: ...``.
    """

    @property
    def url(self) -> str:
        """The URL to connect with, password included (do not log it)."""
    @property
    def redacted_url(self) -> str:
        """``url`` with the password replaced by ``***``."""
    @property
    def host(self) -> Optional[str]:
        """The TCP host, or ``None`` for a unix socket."""
    @property
    def port(self) -> Optional[int]:
        """The TCP port (a picked free port is resolved), or ``None`` for a unix socket."""
    @property
    def unix_socket(self) -> Optional[Path]:
        """The unix socket path, or ``None`` for TCP."""
    @property
    def spawned(self) -> bool:
        """Whether this process started the server (``False``: attached)."""
    @property
    def pid(self) -> Optional[int]:
        """The spawned server's pid while it runs; ``None`` if attached,
        restarting or stopped."""
    @property
    def status(self) -> Literal["attached", "running", "restarting", "failed", "stopped"]:
        """What the server is doing now."""
    @property
    def restarts(self) -> int:
        """How many times a crashed server was restarted."""
    @property
    def ca_cert_path(self) -> Optional[Path]:
        """The PEM file of the throwaway CA that signed a TLS server's
        certificate (``tls=True``), for ``ssl_ca_certs=``; ``None`` without TLS."""
    @property
    def log_path(self) -> Optional[Path]:
        """The spawned server's log file (removed on close)."""
    def close(self) -> None:
        """Stops a spawned server and waits until it is gone (SIGTERM, then
        SIGKILL after 3 s); an attached one is left alone. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

def ensure_server(
    port: Optional[int] = None,
    binary: Union[str, os.PathLike[str], None] = None,
    password: Optional[str] = None,
    *,
    host: str = "127.0.0.1",
    unix_socket: Union[bool, str, os.PathLike[str], None] = None,
    args: Sequence[str] = (),
    dir: Union[str, os.PathLike[str], None] = None,
    persistence: bool = False,
    ready_timeout: float = 10.0,
    max_restarts: int = 5,
    tls: bool = False,
    guard: Optional[str] = None,
) -> Server:
    """Attaches to the Redis at ``host:port``, or starts one there if nothing
    listens. Use it as a context manager.

    Args:
        port: TCP port; ``None`` means 6379, ``0`` picks a free port (always spawned).
        binary: the redis-server to run; default ``$REDKEEP_REDIS_SERVER``,
            then ``redis-server`` on ``PATH``.
        password: ``requirepass`` for a spawned server, and the password used
            with an attached one.
        host: a loopback address to bind.
        unix_socket: ``True`` for a socket in a private temporary directory,
            or a path; excludes ``port``.
        args: extra redis-server arguments, e.g. ``["--maxmemory", "64mb"]``.
        dir: working directory (default: a private temporary one, removed on close).
        persistence: keep RDB/AOF data (default off).
        ready_timeout: seconds the server may take to answer PONG.
        max_restarts: restarts allowed within a minute after crashes (0: never).
        tls: a TLS-only server with a throwaway CA (``ca_cert_path``), always
            spawned (use ``port=0``); its ``url`` is ``rediss://``.
        guard: ``None``/``"auto"`` (the platform's guard: the parent-death
            signal on Linux, a Job Object on Windows, the watchdog elsewhere)
            or ``"watchdog"`` (a forked watchdog process kills the server when
            this process dies, even by ``kill -9``; unix only).
            ``REDKEEP_GUARD=watchdog`` in the environment also selects it.

    Raises:
        SpawnError: the server could not start (the message says why, with
            the tail of its log), or the address is held by something that
            is not Redis.
        ConfigError: invalid arguments (a non-loopback host, port and unix_socket both).
    """

class Bridge:
    """The native half of ``redkeep.Redis`` (private: use ``redkeep.Redis``).
    Replies come in the shape redis-py's parsers produce."""

    def __init__(self, pool: Union[Pool, AsyncPool]) -> None: ...
    def call(self, *args: Arg) -> Reply: ...
    def call_decoded(self, *args: Arg) -> Reply: ...
    async def acall(self, args: tuple[Arg, ...], decode: bool) -> Reply: ...
    def pipeline(self, cmds: list[tuple[Arg, ...]], decode: bool) -> list[Reply]: ...
    async def apipeline(self, cmds: list[tuple[Arg, ...]], decode: bool) -> list[Reply]: ...
    def exclusive(self) -> Exclusive: ...
    async def aexclusive(self) -> Exclusive: ...
    def subscriber(self) -> BridgeSubscriber: ...
    async def asubscriber(self) -> BridgeSubscriber: ...
    def monitor(self) -> BridgeMonitor: ...
    async def amonitor(self) -> BridgeMonitor: ...

class Exclusive:
    """An exclusive connection checked out of the core (private)."""

    def run(self, cmds: list[tuple[Arg, ...]], decode: bool) -> list[Reply]: ...
    async def arun(self, cmds: list[tuple[Arg, ...]], decode: bool) -> list[Reply]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...

class BridgeSubscriber:
    """A pub/sub connection of its own, for ``redkeep.Redis.pubsub()`` (private)."""

    def change(self, names: list[bytes], pattern: bool, on: bool, shard: bool = False) -> None: ...
    async def achange(
        self, names: list[bytes], pattern: bool, on: bool, shard: bool = False
    ) -> None: ...
    def next(self, timeout: Optional[float], decode: bool) -> Optional[list[Any]]: ...
    async def anext(self, timeout: Optional[float], decode: bool) -> Optional[list[Any]]: ...
    def close(self) -> None: ...

class BridgeMonitor:
    """The server's ``MONITOR`` feed on a connection of its own, for
    ``redkeep.Redis.monitor()`` (private). A line is what the server sent
    (``'1700000000.123456 [0 127.0.0.1:5555] "SET" "k" "v"'``); ``None``
    after ``timeout`` seconds (``None``: no limit). A lost connection raises
    ``ConnectionError`` and is never reconnected; after ``close()`` (or the
    pool's) reads raise ``ClosedError``."""

    def next(self, timeout: Optional[float] = None) -> Optional[str]: ...
    async def anext(self, timeout: Optional[float] = None) -> Optional[str]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...

class Deployment:
    """A throwaway local Redis Cluster (``start_cluster``) or Sentinel group
    (``start_sentinel``); every process dies with this process (even on
    ``kill -9``, Linux). Use it as a context manager, or call ``close()``."""

    @property
    def url(self) -> str:
        """A cluster's first node URL, or a group's
        ``redis+sentinel://HOST:PORT,.../mymaster``."""
    @property
    def urls(self) -> list[str]:
        """Every cluster node's ``redis://`` URL, or every sentinel's."""
    @property
    def addrs(self) -> list[tuple[str, int]]:
        """``urls`` as ``(host, port)`` pairs (redis-py's ``startup_nodes``,
        ``Sentinel(sentinels)``)."""
    @property
    def master_name(self) -> Optional[str]:
        """A Sentinel group's master name (``"mymaster"``); ``None`` for a cluster."""
    def close(self) -> None:
        """Stops every process and waits until they are gone. Idempotent."""
    def __enter__(self) -> Deployment: ...
    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

def start_cluster(
    masters: int = 3,
    replicas_per_master: int = 1,
    *,
    binary: Union[str, os.PathLike[str], None] = None,
    args: Sequence[str] = (),
    ready_timeout: float = 30.0,
) -> Deployment:
    """Starts a Redis Cluster on free loopback ports and returns once it is
    ready: every node agrees on the cluster, every slot is served, every
    replica is linked (about 2-3 s for 3 + 3 nodes). Raises ``SpawnError``
    (saying why) otherwise."""

def start_sentinel(
    replicas: int = 2,
    sentinels: int = 3,
    *,
    binary: Union[str, os.PathLike[str], None] = None,
    args: Sequence[str] = (),
    ready_timeout: float = 30.0,
) -> Deployment:
    """Starts a master with ``replicas`` replicas and ``sentinels`` sentinels
    watching it as ``"mymaster"``, and returns once the replicas are linked
    and every sentinel knows the master, the replicas and the other
    sentinels. Raises ``SpawnError`` (saying why) otherwise."""

def _set_log_callback(
    callback: Optional[Callable[[int, str, str, Optional[str], Optional[str], Dict[str, str]], None]],
    min_level: int,
) -> None: ...
