#!/usr/bin/env bash
# The whole test suite, from a fresh clone: `./ops/test.sh` (extra arguments go to pytest).
# Sets up the venv, installs Chromium for the browser tests when missing, lints, then runs
# pytest; the test session starts the devstack (OpenSearch + Kafka) itself and stops it at the
# end, unless LOGHARBOR_OPENSEARCH_URL / LOGHARBOR_KAFKA_BOOTSTRAP point at existing servers.
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/setup.sh dev

if [ -d tests/e2e ] && ls tests/e2e/test_*.py >/dev/null 2>&1 && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing Debian's chromium for the browser tests ..." >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "[test] chromium is missing: install it (sudo apt-get install chromium) for tests/e2e" >&2
  fi
fi

# PostgreSQL server binaries for the lookup step's SQL source test (issue 19; the test runs a
# private cluster with initdb/pg_ctl from /usr/lib/postgresql/*/bin) — idempotent and quiet
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[test] installing Debian's postgresql for the lookup tests ..." >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "[test] PostgreSQL is missing: install it (sudo apt-get install postgresql) for the lookup tests" >&2
  fi
fi

# openssl for the alerting email test's self-signed SMTP certificate (issue 14) — idempotent and quiet
if ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
  else
    echo "[test] openssl is missing: install it (sudo apt-get install openssl) for the alerting tests" >&2
  fi
fi

# iproute2 (`ip netns`) for the chaos suite's network-partition scenario (issue 20) — idempotent and quiet
if ! command -v ip >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
  else
    echo "[test] iproute2 is missing: install it (sudo apt-get install iproute2) for the network-partition test" >&2
  fi
fi

# protocol clients for the gateway's protocol tests (issue 18): rsyslog, an extracted syslog-ng,
# the Node.js OTLP exporter (npm ci) and pip clients of other majors — idempotent and quiet
./ops/protocol_clients.sh

echo "[test] ruff check" >&2
ruff check .
echo "[test] pytest $*" >&2
exec python -m pytest -p no:cacheprovider "$@"
