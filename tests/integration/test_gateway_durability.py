"""Nothing acknowledged is lost: SIGKILL the gateway twice while a client keeps posting.

The client behaves like a shipper: each batch has an Idempotency-Key, and a batch is retried
(same key, same body) until it gets a 202. Every id the gateway acknowledged must then be in
Kafka. Duplicates are allowed (a batch produced before the kill but not acknowledged is sent
again); they carry the same ids, so the pipeline's op_type=create drops them.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import orjson
import pytest
import requests

from gateway.testing import GatewayProcess, create_topic, keys, read_topic
from logharbor.envelope import Envelope
from logharbor.ids import stable_id

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BATCHES = 500
PER_BATCH = 100  # 50,000 events, as in the issue


def test_sigkill_twice_loses_no_acknowledged_event(servers, os_url, kafka_bootstrap, unique_tenant):
    topic = create_topic(kafka_bootstrap, partitions=3)
    token, record = keys(os_url, "create", tenant=unique_tenant, source="web", scopes=["ingest"], rate=1e6, burst=1e6)
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": topic}
    gw = GatewayProcess(env=env).start()
    gw.wait_ready()
    port = gw.port
    acked: set[int] = set()
    attempts = {"total": 0, "failed": 0}
    done = threading.Event()

    def client() -> None:
        session = requests.Session()
        ts = datetime.now(UTC).isoformat()
        for i in range(BATCHES):
            body = orjson.dumps([{"timestamp": ts, "level": "info", "message": f"b{i} e{j}"} for j in range(PER_BATCH)])
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"batch-{i}",
            }
            while True:
                attempts["total"] += 1
                try:
                    r = session.post(f"http://127.0.0.1:{port}/ingest", data=body, headers=headers, timeout=20)
                    if r.status_code == 202:
                        assert r.json()["accepted"] == PER_BATCH
                        acked.add(i)
                        break
                except requests.RequestException:
                    session = requests.Session()
                attempts["failed"] += 1
                time.sleep(0.05)
        done.set()

    t = threading.Thread(target=client, daemon=True)
    t.start()
    try:
        for fraction in (1 / 3, 2 / 3):
            while len(acked) < BATCHES * fraction and t.is_alive():
                time.sleep(0.01)
            gw.kill()  # SIGKILL mid-stream: requests in flight die with it
            gw = GatewayProcess(port=port, env=env).start()
        assert done.wait(600), "client did not finish"
    finally:
        gw.stop()
    assert len(acked) == BATCHES
    assert attempts["failed"] >= 1  # the kills really interrupted the client

    ids = [Envelope.from_bytes(rec.value).id for rec in read_topic(kafka_bootstrap, topic, timeout_s=120)]
    expected = {stable_id(record.key_id, f"batch-{i}", j) for i in acked for j in range(PER_BATCH)}
    missing = expected - set(ids)
    print(
        f"\n{len(expected)} acknowledged, {len(ids)} records in Kafka, {len(ids) - len(set(ids))} duplicates, "
        f"{attempts['failed']} failed attempts"
    )
    assert not missing, f"{len(missing)} acknowledged events missing from Kafka"
