"""Kafka stopped mid-run: the gateway answers 503 (never 202) while the broker is down and
accepts again once it is back — without a gateway restart. Uses a broker of its own (the
devstack machinery on other ports and a scratch data dir), so the session's Kafka is untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from gateway_support import post

from gateway.testing import GatewayProcess, free_port, keys

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]


def _devstack(action: str, env: dict[str, str], kafka_port: int, controller_port: int) -> None:
    out = subprocess.run([sys.executable, "-m", "ops.cli", "devstack", action, "--only", "kafka",
                          "--kafka-port", str(kafka_port), "--controller-port", str(controller_port)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def _post(gw: GatewayProcess, key: str, i: int) -> requests.Response:
    body = [{"timestamp": datetime.now(UTC).isoformat(), "level": "info", "message": f"restart {i}"}]
    return post(gw, body, key, timeout=60)


def test_kafka_stopped_mid_run_gives_503_then_recovers_without_gateway_restart(os_url, tmp_path, unique_tenant):
    kafka_port, controller_port = free_port(), free_port()
    env = {**os.environ, "LOGHARBOR_DEVSTACK_DATA_DIR": str(tmp_path / "kafka")}
    token, _ = keys(os_url, "create", tenant=unique_tenant, source="web", scopes=["ingest"])
    _devstack("up", env, kafka_port, controller_port)
    try:
        gw_env = {"LOGHARBOR_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}", "LOGHARBOR_GATEWAY_PRODUCE_TIMEOUT_S": "5"}
        with GatewayProcess(env=gw_env) as gw:
            gw.wait_ready()
            assert _post(gw, token, 0).status_code == 202
            _devstack("down", env, kafka_port, controller_port)
            statuses = []
            for i in range(1, 6):  # while the broker is down: 503 with Retry-After, never 202
                r = _post(gw, token, i)
                statuses.append(r.status_code)
                if r.status_code == 503:
                    assert int(r.headers["Retry-After"]) >= 1 and "Kafka" in r.json()["error"]
            assert 202 not in statuses and 503 in statuses, statuses
            _devstack("up", env, kafka_port, controller_port)
            deadline = time.monotonic() + 90
            while (r := _post(gw, token, 99)).status_code != 202 and time.monotonic() < deadline:
                assert r.status_code == 503, r.text
                time.sleep(1)
            assert r.status_code == 202, r.text
            assert gw.proc is not None and gw.proc.poll() is None  # the same gateway process
    finally:
        _devstack("down", env, kafka_port, controller_port)
