"""The pytest plugin: fixtures, flushing, and nothing left behind (Ctrl-C,
SIGKILL of pytest, pytest-xdist workers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import redkeep
from conftest import linux_only, pid_alive, wait_until

# Each test writes "<kind> <pid>" lines to $REDKEEP_PID_DIR/<its pid>.
RECORDING_TESTS = textwrap.dedent(
    """
    import os, time
    import pytest

    def record(server):
        d = os.environ["REDKEEP_PID_DIR"]
        with open(os.path.join(d, f"{os.getpid()}-{time.monotonic_ns()}"), "w") as f:
            f.write(f"{server.pid}\\n")

    @pytest.mark.parametrize("i", range(12))
    def test_flushed(redis_server, redis_pool, i):
        record(redis_server)
        assert redis_pool.execute("DBSIZE") == 0
        redis_pool.execute("SET", f"k{i}", "v")
        assert redis_pool.execute("DBSIZE") == 1

    def test_fresh(redis_server_fresh, redis_server):
        record(redis_server_fresh)
        assert redis_server_fresh.port != redis_server.port
    """
)


def _recorded(d: Path) -> set[int]:
    pids: set[int] = set()
    for f in d.iterdir():
        pids.update(int(x) for x in f.read_text().split())
    return pids


def test_fixtures_flush_between_tests(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_rec=RECORDING_TESTS)
    os.environ["REDKEEP_PID_DIR"] = str(tmp_path)
    try:
        result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    finally:
        del os.environ["REDKEEP_PID_DIR"]
    result.assert_outcomes(passed=13)
    pids = _recorded(tmp_path)
    assert len(pids) == 2  # the session server and the fresh one
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=10)


def test_xdist_workers_leave_nothing_behind(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_rec=RECORDING_TESTS)
    os.environ["REDKEEP_PID_DIR"] = str(tmp_path)
    try:
        result = pytester.runpytest_subprocess("-q", "-n", "4", "-p", "no:cacheprovider")
    finally:
        del os.environ["REDKEEP_PID_DIR"]
    result.assert_outcomes(passed=13)
    pids = _recorded(tmp_path)
    assert 2 <= len(pids) <= 5  # one session server per worker that ran tests, one fresh
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=10), [
        p for p in pids if pid_alive(p)
    ]


HANGING_TEST = textwrap.dedent(
    """
    import os, time

    def test_hangs(redis_server):
        d = os.environ["REDKEEP_PID_DIR"]
        with open(os.path.join(d, str(os.getpid())), "w") as f:
            f.write(f"{redis_server.pid}\\n")
        time.sleep(120)
    """
)


def _start_hanging(
    pytester: pytest.Pytester, tmp_path: Path, *extra: str, test: str = HANGING_TEST
) -> subprocess.Popen[bytes]:
    pytester.makepyfile(test_hang=test)
    env = dict(os.environ, REDKEEP_PID_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=pytester.path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert wait_until(lambda: any(tmp_path.iterdir()), timeout=30), "the test never started"
    time.sleep(0.2)
    return proc


@linux_only
def test_ctrl_c_leaves_nothing_behind(pytester: pytest.Pytester, tmp_path: Path) -> None:
    proc = _start_hanging(pytester, tmp_path)
    pids = _recorded(tmp_path)
    assert pids and all(pid_alive(p) for p in pids)
    proc.send_signal(signal.SIGINT)
    proc.wait(30)
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=10)


@linux_only
def test_killed_pytest_leaves_nothing_behind(pytester: pytest.Pytester, tmp_path: Path) -> None:
    proc = _start_hanging(pytester, tmp_path)
    pids = _recorded(tmp_path)
    assert pids and all(pid_alive(p) for p in pids)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=10)


@linux_only
def test_killed_xdist_worker_leaves_nothing_behind(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytest.importorskip("xdist")
    proc = _start_hanging(pytester, tmp_path, "-n", "2")
    try:
        workers = [int(f.name) for f in tmp_path.iterdir()]
        pids = _recorded(tmp_path)
        assert pids and all(pid_alive(p) for p in pids)
        for w in workers:  # pids written by our own test: the xdist workers
            os.kill(w, signal.SIGKILL)
        assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=10)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def test_plugin_is_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("redkeep")
    assert redkeep.__version__


@linux_only
def test_killed_xdist_controller_takes_workers_and_servers_down(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytest.importorskip("xdist")
    # SIGINT ignored, as by a test stuck in native code: execnet alone would
    # end the orphaned worker only after 5 s (SIGINT) + 10 s (os._exit).
    stuck = HANGING_TEST.replace(
        "def test_hangs(redis_server):",
        "import signal\n\ndef test_hangs(redis_server):\n"
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)",
    )
    proc = _start_hanging(pytester, tmp_path, "-n", "2", "--dist", "each", test=stuck)
    try:
        assert wait_until(lambda: len(list(tmp_path.iterdir())) == 2, timeout=30)
        workers = [int(f.name) for f in tmp_path.iterdir()]
        pids = _recorded(tmp_path)
        assert len(pids) == 2 and all(pid_alive(p) for p in [*pids, *workers])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    # Workers poll their parent: they exit within a second, not when the test ends.
    assert wait_until(lambda: not any(pid_alive(p) for p in [*pids, *workers]), timeout=3), [
        p for p in [*pids, *workers] if pid_alive(p)
    ]


# A plugin that, like redis-py's own suite, reads its --redis-url at
# configure time: the fill option must already have set it.
READS_URL_AT_CONFIGURE = textwrap.dedent(
    """
    import os

    def pytest_addoption(parser):
        parser.addoption("--redis-url", default="redis://localhost:6379/9")

    def pytest_configure(config):
        with open(os.path.join(os.environ["REDKEEP_PID_DIR"], "configure"), "w") as f:
            f.write(config.getoption("--redis-url") + "\\n" + os.environ.get("REDIS_URL", ""))
    """
)

USES_FILLED_URL = textwrap.dedent(
    """
    import os
    import redkeep

    def test_filled(request, redis_server):
        with open(os.path.join(os.environ["REDKEEP_PID_DIR"], "pid"), "w") as f:
            f.write(f"{redis_server.pid}\\n")
        url = request.config.getoption("--redis-url")
        assert url == redis_server.url == os.environ["REDIS_URL"]
        with redkeep.Pool(url) as pool:
            assert pool.execute("PING") == "PONG"
    """
)


def _run_with_pid_dir(
    pytester: pytest.Pytester, tmp_path: Path, *args: str
) -> pytest.RunResult:
    os.environ["REDKEEP_PID_DIR"] = str(tmp_path)
    try:
        return pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", *args)
    finally:
        del os.environ["REDKEEP_PID_DIR"]


def _assert_filled_at_configure(tmp_path: Path) -> None:
    option, env = (tmp_path / "configure").read_text().split("\n")
    assert option == env and option.startswith("redis://127.0.0.1:"), (option, env)
    pid = int((tmp_path / "pid").read_text())
    assert wait_until(lambda: not pid_alive(pid), timeout=10)


@pytest.mark.parametrize("how", ["cli", "ini"])
def test_fill_option_sets_another_plugins_option_at_configure_time(
    pytester: pytest.Pytester, tmp_path: Path, how: str
) -> None:
    pytester.makeconftest(READS_URL_AT_CONFIGURE)
    pytester.makepyfile(test_filled=USES_FILLED_URL)
    if how == "ini":
        pytester.makeini("[pytest]\nredkeep_fill_options = redis_url\n")
        result = _run_with_pid_dir(pytester, tmp_path)
    else:
        result = _run_with_pid_dir(pytester, tmp_path, "--redkeep-fill-option=--redis-url")
    result.assert_outcomes(passed=1)
    _assert_filled_at_configure(tmp_path)


def test_fill_option_works_in_xdist_workers(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    pytester.makeconftest(READS_URL_AT_CONFIGURE)
    pytester.makepyfile(test_filled=USES_FILLED_URL)
    result = _run_with_pid_dir(pytester, tmp_path, "-n", "1", "--redkeep-fill-option=redis_url")
    result.assert_outcomes(passed=1)
    _assert_filled_at_configure(tmp_path)


def test_fill_option_of_an_unknown_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--redkeep-fill-option=no_such_option")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot fill option 'no_such_option'*"])


def test_a_server_that_cannot_start_fails_only_the_tests_using_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_mixed="""
        import os

        def test_without_redis():
            assert "REDIS_URL" not in os.environ

        def test_with_redis(redis_server):
            pass
        """
    )
    env_url = os.environ.pop("REDIS_URL", None)
    try:
        result = pytester.runpytest_subprocess(
            "-q", "-p", "no:cacheprovider", "--redis-server-binary=/nonexistent/redis-server"
        )
    finally:
        if env_url is not None:
            os.environ["REDIS_URL"] = env_url
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*SpawnError*"])


def test_redis_url_is_restored_after_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_env="""
        import os

        def test_env(redis_server):
            assert os.environ["REDIS_URL"] == redis_server.url
        """
    )
    before = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = "redis://example.invalid:1/0"
    try:
        result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        assert os.environ["REDIS_URL"] == "redis://example.invalid:1/0"
    finally:
        if before is None:
            os.environ.pop("REDIS_URL", None)
        else:
            os.environ["REDIS_URL"] = before
