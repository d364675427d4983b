"""Error messages name settings as Python callers write them: keyword
arguments (`max_connections=`), never the Rust fields behind them."""

from __future__ import annotations

from typing import Any

import pytest

import redkeep

# Nothing needs to answer here: settings are checked before connecting.
URL = "redis://127.0.0.1:6379"

RUST_NAMES = ("pool.", "timeouts.", "health.", "backoff.", "Config::")


def config_error(pool: Any, **kwargs: Any) -> str:
    with pytest.raises(redkeep.ConfigError) as info:
        pool(URL, **kwargs)
    message = str(info.value)
    assert not any(name in message for name in RUST_NAMES), message
    return message


@pytest.mark.parametrize("pool", [redkeep.Pool, redkeep.asyncio.Pool], ids=["sync", "asyncio"])
def test_message_names_max_connections_not_the_rust_field(pool: Any) -> None:
    assert config_error(pool, max_connections=0) == "max_connections= must be at least 1"


@pytest.mark.parametrize(
    ("kwarg", "message"),
    [
        ("socket_connect_timeout", "socket_connect_timeout= must be greater than zero"),
        ("socket_timeout", "socket_timeout= must be greater than zero"),
        ("pool_timeout", "pool_timeout= must be greater than zero"),
        ("health_check_interval", "health_check_interval= must be greater than zero"),
        ("retry_backoff_min", "retry_backoff_min= must be greater than zero"),
    ],
)
def test_message_names_each_zero_timeout_by_its_keyword(kwarg: str, message: str) -> None:
    assert config_error(redkeep.Pool, **{kwarg: 0}) == message


def test_message_names_both_backoff_keywords() -> None:
    message = config_error(redkeep.Pool, retry_backoff_min=0.5, retry_backoff_max=0.1)
    assert message == "retry_backoff_max= must be at least retry_backoff_min="
