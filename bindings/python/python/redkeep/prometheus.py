"""A :mod:`prometheus_client` collector for redkeep pools.

The metrics are the Rust core's own Prometheus text
(:meth:`redkeep.Pool.metrics_text`), parsed by ``prometheus_client``: the
OpenTelemetry ``db.client.connection.*`` conventions (connection count by
state, pending requests, timeouts, create/wait/use time histograms) and
redkeep's (health state, probe round trips, reconnects, fast fails,
evictions), every series labelled ``pool`` with the redacted address.

>>> from prometheus_client import REGISTRY                 # doctest: +SKIP
>>> REGISTRY.register(redkeep.prometheus.Collector(pool))  # doctest: +SKIP

``prometheus_client`` is an optional dependency (``pip install
prometheus_client``); importing this module without it raises ImportError.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Protocol

from prometheus_client.parser import text_string_to_metric_families


class _HasMetrics(Protocol):
    def metrics_text(self) -> str: ...


class Collector:
    """Collects the metrics of one or more pools (``redkeep.Pool`` or
    ``redkeep.asyncio.Pool``) at each scrape; reading them does no I/O."""

    def __init__(self, *pools: _HasMetrics) -> None:
        self._pools: List[_HasMetrics] = list(pools)

    def add(self, pool: _HasMetrics) -> None:
        """Adds a pool to collect."""
        self._pools.append(pool)

    def collect(self) -> Iterator[Any]:
        families: dict = {}
        for pool in self._pools:
            for family in text_string_to_metric_families(pool.metrics_text()):
                known = families.get(family.name)
                if known is None:
                    families[family.name] = family
                else:
                    known.samples.extend(family.samples)
        yield from families.values()

    def describe(self) -> Iterator[Any]:
        # Registering must not scrape a pool that is not connected yet.
        return iter(())
