"""Logs reach ``logging`` (logger ``redkeep``) with the pool's redacted
address; metrics and the /health answer come from the core."""

from __future__ import annotations

import json
import logging
import os
import signal
from typing import List

import prometheus_client

import redkeep
from conftest import free_port, wait_until


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def find(self, message: str, pool: str) -> List[logging.LogRecord]:
        return [
            r
            for r in list(self.records)
            if r.getMessage().startswith(message) and getattr(r, "pool", None) == pool
        ]


def test_logging_records_for_down_and_up_and_metrics_from_the_core() -> None:
    keep = _Keep()
    log = logging.getLogger("redkeep")
    old_level = log.level
    log.addHandler(keep)
    log.setLevel(logging.DEBUG)
    port = free_port()
    server = redkeep.ensure_server(port=port, max_restarts=0, password="pw-secret")
    try:
        pid = server.pid
        assert pid is not None
        with redkeep.Pool(
            server.url, health_check_interval=0.1, retry_backoff_min=0.05, retry_backoff_max=0.2
        ) as p:
            for i in range(10):
                p.execute("SET", "obs", i)
            text = p.metrics_text()
            assert "# TYPE db_client_connection_use_time_seconds histogram" in text
            assert "pw-secret" not in text
            pool = text.split('pool="', 1)[1].split('"', 1)[0]
            assert str(port) in pool and "***" in pool
            # Commands succeed before the first probe has run; /health says
            # Up only once a probe has (the pool starts Degraded).
            assert wait_until(lambda: p.health_json()[0] == 200, timeout=5)
            code, body = p.health_json()
            assert code == 200 and json.loads(body)["state"] == "up"

            os.kill(pid, signal.SIGKILL)
            assert wait_until(lambda: bool(keep.find("redis is down", pool)), timeout=5)
            down = keep.find("redis is down", pool)[0]
            assert down.levelno == logging.WARNING
            assert down.name == "redkeep"
            assert down.redkeep_target.startswith("redkeep")  # type: ignore[attr-defined]
            assert "pw-secret" not in down.getMessage()
            assert wait_until(lambda: p.health_json()[0] == 503, timeout=5)
            server.close()
            with redkeep.ensure_server(port=port, max_restarts=0, password="pw-secret"):
                assert wait_until(lambda: bool(keep.find("redis is up", pool)), timeout=10)
                up = keep.find("redis is up", pool)[-1]
                assert up.levelno == logging.INFO
                # The record may be handed over before the state is published.
                assert wait_until(lambda: p.health_json()[0] == 200, timeout=5)
                assert f'redkeep_reconnects_total{{pool="{pool}"}} 0\n' not in p.metrics_text()
            # A reconnect attempt is a debug record inside a "reconnect" span.
            spans = {getattr(r, "redkeep_span", None) for r in keep.records}
            assert "reconnect" in spans or "connect" in spans, spans
    finally:
        server.close()
        log.removeHandler(keep)
        log.setLevel(old_level)


def test_prometheus_collector_parses_the_core_text(redis_server: redkeep.Server) -> None:
    from redkeep.prometheus import Collector

    registry = prometheus_client.CollectorRegistry()
    with redkeep.Pool(redis_server.url) as p:
        p.execute("PING")
        registry.register(Collector(p))
        out = prometheus_client.generate_latest(registry).decode()
        assert "db_client_connection_count" in out
        assert "redkeep_health_state" in out
