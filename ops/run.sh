#!/usr/bin/env bash
# Run LogHarbor on this machine, from a fresh clone: `./ops/run.sh`.
# Sets up the venv, starts the local OpenSearch + Kafka (devstack; skipped when
# LOGHARBOR_OPENSEARCH_URL and LOGHARBOR_KAFKA_BOOTSTRAP are set), creates topics, index
# templates and lifecycle policies, then runs gateway, pipeline and ui in one process with demo
# logs flowing through real shippers (LOGHARBOR_DEMO=0 leaves the demo out). It prints the key
# to sign in to http://127.0.0.1:8080/ with.
# Ctrl-C stops LogHarbor; `logharbor devstack down` stops OpenSearch and Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/setup.sh dev
if [ -z "${LOGHARBOR_OPENSEARCH_URL:-}" ] || [ -z "${LOGHARBOR_KAFKA_BOOTSTRAP:-}" ]; then
  logharbor devstack up
fi
logharbor init
if [ "${LOGHARBOR_DEMO:-1}" != 0 ]; then
  exec logharbor run --demo "$@"
fi
exec logharbor run "$@"
