"""``redkeep.asyncio.Redis``: redis-py's ``redis.asyncio.Redis`` whose
connections are redkeep's. The same design as ``redkeep.client`` (see
there): ordinary commands on the core's shared path, pipelines in one round
trip, ``MULTI``/``EXEC``, ``WATCH`` and ``single_connection_client`` on an
exclusive connection, ``pubsub()`` on a connection of its own that
re-subscribes once the pool is up again after an outage. Never re-sends.
"""

from __future__ import annotations

import asyncio
import math
import os
import weakref
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import redis.asyncio as _aredis
from redis import exceptions as _rex
from redis.asyncio.client import Monitor as _Monitor
from redis.asyncio.client import Pipeline as _Pipeline
from redis.asyncio.client import PubSub as _PubSub
from redis.client import EMPTY_RESPONSE, NEVER_DECODE

from . import _redkeep as _native
from ._redispy import (
    ConnectionError,
    RefusedError,
    TimeoutError,
    data_error,
    finish,
    log,
    native_decodes,
    native_url,
    no_retry,
    pool_options,
    protocol_of,
    split_name,
    translate,
)

_NativeError = _native.RedisError
_NativeResponseError = _native.ResponseError


class _Base:
    def _setup(self, pool: "ConnectionPool") -> None:
        kwargs = pool.connection_kwargs
        self._bridge = pool._bridge
        self._callbacks: List[Any] = []
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
        self.retry_on_timeout = False
        self._himport_prepared: Dict[Any, Any] = {}
        self._himport_reconciled_revision = None
        self._push_handler: Optional[Callable[..., Any]] = None

    @property
    def _parser(self) -> Any:
        # redis-py reaches the parser as ``connection._parser``; this one is
        # its own (a property, not an attribute: no reference cycle, so a
        # pub/sub connection nobody holds closes at once, as redis-py's does).
        return self

    def get_protocol(self) -> int:
        return self.protocol

    def should_reconnect(self) -> bool:
        return False

    async def check_health(self) -> None:
        """The core's health watch does this."""

    def register_connect_callback(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(weakref.WeakMethod(callback))

    def deregister_connect_callback(self, callback: Callable[..., Any]) -> None:
        self._callbacks = [c for c in self._callbacks if c() != callback]

    def clear_connect_callbacks(self) -> None:
        self._callbacks = []

    def set_parser(self, parser_class: Any) -> None:
        """Replies are parsed by the core."""

    def set_pubsub_push_handler(self, handler: Any) -> None:
        """redis-py's ``push_handler_func`` (RESP3): a pub/sub connection
        hands it each reply (confirmations and messages from the core's
        subscriber) and returns what it returns, as redis-py's parser does."""
        self._push_handler = handler


class Connection(_Base):
    """``redkeep.client.Connection`` for asyncio."""

    def __init__(self, pool: "ConnectionPool") -> None:
        self._setup(pool)
        self._conn: Optional[Any] = None
        self._queue: List[Tuple[Any, ...]] = []
        self._replies: Deque[Any] = deque()
        self.exclusive = False

    @property
    def is_connected(self) -> bool:
        return True

    async def connect(self) -> None:
        """The core connects by itself."""

    def _close(self) -> None:
        """What redis-py's ``Redis.__del__`` calls: gives the connection back."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def disconnect(self, *args: Any, **kwargs: Any) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._queue = []
        self._replies.clear()

    def pack_command(self, *args: Any) -> List[Tuple[Any, ...]]:
        return [split_name(args)]

    def pack_commands(self, commands: Any) -> List[Tuple[Any, ...]]:
        return [split_name(tuple(c)) for c in commands]

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._queue.extend(command)

    async def send_command(self, *args: Any, **kwargs: Any) -> None:
        self._queue.append(split_name(args))

    async def can_read_destructive(self) -> bool:
        return bool(self._replies or self._queue)

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: Optional[float] = None,
        *,
        disconnect_on_error: bool = True,
        push_request: Optional[bool] = False,
    ) -> Any:
        if not self._replies:
            await self._flush()
        if not self._replies:
            raise ConnectionError("no reply pending on this connection")
        reply = self._replies.popleft()
        decode = self.encoder.decode_responses and not disable_decoding
        reply = finish(reply, self.encoder if decode else None)
        if isinstance(reply, _rex.ResponseError):
            raise reply
        return reply

    async def _flush(self) -> None:
        cmds, self._queue = self._queue, []
        if not cmds:
            return
        try:
            if self.exclusive:
                if self._conn is None:
                    self._conn = await self._bridge.aexclusive()
                replies = await self._conn.arun(cmds, False)
            else:
                replies = await self._bridge.apipeline(cmds, False)
        except _NativeError as e:
            await self.disconnect()
            raise translate(e) from None
        except TypeError:
            raise data_error(tuple(a for c in cmds for a in c), self.encoder) from None
        except BaseException:
            # Cancelled (or interrupted) with replies pending: as redis-py
            # does, forget this connection; the core drops a checked-out one
            # whose reply never came, and the next command gets a fresh one.
            self._close()
            self._replies.clear()
            raise
        self._replies.extend(replies)


class ConnectionPool(_aredis.ConnectionPool):
    """``redkeep.client.ConnectionPool`` for asyncio, over a native
    ``redkeep.asyncio.Pool``."""

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
        self._native = _native.AsyncPool(self._url, lazy=True, **options)
        self._bridge = _native.Bridge(self._native)
        super().__init__(
            connection_class=_aredis.Connection,
            max_connections=max_connections,
            **connection_kwargs,
        )

    @property
    def native(self) -> Any:
        """The native ``redkeep.asyncio.Pool``."""
        return self._native

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Connection:
        conn = Connection(self)
        self._in_use_connections.add(conn)  # as redis-py's pool counts them
        return conn

    def make_connection(self) -> Connection:
        return Connection(self)

    async def release(self, connection: Any) -> None:
        self._in_use_connections.discard(connection)
        await connection.disconnect()

    async def disconnect(self, inuse_connections: bool = True) -> None:
        """The core owns the connections."""

    async def aclose(self) -> None:
        """Nothing to close early: the native pool closes when collected."""

    def __repr__(self) -> str:
        return f"<redkeep.asyncio.ConnectionPool(url={self._native.url!r})>"


class Redis(_aredis.Redis):
    """redis-py's ``redis.asyncio.Redis`` whose connections are redkeep's."""

    def __init__(self, *, connection_pool: Any = None, **kwargs: Any) -> None:
        single = bool(kwargs.pop("single_connection_client", False))
        if connection_pool is None:
            connection_pool = ConnectionPool(**_pool_kwargs(kwargs))
            auto_close = True
        else:
            if not isinstance(connection_pool, ConnectionPool):
                raise TypeError(
                    "redkeep.asyncio.Redis needs a redkeep.asyncio.ConnectionPool, not "
                    f"{type(connection_pool).__name__}"
                )
            auto_close = False
        super().__init__(connection_pool=connection_pool, single_connection_client=single)
        self.auto_close_connection_pool = auto_close
        kw = connection_pool.connection_kwargs
        self._rk_acall = connection_pool._bridge.acall
        self._rk_native_decode = bool(kw.get("decode_responses")) and native_decodes(kw)
        self._rk_py_decode = bool(kw.get("decode_responses")) and not self._rk_native_decode

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "Redis":  # type: ignore[override]
        single = kwargs.pop("single_connection_client", False)
        kwargs.pop("auto_close_connection_pool", None)
        pool = ConnectionPool.from_url(url, **kwargs)
        client = cls(connection_pool=pool, single_connection_client=single)
        client.auto_close_connection_pool = True
        return client

    async def initialize(self) -> "Redis":
        await super().initialize()
        if self.connection is not None:
            self.connection.exclusive = True
        return self

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if self.single_connection_client:
            await self.initialize()
        if self.connection is not None:
            # A client holding a connection of its own (single_connection_client,
            # or one a caller set): redis-py's path on that connection.
            return await super().execute_command(*args, **options)
        name = args[0]
        if isinstance(name, str) and " " in name:
            args = (*name.split(), *args[1:])
        try:
            if NEVER_DECODE in options:
                options.pop(NEVER_DECODE)
                response = await self._rk_acall(args, False)
            else:
                response = await self._rk_acall(args, self._rk_native_decode)
                if self._rk_py_decode:
                    response = finish(response, self.get_encoder())
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
            result = callback(response, **options)
            if hasattr(result, "__await__"):
                result = await result
            return result
        return response

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> "Pipeline":
        return Pipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)

    def pubsub(self, **kwargs: Any) -> "PubSub":
        return PubSub(_SubscriberPool(self.connection_pool), **kwargs)

    def monitor(self) -> "Monitor":
        """redis-py's asyncio ``Monitor`` on the core's monitor connection."""
        return Monitor(self.connection_pool)

    def health(self) -> Any:
        """redkeep's view of Redis, read without sending a command."""
        return self.connection_pool.native.health()

    def stats(self) -> Any:
        """redkeep's pool counters."""
        return self.connection_pool.native.stats()

    def __repr__(self) -> str:
        return f"<redkeep.asyncio.Redis({self.connection_pool!r})>"


def _pool_kwargs(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    import inspect

    bound = inspect.signature(_aredis.client.Redis.__init__).bind(None, **kwargs)
    bound.apply_defaults()
    a = dict(bound.arguments)
    a.pop("self", None)
    out = {
        k: a[k]
        for k in (
            "db", "username", "password", "socket_timeout", "encoding", "encoding_errors",
            "decode_responses", "retry_on_error", "max_connections", "health_check_interval",
            "client_name", "protocol", "legacy_responses", "host", "port",
            "socket_connect_timeout",
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
    return out


class Pipeline(_Pipeline):
    """``redkeep.client.Pipeline`` for asyncio."""

    async def _execute_transaction(self, connection: Any, commands: Any, raise_on_error: bool) -> Any:  # type: ignore[override]
        connection.exclusive = True
        return await super()._execute_transaction(connection, commands, raise_on_error)

    async def immediate_execute_command(self, *args: Any, **options: Any) -> Any:
        if self.connection is None:
            self.connection = await self.connection_pool.get_connection()
        self.connection.exclusive = True
        return await super().immediate_execute_command(*args, **options)


class SubscriberConnection(_Base):
    """``redkeep.client.SubscriberConnection`` for asyncio."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._setup(pool)
        self._sub: Optional[Any] = None
        self._replies: Deque[Any] = deque()
        self._channels: Dict[bytes, None] = {}
        self._patterns: Dict[bytes, None] = {}
        self._shards: Dict[bytes, None] = {}
        self._opened = 0
        self._connecting: Optional[asyncio.Lock] = None

    @property
    def is_connected(self) -> bool:
        return self._sub is not None

    async def connect(self) -> None:
        if self._sub is not None:
            return
        # One open at a time: a reader task and a subscribe() may both find
        # the connection closed; the second waits for the first's.
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._sub is not None:
                return
            await self._open()

    async def _open(self) -> None:
        try:
            self._sub = await self._bridge.asubscriber()
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
                result = callback(self)
                if hasattr(result, "__await__"):
                    await result
        if self._opened > 1:
            log.warning(
                "pub/sub connection re-opened after it dropped; re-subscribed to "
                "%d channel(s), %d pattern(s) and %d shard channel(s) (they were %d, %d and %d)",
                len(self._channels), len(self._patterns), len(self._shards), *before,
            )

    async def disconnect(self, *args: Any, **kwargs: Any) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            sub.close()
        self._replies.clear()

    def _count(self, shard: bool = False) -> int:
        # What the server counts in a confirmation: shard channels apart.
        if shard:
            return len(self._shards)
        return len(self._channels) + len(self._patterns)

    async def send_command(self, *args: Any, **kwargs: Any) -> None:
        await self.connect()
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
                await self._sub.achange(names, pattern, True, shard)
                for n in names:
                    target[n] = None
                    self._replies.append([kind, n, self._count(shard)])
            elif name in ("UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"):
                names = names or list(target)
                if not names:
                    self._replies.append([kind, None, self._count(shard)])
                    return
                await self._sub.achange(names, pattern, False, shard)
                for n in names:
                    target.pop(n, None)
                    self._replies.append([kind, n, self._count(shard)])
            elif name == "PING":
                message = names[0] if names else b""
                subscribed = self._count() or self._shards
                self._replies.append([b"pong", message] if subscribed else (message or b"PONG"))
            else:
                raise RefusedError(f"{name} is not supported on a redkeep pub/sub connection")
        except _NativeError as e:
            await self.disconnect()
            raise translate(e) from None

    async def can_read_destructive(self) -> bool:
        await self.connect()
        if self._replies:
            return True
        message = await self._next(0)
        if message is None:
            return False
        self._replies.append(message)
        return True

    async def _next(self, timeout: Optional[float]) -> Any:
        assert self._sub is not None
        try:
            return await self._sub.anext(timeout, False)
        except _NativeError as e:
            await self.disconnect()
            raise translate(e) from None

    async def read_response(
        self,
        disable_decoding: bool = False,
        timeout: Optional[float] = None,
        *,
        disconnect_on_error: bool = True,
        push_request: Optional[bool] = False,
    ) -> Any:
        if not self._replies:
            await self.connect()
            # redis-py's asyncio timeout convention: math.inf waits without
            # limit (a blocking listen), None falls back to socket_timeout
            # (and raises on expiry), a number waits that long (None on expiry).
            if timeout == math.inf:
                wait = None
            elif timeout is None:
                wait = self.socket_timeout
            else:
                wait = timeout
            message = await self._next(wait)
            if message is None:
                if timeout is not None:
                    return None
                raise TimeoutError("Timeout reading from the pub/sub connection")
            self._replies.append(message)
        reply = self._replies.popleft()
        decode = self.encoder.decode_responses and not disable_decoding
        reply = finish(reply, self.encoder if decode else None)
        if self._push_handler is not None and self.protocol == 3:
            result = self._push_handler(reply)
            if hasattr(result, "__await__"):
                result = await result
            return result
        return reply


class _SubscriberPool:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    async def get_connection(self, *args: Any, **kwargs: Any) -> SubscriberConnection:
        return SubscriberConnection(self._pool)

    async def release(self, connection: Any) -> None:
        await connection.disconnect()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


class PubSub(_PubSub):
    """redis-py's asyncio ``PubSub`` on a connection of its own from the core."""


class MonitorConnection:
    """``redkeep.client.MonitorConnection`` for asyncio: ``read_response()``
    resolves to the server's next ``MONITOR`` line (as ``str``), within
    ``socket_timeout`` (``TimeoutError``); ``ConnectionError`` once the
    connection is lost (never reconnected). Cancelling a read loses no line."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._bridge = pool._bridge
        self._native: Optional[Any] = None
        self.encoder = pool.get_encoder()
        self.socket_timeout = pool.connection_kwargs.get("socket_timeout")

    async def connect(self) -> None:
        if self._native is not None:
            return
        try:
            self._native = await self._bridge.amonitor()
        except _NativeError as e:
            raise translate(e) from None

    async def read_response(self, *args: Any, **kwargs: Any) -> str:
        await self.connect()
        assert self._native is not None
        try:
            line: Optional[str] = await self._native.anext(self.socket_timeout)
        except _NativeError as e:
            raise translate(e) from None
        if line is None:
            raise TimeoutError("Timeout reading from the monitor connection")
        return line

    async def disconnect(self, *args: Any, **kwargs: Any) -> None:
        native, self._native = self._native, None
        if native is not None:
            native.close()


class Monitor(_Monitor):
    """redis-py's asyncio ``Monitor`` (``async with``, ``await
    next_command()``, ``async for ... in listen()``) on a ``MONITOR``
    connection of its own from the core; redis-py parses each line. Not
    reconnected after an outage: ``next_command()`` then raises
    ``ConnectionError``."""

    def __init__(self, connection_pool: ConnectionPool) -> None:
        self.connection_pool = connection_pool
        self.connection: Any = MonitorConnection(connection_pool)

    async def connect(self) -> None:
        await self.connection.connect()

    async def __aenter__(self) -> "Monitor":
        await self.connect()
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self.connection.disconnect()

    async def aclose(self) -> None:
        """Closes the connection. Idempotent."""
        await self.connection.disconnect()


__all__ = [
    "Connection",
    "ConnectionPool",
    "Monitor",
    "MonitorConnection",
    "Pipeline",
    "PubSub",
    "Redis",
    "SubscriberConnection",
]
