#!/usr/bin/env bash
# The Python package's checks: builds the abi3 wheel once (maturin, one
# release build), installs that wheel into a virtualenv -- the file users
# get, not a from-source install -- then runs the pytest suite and
# `mypy --strict` on a typed usage file. The tests start their own
# redis-servers on free ports.
#
#   bash scripts/test-python.sh            # build, install, test
#   bash scripts/test-python.sh --bench    # ... then the benchmark vs redis-py
#
# Environment: PYTHON (default python3), REDKEEP_PY_VENV (default
# target/py-venv, reused between runs), PYTEST_ADDOPTS as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

step() { printf '\n=== %s ===\n' "$*"; }

bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    *) echo "unknown argument: $arg (expected --bench)" >&2; exit 2 ;;
  esac
done

bash scripts/ensure-redis-server.sh
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "$python not found: install Python 3.9 or newer with pip and venv" >&2
  exit 1
fi

venv="${REDKEEP_PY_VENV:-$repo/target/py-venv}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
if [[ ! -x "$venv/bin/python" ]]; then
  step "virtualenv $venv"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"

step "maturin build --release (the abi3 wheel)"
"$py" -m pip install -q "maturin>=1.7,<2"
wheels="$repo/target/py-wheel"  # this run's wheel only
rm -rf "$wheels"
start=$SECONDS
(cd bindings/python && "$venv/bin/maturin" build --release --out "$wheels")
echo "built in $((SECONDS - start)) s"
shopt -s nullglob
wheel=("$wheels"/redkeep-*-abi3-*.whl)
shopt -u nullglob
if [[ ${#wheel[@]} != 1 ]]; then
  echo "expected one abi3 wheel in $wheels, found: $(ls "$wheels")" >&2
  exit 1
fi

step "pip install ${wheel[0]#"$repo/"}"
start=$(date +%s.%N)
# --force-reinstall: the version does not change between edits.
"$py" -m pip install -q --force-reinstall --no-deps --no-index "${wheel[0]}"
"$py" -c 'import redkeep' # from the venv's site-packages (the cwd has no redkeep/)
echo "installed in $("$py" -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$start") s"

step "test dependencies"
"$py" -m pip install -q "pytest>=7" "pytest-xdist>=3" "mypy>=1.8" "redis>=8.1,<9" "prometheus_client>=0.17"

step "pytest bindings/python/tests"
set +e
"$py" -m pytest bindings/python/tests -q -rs -p no:cacheprovider
status=$?
set -e
case "$status" in
  0) ;;
  5) echo "pytest collected no tests: that is a failure here" >&2; exit 1 ;;
  *) exit "$status" ;;
esac

step "mypy --strict (the stubs, as users call them)"
"$py" -m mypy --strict --cache-dir "$venv/.mypy_cache" bindings/python/tests/typing_usage.py

step "redis-py's own test suite (and its asyncio twins): plain redis-py vs redkeep.Redis / redkeep.asyncio.Redis"
REDKEEP_PY_VENV="$venv" bash scripts/test-redis-py-suite.sh

if [[ "$bench" == 1 ]]; then
  step "benchmark: redkeep vs redis-py"
  "$py" bindings/python/bench/bench.py
fi

step "python: all checks passed"
