"""Helpers for the redkeep tests: every server here is started by the tests
themselves (or the plugin's fixtures) on a free port, never 6379, and only
pids started here are ever checked or signalled."""

from __future__ import annotations

import os
import socket
import time
from typing import Callable

import pytest


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        # Gone before the open, or between the open and the read (ESRCH).
        return False
    return fields[0] not in ("Z", "X")


def wait_until(cond: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


linux_only = pytest.mark.skipif(
    not os.path.isdir("/proc/self"), reason="needs /proc and PR_SET_PDEATHSIG (Linux)"
)

pytest_plugins = ["pytester"]
