"""`mypy --strict` accepts the stubs as users write code against them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def test_mypy_strict_accepts_the_stubs() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--no-incremental",
            "--cache-dir", "/dev/null", str(HERE / "typing_usage.py"),
        ],
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stubs_and_marker_ship_with_the_package() -> None:
    import redkeep

    pkg = Path(redkeep.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_redkeep.pyi").exists()


def test_stubs_match_the_module() -> None:
    """Every public name in the stub exists at run time, and vice versa."""
    import ast

    import redkeep
    from redkeep import _redkeep

    tree = ast.parse((Path(redkeep.__file__).parent / "_redkeep.pyi").read_text())
    stubbed = {
        n.name
        for n in tree.body
        if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and not n.name.startswith("_")
    } | {"__version__"}
    runtime = {n for n in dir(_redkeep) if not n.startswith("_")} | {"__version__"}
    assert stubbed == runtime
    for cls in ("Pool", "AsyncPool", "Server", "Health", "Stats"):
        node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
        members = {
            m.name for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and not m.name.startswith("_")
        }
        actual = {m for m in dir(getattr(_redkeep, cls)) if not m.startswith("_")}
        assert members == actual, (cls, members ^ actual)
