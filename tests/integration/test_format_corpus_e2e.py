"""Real-log corpus through the real path: gateway → Kafka → pipeline → OpenSearch, then
time-range and level queries return exactly the expected lines.

A few hundred events from the families in tests/data/formats/ whose lines carry a full date
and no zone (read as UTC, the default), so each event's expected ``@timestamp`` is known to the
millisecond. Joined multi-line events (MySQL) are posted as one raw entry, as the shipper does.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import orjson
import pytest
import requests
from test_pipeline import create_topics, delete_streams, delete_topics, free_port, stored_count

from gateway.testing import GatewayProcess, keys
from opensearch.bootstrap import bootstrap

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "pipeline"))
from format_corpus import cases

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ("java-log4j", "compact-date", "windows-cbs", "ras-bgl", "java-log4j-short", "pipe-separated",
            "apache-error", "mysql-error", "python-oslo", "java-log4j-dash", "nginx-error", "go-log", "java-jul")
PER_FAMILY = 30
# The default rules drop INFO/DEBUG lines that mention heartbeats or health checks; keep those out.
DROPPED_WORDS = ("heartbeat", "health", "GET /ready", "GET /ping", "kube-probe", "ELB-HealthChecker")
# The default redaction masks what follows these words (pipeline/default_rules.yaml); keep those out too.
REDACTED_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey", "authorization")


def expected_instant(exp: dict) -> str:
    """ISO @timestamp as the pipeline writes it (UTC, milliseconds)."""
    year = exp["year"]  # every chosen family's lines carry their year
    clock = exp["time"]
    whole, _, frac = clock.partition(".")
    dt = datetime.strptime(f"{year}-{exp['date']} {whole}", "%Y-%m-%d %H:%M:%S")
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{(frac + '000')[:3]}Z"


def same(stored: str, expected: str) -> bool:
    """Equal, allowing the redact step's masks (``*``) over digit runs such as block ids."""
    return len(stored) == len(expected) and all(a == b or a == "*" for a, b in zip(stored, expected, strict=True))


def selection() -> dict[str, list[tuple[str, dict]]]:
    picked: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for case in cases():
        fam = case.family_dir
        if fam not in FAMILIES or len(picked[fam]) >= PER_FAMILY:
            continue
        if any(w.lower() in case.text.lower() for w in DROPPED_WORDS + REDACTED_WORDS):
            continue
        picked[fam].append((case.text, case.expected))
    return picked


def test_corpus_time_range_and_level_queries(os_client, os_url, kafka_bootstrap, unique_tenant):
    picked = selection()
    assert set(picked) == set(FAMILIES)
    events = [(fam, text, exp) for fam, items in picked.items() for text, exp in items]
    bootstrap(os_client)
    suffix = uuid.uuid4().hex[:10]
    raw, processed, dlq = f"lh-fmt-raw-{suffix}", f"lh-fmt-processed-{suffix}", f"lh-fmt-dlq-{suffix}"
    asyncio.run(create_topics(kafka_bootstrap, [raw], 2))
    asyncio.run(create_topics(kafka_bootstrap, [processed, dlq], 1))
    key, _ = keys(os_url, "create", tenant=unique_tenant, source="corpus", scopes=["ingest"], rate=1e6, burst=1e6)
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": raw, "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed,
           "LOGHARBOR_KAFKA_DLQ_TOPIC": dlq, "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-fmt-{suffix}",
           "LOGHARBOR_PIPELINE_HTTP_PORT": str(free_port())}
    pipeline = subprocess.Popen([sys.executable, "-m", "ops.cli", "pipeline"], cwd=REPO,
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        with GatewayProcess(env=env) as gw:
            gw.wait_ready()
            body = b"\n".join(orjson.dumps({"raw": text, "format": "auto"}) for _, text, _ in events)
            r = requests.post(gw.url + "/ingest", data=gzip.compress(body), timeout=60, headers={
                "Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson",
                "Content-Encoding": "gzip"})
            assert r.status_code == 202, r.text
            assert r.json()["accepted"] == len(events) and r.json()["rejected"] == []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and stored_count(os_client, unique_tenant) < len(events):
            assert pipeline.poll() is None, "pipeline exited"
            time.sleep(1)
        assert stored_count(os_client, unique_tenant) == len(events)
        os_client.indices.refresh(index=f"logs-{unique_tenant}-*")

        def search(query: dict, size: int = 500) -> list[dict]:
            res = os_client.search(index=f"logs-{unique_tenant}-*", body={"query": query, "size": size})
            return [h["_source"] for h in res["hits"]["hits"]]

        all_instants = [expected_instant(exp) for _, _, exp in events]
        for fam, items in picked.items():
            instants = sorted(expected_instant(exp) for _, exp in items)
            in_range = {"range": {"@timestamp": {"gte": instants[0], "lte": instants[-1]}}}
            got = search({"bool": {"filter": [in_range, {"term": {"event.dataset": fam}}]}})
            assert len(got) == len(items), (fam, len(got), len(items))
            # The time range alone returns every corpus event whose own time lies in it, of any family.
            want_all = sorted(t for t in all_instants if instants[0] <= t <= instants[-1])
            only_range = search({"bool": {"filter": [in_range]}}, size=2000)
            assert sorted(h["@timestamp"] for h in only_range) == want_all, fam
            for level in ("INFO", "WARN", "ERROR", "FATAL", "DEBUG"):
                want = sorted(exp["message"] for _, exp in items if exp["level"] == level)
                hits = search({"bool": {"filter": [in_range, {"term": {"event.dataset": fam}},
                                                   {"term": {"log.level": level}}]}})
                got_msgs = sorted(h["message"] for h in hits)
                bad = [(g, w) for g, w in zip(got_msgs, want, strict=False) if not same(g, w)]
                assert len(got_msgs) == len(want) and not bad, (fam, level, bad[:3])
            # One event by its exact millisecond: the expected message comes back.
            _, exp = items[len(items) // 2]
            instant = expected_instant(exp)
            hits = search({"bool": {"filter": [{"term": {"@timestamp": instant}}, {"term": {"event.dataset": fam}}]}})
            assert any(same(h["message"], exp["message"]) for h in hits), (fam, instant)
    finally:
        pipeline.send_signal(signal.SIGTERM)
        try:
            pipeline.wait(60)
        except subprocess.TimeoutExpired:
            pipeline.kill()
        delete_streams(os_client, unique_tenant)
        asyncio.run(delete_topics(kafka_bootstrap, [raw, processed, dlq]))
    assert pipeline.returncode == 0
