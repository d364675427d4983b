"""The library's log events, delivered to :mod:`logging`.

Importing :mod:`redkeep` starts forwarding: every event of the Rust core at
``DEBUG`` and above becomes a record of the ``redkeep`` logger (level mapped:
error, warning, info, debug; trace is level 5), with ``extra`` attributes
``pool`` (the pool's redacted address, or ``None``), ``redkeep_target`` (the
Rust module), ``redkeep_span`` (``connect``/``reconnect`` or ``None``) and
``redkeep_fields`` (a dict of the event's other fields). Records are made on
the library's own thread, never inside a pool's lock; nothing is printed
unless the application configures logging.
"""

from __future__ import annotations

import atexit
import logging
from typing import Dict, Optional

from . import _redkeep

logger = logging.getLogger("redkeep")

_DEBUG = 4  # the native module's level numbers: 1 error ... 5 trace


def _forward(
    level: int,
    target: str,
    message: str,
    pool: Optional[str],
    span: Optional[str],
    fields: Dict[str, str],
) -> None:
    if not logger.isEnabledFor(level):
        return
    suffix = ""
    if pool:
        suffix = f" (pool={pool})"
    logger.log(
        level,
        "%s%s",
        message,
        suffix,
        extra={
            "pool": pool,
            "redkeep_target": target,
            "redkeep_span": span,
            "redkeep_fields": dict(fields),
        },
    )


def _stop() -> None:
    # No call into an interpreter that is shutting down.
    try:
        _redkeep._set_log_callback(None, 0)
    except Exception:  # pragma: no cover - best effort at exit
        pass


_redkeep._set_log_callback(_forward, _DEBUG)
atexit.register(_stop)
