"""Backpressure on the Elasticsearch endpoint: with Kafka stopped, ``_bulk`` answers a whole-request
503 with ``Retry-After`` (never a 200 with per-item errors a shipper would drop), and the official
``elasticsearch`` client, retrying with its own backoff, delivers everything once Kafka is back.

Uses a Kafka broker of its own (the devstack machinery on free ports and a scratch data dir, as
tests/integration/test_gateway_kafka_restart.py does) — the session's shared broker is never
stopped. Delivery is checked in that broker's topic: every document's id is there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import orjson
import pytest
import requests

from gateway.testing import GatewayProcess, free_port, keys, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[3]


def _devstack(action: str, env: dict[str, str], kafka_port: int, controller_port: int) -> None:
    out = subprocess.run([sys.executable, "-m", "ops.cli", "devstack", action, "--only", "kafka",
                          "--kafka-port", str(kafka_port), "--controller-port", str(controller_port)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_kafka_down_gives_503_and_the_client_delivers_after_recovery(os_url, tmp_path, unique_tenant) -> None:
    from elasticsearch import Elasticsearch, helpers

    kafka_port, controller_port = free_port(), free_port()
    env = {**os.environ, "LOGHARBOR_DEVSTACK_DATA_DIR": str(tmp_path / "kafka")}
    token, _ = keys(os_url, "create", tenant=unique_tenant, source="bp", scopes=["ingest"], rate=1e6, burst=1e6)
    topic = f"lh-proto-bp-{uuid.uuid4().hex[:8]}"
    _devstack("up", env, kafka_port, controller_port)
    try:
        gw_env = {"LOGHARBOR_KAFKA_BOOTSTRAP": f"127.0.0.1:{kafka_port}", "LOGHARBOR_KAFKA_RAW_TOPIC": topic,
                  "LOGHARBOR_GATEWAY_PRODUCE_TIMEOUT_S": "5", "LOGHARBOR_GATEWAY_KAFKA_UNAVAILABLE_RETRY_AFTER_S": "1"}
        with GatewayProcess(env=gw_env) as gw:
            gw.wait_ready()
            # elastic-transport retries a 503 at once (its backoff applies to connection errors only),
            # so an outage of tens of seconds takes thousands of retries: cheap 503s from the gateway
            es = Elasticsearch(gw.url + "/es", api_key=token, request_timeout=30, max_retries=100_000,
                               retry_on_status=(429, 503))
            docs = [{"_index": "bp", "_id": f"bp-{i:06d}", "@timestamp": "2026-01-19T10:00:00Z",
                     "message": f"backpressure {i}"} for i in range(60)]
            assert helpers.bulk(es, docs[:10]) == (10, [])
            _devstack("down", env, kafka_port, controller_port)
            body = b'{"index":{"_index":"bp","_id":"bp-probe-01"}}\n{"message":"probe"}\n'
            statuses = []
            for _ in range(5):
                r = requests.post(gw.url + "/es/_bulk", data=body, timeout=30, headers={
                    "Authorization": f"ApiKey {token}", "Content-Type": "application/x-ndjson"})
                statuses.append(r.status_code)
                assert r.status_code != 200, r.text  # never a 200 with per-item errors while Kafka is down
                if r.status_code == 503:
                    assert int(r.headers["Retry-After"]) >= 1 and r.headers["X-Elastic-Product"] == "Elasticsearch"
                    assert r.json()["error"]["type"] and "Kafka" in r.json()["error"]["reason"]
            assert 503 in statuses, statuses
            result: dict = {}

            def send() -> None:
                try:
                    result["bulk"] = helpers.bulk(es, docs[10:])
                except Exception as exc:  # surfaced below
                    result["error"] = exc

            sender = threading.Thread(target=send)
            sender.start()
            time.sleep(2)  # the client is now retrying against 503s
            assert sender.is_alive(), result
            _devstack("up", env, kafka_port, controller_port)
            sender.join(180)
            assert not sender.is_alive() and "error" not in result, result
            assert result["bulk"] == (50, [])
        records = read_topic(f"127.0.0.1:{kafka_port}", topic, timeout_s=60)
        ids = {orjson.loads(r.value)["id"] for r in records}
        assert {d["_id"] for d in docs} <= ids  # every document delivered (retries may add duplicates,
        # which carry the same id: the pipeline stores them once)
    finally:
        _devstack("down", env, kafka_port, controller_port)
