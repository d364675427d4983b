#!/usr/bin/env bash
# Makes sure a redis-server binary is available (tests start their own
# servers on free ports; nothing is started here).
set -euo pipefail
if [[ -n "${REDKEEP_REDIS_SERVER:-}" && -x "${REDKEEP_REDIS_SERVER}" ]] || command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "redis-server not found: installing it with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
  # The tests start their own servers; the packaged service is not needed.
  (service redis-server stop || true) >/dev/null 2>&1
  exit 0
fi
echo "redis-server not found: install it (apt-get install redis-server, brew install redis) or set REDKEEP_REDIS_SERVER" >&2
exit 1
