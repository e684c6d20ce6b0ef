#!/usr/bin/env bash
# Real protocol clients for the gateway's protocol tests (issue 18), installed idempotently:
#  - rsyslog + omelasticsearch from Debian, installed normally (no daemon is started: the tests
#    run rsyslogd in the foreground with their own config, pid file and ports);
#  - syslog-ng from Debian, which conflicts with rsyslog as a package (both provide
#    system-log-daemon): its .debs are fetched with `apt-get download` and unpacked with
#    `dpkg -x` into .cache/protocol-clients/syslog-ng, its shared-library dependencies are
#    installed normally, and the tests run that private binary with its own paths;
#  - the Node.js OpenTelemetry log exporter from npm into tests/integration/protocols/clients/node
#    (package-lock.json committed, `npm ci`).
# Quiet when everything is there already. Needs root for apt-get (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=.cache/protocol-clients
SNG_PKGS="syslog-ng-core syslog-ng-mod-http syslog-ng-scl"
SNG_LIBS="libcap2 libcurl4 libglib2.0-0 libivykis0 libjson-c5 libnet1 libpcre3 libssl3 libsystemd0 libwrap0"

need_apt=()
command -v rsyslogd >/dev/null 2>&1 || need_apt+=(rsyslog)
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omelasticsearch.so ] || ls /usr/lib/*/rsyslog/omelasticsearch.so >/dev/null 2>&1 \
  || need_apt+=(rsyslog-elasticsearch)
command -v logger >/dev/null 2>&1 || need_apt+=(bsdutils)
for lib in $SNG_LIBS; do dpkg -s "$lib" >/dev/null 2>&1 || need_apt+=("$lib"); done
if [ ! -x "$CACHE/syslog-ng/usr/sbin/syslog-ng" ] || [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "[protocol-clients] need root and apt-get to install: ${need_apt[*]} syslog-ng (extracted)" >&2
  else
  echo "[protocol-clients] installing ${need_apt[*]:-} and an extracted syslog-ng ..." >&2
  apt-get update -qq >/dev/null
  if [ ${#need_apt[@]} -gt 0 ]; then
    # policy-rc.d 101: do not start the rsyslog service; the tests run their own rsyslogd
    had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
    [ $had_policy = 1 ] || printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
  fi
  if [ ! -x "$CACHE/syslog-ng/usr/sbin/syslog-ng" ]; then
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq $SNG_PKGS >/dev/null)
    mkdir -p "$CACHE/syslog-ng"
    for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$CACHE/syslog-ng"; done
    rm -rf "$tmp"
  fi
  fi
fi

NODE_DIR=tests/integration/protocols/clients/node
if command -v npm >/dev/null 2>&1 && [ -f "$NODE_DIR/package-lock.json" ] && [ ! -d "$NODE_DIR/node_modules" ]; then
  echo "[protocol-clients] npm ci in $NODE_DIR ..." >&2
  (cd "$NODE_DIR" && npm ci --silent --no-audit --no-fund >/dev/null)
fi

# Python clients that cannot share the venv with the ones pinned in pyproject.toml (another major
# of elasticsearch; the OTLP/JSON exporter pins an older exporter-common): private --target dirs.
PY=${PYTHON:-python}
[ -x .venv/bin/python ] && PY=.venv/bin/python
if [ ! -d "$CACHE/es8/elasticsearch" ]; then
  echo "[protocol-clients] pip: elasticsearch 8 into $CACHE/es8 ..." >&2
  "$PY" -m pip install -q --target "$CACHE/es8" "elasticsearch>=8.15,<9" >/dev/null 2>&1
fi
if [ ! -d "$CACHE/otel-json/opentelemetry/exporter/otlp/json" ]; then
  echo "[protocol-clients] pip: opentelemetry-exporter-otlp-json-http into $CACHE/otel-json ..." >&2
  "$PY" -m pip install -q --target "$CACHE/otel-json" "opentelemetry-exporter-otlp-json-http>=0.66b1,<1" >/dev/null 2>&1
fi
