"""What ``redkeep.Redis`` and ``redkeep.asyncio.Redis`` share: redis-py's
arguments turned into a native pool, redkeep's errors turned into redis-py's
classes, and replies post-processed the way redis-py's parsers finish them.

Only conversions live here. Which connection a command uses, how long it may
wait, whether it is refused or re-sent: the Rust core decides.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional, Tuple
from urllib.parse import quote

try:
    import redis
    from redis import exceptions as _rex
    from redis._parsers.base import BaseParser as _BaseParser
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    from redis.utils import DEFAULT_RESP_VERSION
except ImportError as _e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "redkeep.Redis is redis-py's client over redkeep: install redis-py with "
        "`pip install 'redkeep[redis]'`"
    ) from _e

from . import _redkeep as _native

log = logging.getLogger("redkeep")

#: The options of ``redkeep.Pool`` that redis-py's connection keywords map to.
_POOL_OPTIONS = (
    "socket_timeout",
    "socket_connect_timeout",
    "max_connections",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_cert_reqs",
)


def no_retry() -> Retry:
    """A redis-py ``Retry`` that never runs a call twice: redkeep's core owns
    re-sending (a read-only command at most once, a write never)."""
    return Retry(NoBackoff(), 0)


def protocol_of(kwargs: Dict[str, Any]) -> int:
    """The RESP version redis-py would speak with these keywords."""
    p = kwargs.get("protocol")
    if p in (None, ""):
        return int(DEFAULT_RESP_VERSION)
    return int(p)


def native_url(kwargs: Dict[str, Any]) -> str:
    """redis-py's connection keywords (host, port, db, username, password,
    path, ssl, protocol) as the URL the core parses. Only a conversion: the
    core validates it and owns every rule about it."""
    user = kwargs.get("username")
    password = kwargs.get("password")
    auth = ""
    if user or password:
        auth = quote(str(user or ""), safe="")
        if password is not None:
            auth += ":" + quote(str(password), safe="")
        auth += "@"
    db = int(kwargs.get("db") or 0)
    query = [] if protocol_of(kwargs) == 2 else ["protocol=resp3"]
    path = kwargs.get("path")
    if path:
        query.insert(0, f"db={db}")
        if user:
            query.append("user=" + quote(str(user), safe=""))
        if password is not None:
            query.append("pass=" + quote(str(password), safe=""))
        return f"redis+unix://{path}?" + "&".join(query)
    scheme = "rediss" if kwargs.get("ssl") else "redis"
    host = kwargs.get("host") or "localhost"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = int(kwargs.get("port") or 6379)
    url = f"{scheme}://{auth}{host}:{port}/{db}"
    return url + ("?" + "&".join(query) if query else "")


def pool_options(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """The ``redkeep.Pool`` keywords among redis-py's connection keywords."""
    out = {k: kwargs[k] for k in _POOL_OPTIONS if kwargs.get(k) is not None}
    if kwargs.get("ssl") and kwargs.get("ssl_cert_reqs") in (None, "required"):
        out.pop("ssl_cert_reqs", None)
    return out


# --- errors ---------------------------------------------------------------


def _both(name: str, *bases: type) -> type:
    return type(name, bases, {"__module__": "redkeep.client", "__doc__": bases[0].__doc__})


#: redkeep's errors that are also redis-py's: ``except redis.ConnectionError``
#: and ``except redkeep.UnavailableError`` both catch a fast fail.
ConnectionError = _both("ConnectionError", _rex.ConnectionError, _native.ConnectionError)
UnavailableError = _both("UnavailableError", ConnectionError, _native.UnavailableError)
TimeoutError = _both("TimeoutError", _rex.TimeoutError, _native.TimeoutError)
ClosedError = _both("ClosedError", _rex.ConnectionError, _native.ClosedError)
RefusedError = _both("RefusedError", _rex.RedisError, _native.RefusedError)
ConfigError = _both("ConfigError", _rex.RedisError, _native.ConfigError)

_MAP = [
    (_native.UnavailableError, UnavailableError),
    (_native.ConnectionError, ConnectionError),
    (_native.TimeoutError, TimeoutError),
    (_native.ClosedError, ClosedError),
    (_native.RefusedError, RefusedError),
    (_native.ConfigError, ConfigError),
]

_parse_error = _BaseParser.parse_error


def translate(e: BaseException) -> BaseException:
    """A native redkeep error as the redis-py exception a redis-py user
    catches (a server error reply becomes the class redis-py's parser picks:
    ``ResponseError``, ``NoScriptError``, ``ExecAbortError``, ...)."""
    if isinstance(e, _native.ResponseError):
        return _parse_error(str(e))
    for native, ours in _MAP:
        if isinstance(e, native):
            out = ours(str(e))
            if hasattr(e, "phase"):
                out.phase = e.phase  # type: ignore[attr-defined]
            return out
    return _rex.RedisError(str(e))


def data_error(args: Tuple[Any, ...], encoder: Any) -> BaseException:
    """The ``DataError`` redis-py raises for an argument it cannot encode."""
    for a in args:
        try:
            encoder.encode(a)
        except _rex.DataError as e:
            return e
    return _rex.DataError("invalid argument")


# --- replies --------------------------------------------------------------


def finish(obj: Any, encoder: Optional[Any]) -> Any:
    """A reply of an exclusive connection or pipeline, finished as
    redis-py's parser does: bytes decoded with the client's encoder (when
    ``encoder`` is given) and error replies as redis-py exception instances."""
    if isinstance(obj, bytes):
        return encoder.decode(obj) if encoder is not None else obj
    if isinstance(obj, list):
        return [finish(o, encoder) for o in obj]
    if isinstance(obj, dict):
        return {finish(k, encoder): finish(v, encoder) for k, v in obj.items()}
    if isinstance(obj, _native.ResponseError):
        return _parse_error(str(obj))
    return obj


def split_name(args: Tuple[Any, ...]) -> Tuple[Any, ...]:
    """redis-py's command names may hold words (``"CONFIG GET"``): the
    server wants them as separate arguments, as redis-py's packer sends them."""
    name = args[0]
    if isinstance(name, str) and " " in name:
        return (*name.split(), *args[1:])
    return args


def native_decodes(kwargs: Dict[str, Any]) -> bool:
    """Whether the native reply conversion can decode for this client (UTF-8,
    strict); otherwise Python's codec does."""
    enc = str(kwargs.get("encoding", "utf-8")).lower().replace("_", "-")
    return enc in ("utf-8", "utf8") and kwargs.get("encoding_errors", "strict") == "strict"


__all__ = [
    "ClosedError",
    "ConfigError",
    "ConnectionError",
    "RefusedError",
    "TimeoutError",
    "UnavailableError",
    "redis",
]
