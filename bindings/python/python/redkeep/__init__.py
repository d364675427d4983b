"""redkeep: keeps a program's Redis usable.

A resilient Redis pool (timeouts on every phase, reconnect with backoff, a
health watch that fails fast while Redis is down) and ``ensure_server``, a
local ``redis-server`` that never outlives its owner. The work is done by the
Rust crate ``redkeep``; this package re-exports its native module.

>>> import redkeep
>>> with redkeep.ensure_server(port=0) as server:           # doctest: +SKIP
...     with redkeep.Pool(server.url) as pool:
...         pool.execute("SET", "k", "v")
...         pool.execute("GET", "k")
'OK'
b'v'
"""

from ._redkeep import (
    ClosedError as ClosedError,
    ConfigError as ConfigError,
    ConnectionError as ConnectionError,
    Deployment as Deployment,
    Health as Health,
    NodeHealth as NodeHealth,
    Pool as Pool,
    RedisError as RedisError,
    RefusedError as RefusedError,
    ResponseError as ResponseError,
    Server as Server,
    SpawnError as SpawnError,
    Stats as Stats,
    Subscriber as Subscriber,
    TimeoutError as TimeoutError,
    UnavailableError as UnavailableError,
    __version__ as __version__,
    ensure_server as ensure_server,
    start_cluster as start_cluster,
    start_sentinel as start_sentinel,
)
from . import _logging as _logging  # forwards the core's events to logging "redkeep"

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Redis as Redis


def __getattr__(name: str) -> object:
    # redis-py is an optional extra: `redkeep.Redis` imports it on first use.
    if name == "Redis":
        from .client import Redis

        return Redis
    raise AttributeError(f"module 'redkeep' has no attribute {name!r}")


__all__ = [
    "ClosedError",
    "ConfigError",
    "ConnectionError",
    "Deployment",
    "Health",
    "NodeHealth",
    "Pool",
    "RedisError",
    "RefusedError",
    "ResponseError",
    "Server",
    "SpawnError",
    "Stats",
    "Subscriber",
    "TimeoutError",
    "UnavailableError",
    "__version__",
    "ensure_server",
    "start_cluster",
    "start_sentinel",
]
