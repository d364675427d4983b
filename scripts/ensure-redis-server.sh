#!/usr/bin/env bash
# Makes sure what the tests need is installed: a redis-server binary (tests
# start their own servers on free ports; nothing is started here) and the
# openssl command (the TLS tests make their certificates with it).
set -euo pipefail

need_redis=1
if [[ -n "${REDKEEP_REDIS_SERVER:-}" && -x "${REDKEEP_REDIS_SERVER}" ]] || command -v redis-server >/dev/null 2>&1; then
  need_redis=0
fi
need_openssl=1
command -v openssl >/dev/null 2>&1 && need_openssl=0
if [[ $need_redis == 0 && $need_openssl == 0 ]]; then
  exit 0
fi

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [[ $need_redis == 1 ]]; then
    echo "redis-server not found: installing it with apt-get"
    apt-get install -y -qq redis-server >/dev/null
    # The tests start their own servers; the packaged service is not needed.
    (service redis-server stop || true) >/dev/null 2>&1
  fi
  if [[ $need_openssl == 1 ]]; then
    echo "openssl not found: installing it with apt-get"
    apt-get install -y -qq openssl >/dev/null
  fi
  exit 0
fi
if [[ $need_redis == 1 ]]; then
  echo "redis-server not found: install it (apt-get install redis-server, brew install redis) or set REDKEEP_REDIS_SERVER" >&2
fi
if [[ $need_openssl == 1 ]]; then
  echo "openssl not found: install it (apt-get install openssl, brew install openssl)" >&2
fi
exit 1
