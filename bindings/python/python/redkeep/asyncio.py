"""The asyncio flavour of redkeep: the same pool, every network call awaitable.

>>> import redkeep.asyncio
>>> async def main(url: str) -> None:                      # doctest: +SKIP
...     async with redkeep.asyncio.Pool(url) as pool:
...         await pool.execute("SET", "k", "v")
...         print(await pool.execute("GET", "k"))

Cancelling the asyncio task that awaits a call drops the Rust future: a
request waiting for a connection leaves the queue, and a request in flight
is abandoned (its reply, when it comes, is discarded).
"""

from ._redkeep import AsyncPool as Pool
from ._redkeep import Health as Health
from ._redkeep import Stats as Stats
from ._redkeep import AsyncSubscriber as Subscriber

__all__ = ["Health", "Pool", "Stats", "Subscriber"]
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .asyncio_client import ConnectionPool as ConnectionPool
    from .asyncio_client import Redis as Redis


def __getattr__(name: str) -> object:
    # redis-py is an optional extra: `redkeep.asyncio.Redis` imports it on first use.
    if name in ("Redis", "ConnectionPool"):
        from . import asyncio_client

        return getattr(asyncio_client, name)
    raise AttributeError(f"module 'redkeep.asyncio' has no attribute {name!r}")
