#!/usr/bin/env bash
# Sourced by ops/run.sh and ops/test.sh: everything a fresh machine needs, idempotent and quiet
# when already done. Needs Python 3.11+, a JDK 17+ (and 21+ for OpenSearch 3.x) and Maven;
# it says what to install when one is missing.
set -euo pipefail

LH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LH_VENV="${LOGHARBOR_VENV:-$LH_ROOT/.venv}"
LH_EXTRAS="${1:-dev}"

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for cand in python3.13 python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY="$cand"; break
    fi
  done
fi
[ -n "$PY" ] || die "Python 3.11+ not found: install it (apt-get install python3) or set PYTHON=/path/to/python3.11"

command -v java >/dev/null 2>&1 || ls /usr/lib/jvm/*/bin/java >/dev/null 2>&1 || \
  die "no Java found: install a JDK 21+ (apt-get install openjdk-21-jdk-headless) or set LOGHARBOR_OPENSEARCH_URL and LOGHARBOR_KAFKA_BOOTSTRAP to existing servers"
if [ -z "${LOGHARBOR_OPENSEARCH_URL:-}" ] || [ -z "${LOGHARBOR_KAFKA_BOOTSTRAP:-}" ]; then
  command -v "${LOGHARBOR_DEVSTACK_MAVEN:-mvn}" >/dev/null 2>&1 || \
    die "Maven not found: install it (apt-get install maven); the devstack fetches OpenSearch and Kafka with it"
fi

stamp="$LH_VENV/.installed-$LH_EXTRAS"
if [ ! -x "$LH_VENV/bin/python" ]; then
  say "creating virtual environment in $LH_VENV"
  "$PY" -m venv "$LH_VENV"
fi
if [ ! -f "$stamp" ] || [ "$LH_ROOT/pyproject.toml" -nt "$stamp" ]; then
  say "installing LogHarbor and its dependencies ($LH_EXTRAS) into $LH_VENV ..."
  "$LH_VENV/bin/python" -m pip install --quiet --upgrade pip
  if [ "$LH_EXTRAS" = "runtime" ]; then
    "$LH_VENV/bin/python" -m pip install --quiet --progress-bar off -e "$LH_ROOT"
  else
    "$LH_VENV/bin/python" -m pip install --quiet --progress-bar off -e "$LH_ROOT[$LH_EXTRAS]"
  fi
  touch "$stamp"
fi
export PATH="$LH_VENV/bin:$PATH"
