"""``redkeep.Redis``: redis-py's ``redis.Redis`` whose connections are redkeep's.

Every redis-py method works and returns what redis-py returns (its own
response callbacks run on the replies); the commands go through redkeep's
core: its timeouts, its health watch (fail fast while Redis is down), its
no-resend rule (a write is never sent twice; redis-py's own ``Retry`` is
replaced by one that never retries), its blocking-command rule.

>>> import redkeep
>>> r = redkeep.Redis.from_url("redis://127.0.0.1:6379/0")   # doctest: +SKIP
>>> r.set("k", "v", ex=60)                                   # doctest: +SKIP
True

- Ordinary commands go over the core's shared connections (``Pool.execute``'s path).
- ``pipeline(transaction=False)`` is one round trip on the core's pipeline path.
- ``pipeline()`` / ``transaction()`` (``MULTI``/``EXEC``) and ``WATCH`` run on
  an exclusive connection checked out of the core, returned on ``reset()``.
- ``single_connection_client=True`` (and ``Redis.client()``) holds one
  exclusive connection: per-connection commands (``SELECT``, ``CLIENT
  SETNAME``) work there; on the shared path the core refuses them unsent.
- ``pubsub()`` gets a connection of its own; after an outage redis-py's
  ``PubSub`` re-subscribes once the pool is up again, and redkeep logs it
  (logger ``redkeep``, level WARNING).
- ``monitor()`` is redis-py's ``Monitor`` on the core's ``MONITOR``
  connection (``Pool.monitor``); it is not reconnected after an outage.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from . import _redkeep as _native
from ._redispy import (
    ClosedError,
    ConfigError,
    ConnectionError,
    RefusedError,
    TimeoutError,
    UnavailableError,
    data_error,
    finish,
    log,
    native_decodes,
    native_url,
    no_retry,
    pool_options,
    protocol_of,
    redis,
    split_name,
    translate,
)
from redis import exceptions as _rex
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.client import Monitor as _Monitor
from redis.client import PubSub as _PubSub
from redis.client import Pipeline as _Pipeline

_NativeError = _native.RedisError
_NativeResponseError = _native.ResponseError


class Connection:
    """A redis-py connection whose commands go through redkeep's core.

    Unbound, its batches run on the core's shared pipeline path (one round
    trip). Marked ``exclusive`` (transactions, ``WATCH``, a single-connection
    client), it checks out an exclusive connection on first use and gives it
    back on ``disconnect()``. Never retries: ``retry`` never runs a call twice.
    """

    def __init__(self, pool: "ConnectionPool") -> None:
        kwargs = pool.connection_kwargs
        self._bridge = pool._bridge
        self._conn: Optional[Any] = None
        self._queue: List[Tuple[Any, ...]] = []
        self._replies: Deque[Any] = deque()
        self._callbacks: List[Any] = []
        self.exclusive = False
        self.encoder = pool.get_encoder()
        self.retry = no_retry()
        self.pid = os.getpid()
        self.host = kwargs.get("host")
        self.port = kwargs.get("port")
        self.db = kwargs.get("db", 0)
        self.path = kwargs.get("path")
        self.socket_timeout = kwargs.get("socket_timeout")
        self.health_check_interval = 0
        self.next_health_check = 0
        self.client_name = kwargs.get("client_name")
        self.protocol = protocol_of(kwargs)
        self.retry_on_timeout = False
        self.retry_on_error: List[type] = []
        self.credential_provider = None
        self.lock = threading.RLock()

    # -- redis-py's connection interface -----------------------------------
    @property
    def is_connected(self) -> bool:
        return True

    def get_protocol(self) -> int:
        return self.protocol

    def connect(self) -> None:
        """Nothing to do: the core connects (and reconnects) by itself."""

    def should_reconnect(self) -> bool:
        return False

    def check_health(self) -> None:
        """The core's health watch does this for every connection."""

    def register_connect_callback(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(callback)

    def deregister_connect_callback(self, callback: Callable[..., Any]) -> None:
        try:
            self._callbacks.remove(callback)
        except ValueError:
            pass

    def clear_connect_callbacks(self) -> None:
        self._callbacks = []

    def set_parser(self, parser_class: Any) -> None:
        """Replies are parsed by the core; redis-py's parser is not used."""

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        """Gives an exclusive connection back to the core (which drops it
        if it broke) and forgets pending replies."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._queue = []
        self._replies.clear()

    def pack_command(self, *args: Any) -> List[Tuple[Any, ...]]:
        return [split_name(args)]

    def pack_commands(self, commands: Any) -> List[Tuple[Any, ...]]:
        return [split_name(tuple(c)) for c in commands]

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._queue.extend(command)

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        self._queue.append(split_name(args))

    def can_read(self, timeout: Optional[float] = 0) -> bool:
        return bool(self._replies or self._queue)

    def read_response(
        self,
        disable_decoding: bool = False,
        *,
        timeout: Any = None,
        disconnect_on_error: bool = True,
        push_request: bool = False,
    ) -> Any:
        if not self._replies:
            self._flush()
        if not self._replies:
            raise ConnectionError("no reply pending on this connection")
        reply = self._replies.popleft()
        decode = self.encoder.decode_responses and not disable_decoding
        reply = finish(reply, self.encoder if decode else None)
        if isinstance(reply, _rex.ResponseError):
            raise reply
        return reply

    # -- redkeep ------------------------------------------------------------
    def _flush(self) -> None:
        cmds, self._queue = self._queue, []
        if not cmds:
            return
        try:
            if self.exclusive:
                if self._conn is None:
                    self._conn = self._bridge.exclusive()
                replies = self._conn.run(cmds, False)
            else:
                replies = self._bridge.pipeline(cmds, False)
        except _NativeError as e:
            # The core already dropped a connection that broke; forget ours.
            self.disconnect()
            raise translate(e) from None
        except TypeError:
            raise data_error(tuple(a for c in cmds for a in c), self.encoder) from None
        self._replies.extend(replies)

    def __repr__(self) -> str:
        kind = "exclusive" if self.exclusive else "shared"
        return f"<redkeep.client.Connection({kind})>"


class ConnectionPool(redis.ConnectionPool):
    """redis-py's ``ConnectionPool`` interface over a native ``redkeep.Pool``.

    Takes redis-py's keywords (or ``from_url``); the core gets the address,
    database, credentials, protocol, ``socket_timeout``,
    ``socket_connect_timeout``, ``max_connections`` and the ``ssl_*`` files.
    ``retry`` is always a redis-py ``Retry`` that never retries.
    """

    def __init__(
        self,
        connection_class: Any = None,
        max_connections: Optional[int] = None,
        **connection_kwargs: Any,
    ) -> None:
        connection_kwargs["retry"] = no_retry()
        connection_kwargs.pop("retry_on_timeout", None)
        self._url = native_url(connection_kwargs)
        options = pool_options({**connection_kwargs, "max_connections": max_connections})
        self._native = _native.Pool(self._url, lazy=True, **options)
        self._bridge = _native.Bridge(self._native)
        super().__init__(
            connection_class=redis.connection.Connection,
            max_connections=max_connections,
            **connection_kwargs,
        )

    @property
    def native(self) -> "_native.Pool":
        """The native ``redkeep.Pool`` (its ``health()`` and ``stats()``)."""
        return self._native

    def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Connection:
        return Connection(self)

    def make_connection(self) -> Connection:
        return Connection(self)

    def release(self, connection: Any) -> None:
        connection.disconnect()

    def disconnect(self, inuse_connections: bool = True) -> None:
        """Nothing to drop here: the core owns the connections (and drops
        them itself when Redis goes down)."""

    def close(self) -> None:
        """Closes the native pool: later commands fail with ``ClosedError``."""
        self._native.close()

    def get_subscriber_pool(self) -> "_SubscriberPool":
        return _SubscriberPool(self)

    def __repr__(self) -> str:
        return f"<redkeep.client.ConnectionPool(url={self._native.url!r})>"


class Redis(redis.Redis):
    """redis-py's ``redis.Redis`` whose connections are redkeep's.

    Takes redis-py's arguments (``host``, ``port``, ``db``, ``password``,
    ``decode_responses``, ``socket_timeout``, ...) or
    ``Redis.from_url(url)``; porting is an import change. See the module
    documentation for what runs where.
    """

    def __init__(self, *args: Any, connection_pool: Any = None, **kwargs: Any) -> None:
        single = bool(kwargs.pop("single_connection_client", False))
        if connection_pool is None:
            connection_pool = ConnectionPool(**_pool_kwargs(args, kwargs))
            auto_close = True
        else:
            if not isinstance(connection_pool, ConnectionPool):
                raise TypeError(
                    "redkeep.Redis needs a redkeep.client.ConnectionPool, not "
                    f"{type(connection_pool).__name__}"
                )
            auto_close = False
        passthrough = {k: kwargs[k] for k in ("event_dispatcher",) if k in kwargs}
        super().__init__(
            connection_pool=connection_pool,
            single_connection_client=single,
            **passthrough,
        )
        self.auto_close_connection_pool = auto_close
        if self.connection is not None:
            self.connection.exclusive = True
        kw = connection_pool.connection_kwargs
        bridge = connection_pool._bridge
        self._rk_raw = bridge.call
        self._rk_decode: Optional[Any] = None
        if kw.get("decode_responses"):
            if native_decodes(kw):
                self._rk_call = bridge.call_decoded
            else:
                self._rk_call = bridge.call
                self._rk_decode = self.get_encoder()
        else:
            self._rk_call = bridge.call

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "Redis":
        """redis-py's ``from_url``: the same URL forms and keywords."""
        single = kwargs.pop("single_connection_client", False)
        kwargs.pop("auto_close_connection_pool", None)
        pool = ConnectionPool.from_url(url, **kwargs)
        client = cls(connection_pool=pool, single_connection_client=single)
        client.auto_close_connection_pool = True
        return client

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if self.connection is not None:
            return super().execute_command(*args, **options)
        name = args[0]
        if isinstance(name, str) and " " in name:
            args = (*name.split(), *args[1:])
        try:
            if NEVER_DECODE in options:
                options.pop(NEVER_DECODE)
                response = self._rk_raw(*args)
            else:
                response = self._rk_call(*args)
                if self._rk_decode is not None:
                    response = finish(response, self._rk_decode)
        except _NativeError as e:
            if EMPTY_RESPONSE in options and isinstance(e, _NativeResponseError):
                return options[EMPTY_RESPONSE]
            raise translate(e) from None
        except TypeError:
            raise data_error(args, self.get_encoder()) from None
        if EMPTY_RESPONSE in options:
            options.pop(EMPTY_RESPONSE)
        options.pop("keys", None)
        callback = self.response_callbacks.get(name)
        if callback is not None:
            return callback(response, **options)
        return response

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> "Pipeline":
        """redis-py's pipeline: one round trip; ``MULTI``/``EXEC`` and
        ``WATCH`` on an exclusive connection."""
        return Pipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)

    def pubsub(self, **kwargs: Any) -> "PubSub":
        """redis-py's ``PubSub`` on a connection of its own (see ``PubSub``)."""
        return PubSub(self.connection_pool.get_subscriber_pool(), **kwargs)

    def monitor(self) -> "Monitor":
        """redis-py's ``Monitor`` on the core's monitor connection (see ``Monitor``)."""
        return Monitor(self.connection_pool)

    def health(self) -> "_native.Health":
        """redkeep's view of Redis, read without sending a command."""
        return self.connection_pool.native.health()

    def stats(self) -> "_native.Stats":
        """redkeep's pool counters."""
        return self.connection_pool.native.stats()

    def __repr__(self) -> str:
        return f"<redkeep.Redis({self.connection_pool!r})>"


