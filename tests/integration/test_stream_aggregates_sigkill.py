"""Streaming aggregates through real pipeline processes: SIGKILL workers mid-run and the rollup
partials still count every stored event exactly once, per 10 s and 1 min window — equal to an
aggregation over the events themselves."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from test_pipeline import (
    Topics,
    create_topics,
    delete_streams,
    delete_topics,
    envelopes,
    free_port,
    produce,
    stored_count,
    templates_fixture,  # noqa: F401  (fixture "templates": index templates applied)
)
from test_pipeline_workers import _get

from logharbor.config import KafkaSettings
from pipeline.streamagg.rollup import ROLLUP_INDEX, merge_rows, read_rows

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


def _event_counts(os_client, tenant: str, window_s: int) -> dict[tuple, int]:
    body = {"size": 0, "aggs": {"s": {"terms": {"field": "service.name", "size": 50}, "aggs": {
        "t": {"date_histogram": {"field": "@timestamp", "fixed_interval": f"{window_s}s", "min_doc_count": 1}}}}}}
    resp = os_client.search(index=f"logs-{tenant}-*", body=body)
    return {(s["key"], t["key"]): t["doc_count"] for s in resp["aggregations"]["s"]["buckets"]
            for t in s["t"]["buckets"]}


async def test_sigkill_workers_rollups_equal_events(kafka_bootstrap, os_url, os_client, unique_tenant, templates
                                                    ) -> None:
    suffix = uuid.uuid4().hex[:10]
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, raw_topic=f"lh-test-raw-{suffix}",
                          processed_topic=f"lh-test-processed-{suffix}", dlq_topic=f"lh-test-dlq-{suffix}",
                          consumer_group=f"lh-test-pipeline-{suffix}")
    topics = Topics(kafka, unique_tenant)
    await create_topics(kafka_bootstrap, [kafka.raw_topic], 4)
    await create_topics(kafka_bootstrap, [kafka.processed_topic, kafka.dlq_topic], 1)
    n = 20_000
    await produce(kafka_bootstrap, kafka.raw_topic, envelopes(unique_tenant, n))
    port = free_port()
    env = {**os.environ, "LOGHARBOR_OPENSEARCH_URL": os_url, "LOGHARBOR_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "LOGHARBOR_KAFKA_RAW_TOPIC": kafka.raw_topic, "LOGHARBOR_KAFKA_PROCESSED_TOPIC": kafka.processed_topic,
           "LOGHARBOR_KAFKA_DLQ_TOPIC": kafka.dlq_topic, "LOGHARBOR_KAFKA_CONSUMER_GROUP": kafka.consumer_group,
           "LOGHARBOR_PIPELINE_HTTP_HOST": "127.0.0.1", "LOGHARBOR_PIPELINE_HTTP_PORT": str(port),
           "LOGHARBOR_PIPELINE_MAX_POLL_RECORDS": "300", "LOGHARBOR_PIPELINE_BULK_MAX_DOCS": "300",
           "LOGHARBOR_PIPELINE_STREAM_AGGREGATES": "true"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "ops.cli", "pipeline", "--workers", "2"],
                                   env=env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    victims: list[int] = []
    try:
        deadline = time.monotonic() + 400
        next_kill = n // 5
        stored = 0
        while time.monotonic() < deadline:
            assert proc.poll() is None, "supervisor exited"
            stored = await asyncio.to_thread(stored_count, os_client, unique_tenant)
            if stored >= n:
                break
            if stored >= next_kill and len(victims) < 2:
                status, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/ready")
                workers = json.loads(body)["workers"] if status == 200 else {}
                target = workers.get(str(len(victims) % 2)) or {}
                if target.get("alive") and target.get("pid") not in victims:
                    os.kill(target["pid"], signal.SIGKILL)
                    victims.append(target["pid"])
                    next_kill = stored + n // 4
            await asyncio.sleep(0.3)
        assert stored == n and victims, (stored, victims)
        await asyncio.sleep(3)  # the last batch's partial is written before its commit, so it is there
        os_client.indices.refresh(index=ROLLUP_INDEX)
        for window in (10, 60):
            rows = await asyncio.to_thread(read_rows, os_client, unique_tenant, "count", window, 0,
                                           int(time.time() * 1000) + 86_400_000)
            got = {(r["key"]["service.name"], r["key"]["start"]): r["count"]
                   for r in merge_rows(rows, ["service.name"], per_window=True)}
            assert sum(got.values()) == n, (window, sum(got.values()), victims)
            assert got == _event_counts(os_client, unique_tenant, window)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        await delete_topics(kafka_bootstrap, [kafka.raw_topic, kafka.processed_topic, kafka.dlq_topic])
        delete_streams(os_client, unique_tenant)
        os_client.delete_by_query(index=ROLLUP_INDEX, body={"query": {"term": {"topic": kafka.raw_topic}}},
                                  ignore=[404], refresh=True)
        del topics
