"""The whole ingest path with real processes: gateway → Kafka → pipeline → OpenSearch.

100,000 raw lines in five formats (nginx, application, syslog, JSON, logfmt) posted through
``logharbor gateway`` as gzip batches, indexed by ``logharbor pipeline``: every event is
searchable exactly once, with the fields its format promises.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import orjson
import pytest
import requests
from test_pipeline import (
    create_topics,
    delete_streams,
    delete_topics,
    distinct_ids,
    duplicate_ids,
    free_port,
    stored_count,
)

from gateway.testing import GatewayProcess, keys
from opensearch.bootstrap import bootstrap

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 100_000
BATCH = 1000
REPO = Path(__file__).resolve().parents[2]


def raw_line(i: int) -> str:
    kind = i % 5
    if kind == 0:
        return (f'203.0.113.{i % 250 + 1} - - [19/Jan/2026:10:30:00 +0000] "GET /e2e/{i} HTTP/1.1" '
                f'{500 if i % 50 == 0 else 200} {i % 9000} "-" "curl/8.0"')
    if kind == 1:
        level = "ERROR" if i % 7 == 0 else "INFO"
        return f"2026-01-19 10:30:00 {level} [OrderService] order op{i} finished"
    if kind == 2:
        return f"<34>Jan 19 10:30:00 web-server app[{i % 60000}]: login attempt op{i}"
    if kind == 3:
        return json.dumps({"ts": "2026-01-19T10:30:00Z", "level": "warn", "msg": f"payment op{i}", "amount": i})
    return f'ts=2026-01-19T10:30:00Z level=info msg="cache op{i}" hit=true'


def test_100k_mixed_events_through_every_component_exactly_once(os_client, os_url, kafka_bootstrap, unique_tenant):
    bootstrap(os_client)
    suffix = uuid.uuid4().hex[:10]
    raw, processed, dlq = f"lh-e2e-raw-{suffix}", f"lh-e2e-processed-{suffix}", f"lh-e2e-dlq-{suffix}"
    asyncio.run(create_topics(kafka_bootstrap, [raw], 4))
    asyncio.run(create_topics(kafka_bootstrap, [processed, dlq], 1))
    key, _ = keys(os_url, "create", tenant=unique_tenant, source="e2e", scopes=["ingest"], rate=1e6, burst=1e6)
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": raw, "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed,
           "LOGHARBOR_KAFKA_DLQ_TOPIC": dlq, "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-e2e-{suffix}",
           "LOGHARBOR_PIPELINE_HTTP_PORT": str(free_port())}
    pipeline = subprocess.Popen([sys.executable, "-m", "ops.cli", "pipeline"], cwd=REPO,
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        with GatewayProcess(env=env) as gw:
            gw.wait_ready()
            session = requests.Session()
            accepted = 0
            for start in range(0, N, BATCH):
                body = b"\n".join(orjson.dumps({"raw": raw_line(i), "format": "auto"})
                                  for i in range(start, start + BATCH))
                r = session.post(gw.url + "/ingest", data=gzip.compress(body), timeout=60, headers={
                    "Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson",
                    "Content-Encoding": "gzip", "Idempotency-Key": f"{suffix}-{start}"})
                assert r.status_code == 202, r.text
                assert r.json()["rejected"] == []
                accepted += r.json()["accepted"]
        assert accepted == N
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and stored_count(os_client, unique_tenant) < N:
            assert pipeline.poll() is None, "pipeline exited"
            time.sleep(2)
        assert stored_count(os_client, unique_tenant) == N
        assert duplicate_ids(os_client, unique_tenant) == []
        assert len(distinct_ids(os_client, unique_tenant)) == N

        def one(q: str) -> dict:
            hits = os_client.search(index=f"logs-{unique_tenant}-*", body={"query": {"query_string": {
                "query": q, "default_operator": "AND"}}})["hits"]
            assert hits["total"]["value"] == 1, (q, hits["total"])
            return hits["hits"][0]["_source"]

        nginx = one('url.path:"/e2e/50"')
        assert nginx["http"]["response"]["status_code"] == 500 and nginx["client"]["ip"] == "203.0.113.51"
        assert nginx["http"]["request"]["method"] == "GET" and nginx["service"]["name"] == "e2e"
        app = one('message:"order op21 finished"')
        assert app["log"]["level"] == "ERROR" and app["@timestamp"] == "2026-01-19T10:30:00.000Z"
        sys_ = one('message:"login attempt op102"')
        assert sys_["log"]["syslog"]["facility"]["code"] == 4 and sys_["host"]["name"] == "web-server"
        js = one('message:"payment op103"')
        assert js["log"]["level"] == "WARN" and js["fields"]["amount"] == 103  # outside ECS: fields.*
        lf = one('message:"cache op104"')
        assert lf["log"]["level"] == "INFO"
        errors = os_client.count(index=f"logs-{unique_tenant}-errors")["count"]
        assert errors > 0  # ERROR app lines and 5xx access lines are routed to the errors class
    finally:
        pipeline.send_signal(signal.SIGTERM)
        try:
            pipeline.wait(60)
        except subprocess.TimeoutExpired:
            pipeline.kill()
        delete_streams(os_client, unique_tenant)
        asyncio.run(delete_topics(kafka_bootstrap, [raw, processed, dlq]))
    assert pipeline.returncode == 0