def _pool_kwargs(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """redis-py's ``Redis(...)`` arguments as its connection-pool keywords
    (what redis-py itself would build its pool from)."""
    import inspect

    bound = inspect.signature(redis.client.Redis.__init__).bind(None, *args, **kwargs)
    bound.apply_defaults()
    a = dict(bound.arguments)
    a.pop("self", None)
    extra = a.pop("kwargs", {}) or {}
    out = {
        k: a[k]
        for k in (
            "db", "username", "password", "socket_timeout", "encoding", "encoding_errors",
            "decode_responses", "retry_on_error", "max_connections", "health_check_interval",
            "client_name", "protocol", "legacy_responses", "host", "port",
            "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options",
        )
        if k in a
    }
    if a.get("unix_socket_path"):
        out["path"] = a["unix_socket_path"]
        for k in ("host", "port", "socket_connect_timeout"):
            out.pop(k, None)
    if a.get("ssl"):
        out["ssl"] = True
        for k in ("ssl_keyfile", "ssl_certfile", "ssl_cert_reqs", "ssl_ca_certs"):
            out[k] = a.get(k)
    out.update(extra)
    return out


class Pipeline(_Pipeline):
    """redis-py's ``Pipeline``: ``transaction=False`` is one round trip on the
    core's pipeline path; a transaction (``MULTI``/``EXEC``) and ``WATCH`` run
    on an exclusive connection, never re-sent."""

    def _execute_transaction(self, connection: Any, commands: Any, raise_on_error: bool) -> Any:
        connection.exclusive = True
        return super()._execute_transaction(connection, commands, raise_on_error)

    def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        if self.connection is None:
            self.connection = self.connection_pool.get_connection()
        self.connection.exclusive = True
        return super().immediate_execute_command(*args, **options)


class SubscriberConnection:
    """A redis-py connection for ``PubSub``: a pub/sub connection of its own
    from the core (its subscriber, ``Pool::subscriber``, for one
    connection's life: channels, patterns and shard channels).

    When it drops (Redis restarted), reads raise ``ConnectionError``;
    redis-py's ``PubSub`` then reconnects, which fails fast while the pool is
    down and, once it is up again, opens a new connection and re-subscribes
    every channel and pattern (its ``on_connect``); redkeep logs the
    re-subscription on the ``redkeep`` logger.

    The core sends ``SUBSCRIBE`` and friends (``SSUBSCRIBE`` too) and waits
    for their confirmations; this connection hands redis-py the
    confirmation replies the server sent, with the count the server gives
    (channels and patterns together, shard channels apart).
    """

    def __init__(self, pool: ConnectionPool) -> None:
        kwargs = pool.connection_kwargs
        self._bridge = pool._bridge
        self._sub: Optional[Any] = None
        self._replies: Deque[Any] = deque()
        self._channels: Dict[bytes, None] = {}
        self._patterns: Dict[bytes, None] = {}
        self._shards: Dict[bytes, None] = {}
        self._callbacks: List[Any] = []
        self._opened = 0
        self.encoder = pool.get_encoder()
        self.retry = no_retry()
        self.pid = os.getpid()
        self.host = kwargs.get("host")
        self.port = kwargs.get("port")
        self.db = kwargs.get("db", 0)
        self.socket_timeout = kwargs.get("socket_timeout")
        self.health_check_interval = 0
        self.next_health_check = 0
        self.protocol = protocol_of(kwargs)
        self.credential_provider = None

    @property
    def _parser(self) -> Any:
        # redis-py reaches the parser as ``connection._parser``; this one is
        # its own (a property: no reference cycle keeping it open).
        return self

    def set_pubsub_push_handler(self, handler: Any) -> None:
        """Messages come from the core's subscriber, not a push parser."""

    @property
    def is_connected(self) -> bool:
        return self._sub is not None

    def get_protocol(self) -> int:
        return self.protocol

    def should_reconnect(self) -> bool:
        return False

    def check_health(self) -> None:
        """The core's health watch covers this connection's server."""

    def register_connect_callback(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(weakref.WeakMethod(callback))

    def deregister_connect_callback(self, callback: Callable[..., Any]) -> None:
        self._callbacks = [c for c in self._callbacks if c() != callback]

    def clear_connect_callbacks(self) -> None:
        self._callbacks = []

    def connect(self) -> None:
        if self._sub is not None:
            return
        try:
            self._sub = self._bridge.subscriber()
        except _NativeError as e:
            raise translate(e) from None
        before = (len(self._channels), len(self._patterns), len(self._shards))
        self._channels.clear()
        self._patterns.clear()
        self._shards.clear()
        self._opened += 1
        for ref in list(self._callbacks):
            callback = ref()
            if callback is not None:
                callback(self)
        if self._opened > 1:
            log.warning(
                "pub/sub connection re-opened after it dropped; re-subscribed to "
                "%d channel(s), %d pattern(s) and %d shard channel(s) (they were %d, %d and %d)",
                len(self._channels), len(self._patterns), len(self._shards), *before,
            )

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            sub.close()
        self._replies.clear()

    def _count(self, shard: bool = False) -> int:
        # What the server counts in a confirmation: shard channels apart.
        if shard:
            return len(self._shards)
        return len(self._channels) + len(self._patterns)

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        self.connect()
        assert self._sub is not None
        name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        name = name.upper()
        names = [self.encoder.encode(a) for a in args[1:]]
        pattern = name.startswith("P") and name != "PING"
        shard = name in ("SSUBSCRIBE", "SUNSUBSCRIBE")
        target = self._patterns if pattern else self._shards if shard else self._channels
        kind = name.lower().encode()
        try:
            if name in ("SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"):
                self._sub.change(names, pattern, True, shard)
                for n in names:
                    target[n] = None
                    self._replies.append([kind, n, self._count(shard)])
            elif name in ("UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"):
                names = names or list(target)
                if not names:
                    self._replies.append([kind, None, self._count(shard)])
                    return
                self._sub.change(names, pattern, False, shard)
                for n in names:
                    target.pop(n, None)
                    self._replies.append([kind, n, self._count(shard)])
            elif name == "PING":
                message = names[0] if names else b""
                if self._count() or self._shards:
                    self._replies.append([b"pong", message])
                else:
                    self._replies.append(message or b"PONG")
            else:
                raise RefusedError(
                    f"{name} is not supported on a redkeep pub/sub connection "
                    "(SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UN- forms and PING are)"
                )
        except _NativeError as e:
            self.disconnect()
            raise translate(e) from None

    def can_read(self, timeout: Optional[float] = 0) -> bool:
        self.connect()
        if self._replies:
            return True
        message = self._next(timeout or 0)
        if message is None:
            return False
        self._replies.append(message)
        return True

    def _next(self, timeout: Optional[float]) -> Any:
        assert self._sub is not None
        try:
            return self._sub.next(timeout, False)
        except _NativeError as e:
            self.disconnect()
            raise translate(e) from None

    def read_response(
        self,
        disable_decoding: bool = False,
        *,
        timeout: Any = None,
        disconnect_on_error: bool = True,
        push_request: bool = False,
    ) -> Any:
        if not self._replies:
            self.connect()
            wait = timeout if isinstance(timeout, (int, float)) else None
            message = self._next(wait)
            if message is None:
                raise TimeoutError("Timeout reading from the pub/sub connection")
            self._replies.append(message)
        reply = self._replies.popleft()
        decode = self.encoder.decode_responses and not disable_decoding
        return finish(reply, self.encoder if decode else None)


class _SubscriberPool:
    """What redis-py's ``PubSub`` asks of its pool, handing out subscriber connections."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def get_connection(self, *args: Any, **kwargs: Any) -> SubscriberConnection:
        return SubscriberConnection(self._pool)

    def release(self, connection: Any) -> None:
        connection.disconnect()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class PubSub(_PubSub):
    """redis-py's ``PubSub`` on a pub/sub connection of its own from the
    core; re-subscribes after an outage once the pool is up again (see
    ``SubscriberConnection``)."""


class MonitorConnection:
    """What redis-py's ``Monitor`` reads: the core's ``MONITOR`` connection
    (``Pool.monitor``), opened on first use. ``read_response()`` gives the
    server's next line (as ``str``) for redis-py's own parsing; it waits at
    most ``socket_timeout`` (``TimeoutError``), and raises
    ``ConnectionError`` once the connection is lost (never reconnected)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._bridge = pool._bridge
        self._native: Optional[Any] = None
        self.encoder = pool.get_encoder()
        self.socket_timeout = pool.connection_kwargs.get("socket_timeout")

    def connect(self) -> None:
        if self._native is not None:
            return
        try:
            self._native = self._bridge.monitor()
        except _NativeError as e:
            raise translate(e) from None

    def read_response(self, *args: Any, **kwargs: Any) -> str:
        self.connect()
        assert self._native is not None
        try:
            line: Optional[str] = self._native.next(self.socket_timeout)
        except _NativeError as e:
            raise translate(e) from None
        if line is None:
            raise TimeoutError("Timeout reading from the monitor connection")
        return line

    def disconnect(self, *args: Any, **kwargs: Any) -> None:
        native, self._native = self._native, None
        if native is not None:
            native.close()


class Monitor(_Monitor):
    """redis-py's ``Monitor`` (``next_command()``, ``listen()``, context
    manager) on a ``MONITOR`` connection of its own from the core: redis-py
    parses each line. Entering it (or the first ``next_command()``) opens
    the connection, within ``socket_connect_timeout``, failing fast while
    the pool is down; leaving it closes the connection. It is not
    reconnected: after an outage ``next_command()`` raises
    ``ConnectionError``; open a new monitor."""

    def __init__(self, connection_pool: ConnectionPool) -> None:
        self.connection_pool = connection_pool
        self.connection = MonitorConnection(connection_pool)

    def __enter__(self) -> "Monitor":
        self.connection.connect()
        return self

    def __exit__(self, *args: Any) -> None:
        self.connection.disconnect()

    def close(self) -> None:
        """Closes the connection. Idempotent."""
        self.connection.disconnect()


__all__ = [
    "ClosedError",
    "ConfigError",
    "Connection",
    "ConnectionError",
    "ConnectionPool",
    "Monitor",
    "MonitorConnection",
    "Pipeline",
    "PubSub",
    "Redis",
    "RefusedError",
    "SubscriberConnection",
    "TimeoutError",
    "UnavailableError",
]
