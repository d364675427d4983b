#!/usr/bin/env bash
# The judge of redkeep.Redis / redkeep.asyncio.Redis: redis-py's own test
# suite (a fixed release, from its sdist), run twice against the same kind of
# local redis-server (started on a free port by redkeep's pytest plugin,
# which fills redis-py's --redis-url): once with plain redis-py, once with
# its clients built as redkeep's (tests/redis_py_suite/redkeep_suite_shim.py).
# Every test plain redis-py passes must pass with redkeep, except those
# listed with their reason in tests/redis_py_suite/expected_differences.txt.
#
#   bash scripts/test-redis-py-suite.sh      # needs target/py-venv with redkeep installed
#
# Environment: REDKEEP_PY_VENV (default target/py-venv), REDIS_PY_VERSION
# (default 8.1.0), REDIS_PY_SUITE_FILES (default: the files below).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
venv="${REDKEEP_PY_VENV:-$repo/target/py-venv}"
py="$venv/bin/python"
version="${REDIS_PY_VERSION:-8.1.0}"
suite="$repo/bindings/python/tests/redis_py_suite"
work="$repo/target/redis-py-suite"
mkdir -p "$work"

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$py" -m pip install -q "redis==$version" "hiredis>=3" "packaging>=20.4" "pytest-asyncio>=0.24" "pytest-timeout>=2"
src="$work/redis-$version"
if [[ ! -d "$src/tests" ]]; then
  rm -rf "$work/sdist" && mkdir -p "$work/sdist"
  "$py" -m pip download -q --no-binary :all: --no-deps "redis==$version" -d "$work/sdist"
  tar -xzf "$work/sdist/redis-$version.tar.gz" -C "$work"
fi

# The six files and their asyncio twins (tests/test_asyncio/, each test run
# with a single-connection and a pooled client).
files="${REDIS_PY_SUITE_FILES:-tests/test_commands.py tests/test_pipeline.py tests/test_pubsub.py tests/test_lock.py tests/test_scripting.py tests/test_encoding.py
  tests/test_asyncio/test_commands.py tests/test_asyncio/test_pipeline.py tests/test_asyncio/test_pubsub.py
  tests/test_asyncio/test_lock.py tests/test_asyncio/test_scripting.py tests/test_asyncio/test_encoding.py}"
# redis-py's pyproject adds `-s`; DEBUG is used by a few tests.
common=(-q -p no:cacheprovider -o addopts= --timeout=60
  --redkeep-fill-option=redis_url
  --redis-server-arg=--enable-debug-command --redis-server-arg=yes)

cd "$src"
# The two runs are independent (each with its own server on a free port):
# run them side by side, which halves the wall time on two cores.
start=$SECONDS
# shellcheck disable=SC2086
"$py" -m pytest $files "${common[@]}" --junitxml="$work/plain.xml" >"$work/plain.log" 2>&1 &
plain=$!
# shellcheck disable=SC2086
PYTHONPATH="$suite" "$py" -m pytest $files "${common[@]}" -p redkeep_suite_shim \
  --junitxml="$work/redkeep.xml" >"$work/redkeep.log" 2>&1 &
ours=$!
wait "$plain" || true
wait "$ours" || true
echo "redis-py $version suite, both runs side by side: $((SECONDS - start)) s"
echo "  plain redis-py:  $(tail -1 "$work/plain.log")"
echo "  redkeep clients: $(tail -1 "$work/redkeep.log")"
"$py" "$suite/compare.py" "$work/plain.xml" "$work/redkeep.xml" "$suite/expected_differences.txt"
