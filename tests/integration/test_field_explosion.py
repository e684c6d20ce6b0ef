"""10,000 distinct field names through the real stack (issue 11 "What it must show").

``logharbor run`` (gateway → Kafka → pipeline → OpenSearch → query API) on its own topics, with
the pipeline on a consumer group of its own (``LOGHARBOR_PIPELINE_CONSUMER_GROUP``, different
from ``kafka.consumer_group``). 2,000 flat events with 5 new random keys each are sent; the
index's total-fields limit (2,000, index_templates/component_templates/logharbor-settings.json)
must hold, every event must be stored, the events beyond the limit found by a message search
with their extra values kept under ``logharbor.overflow``, the overflow counted in the
pipeline's ``/metrics`` and shown in ``/api/v1/status`` — whose lag section names the group
the pipeline really consumes with (logharbor/consumer_group.py).

Why 100 events × 100 new keys rather than 2,000 × 5: OpenSearch applies a dynamic mapping update
per document (one cluster-state update each, ~1 s on a loaded box), so the cost of reaching the
limit is the number of documents that add fields; 100 names an event reach it after ~17.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import string
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests

from gateway.testing import free_port, keys
from logharbor.topics import ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

EVENTS = 100
KEYS_PER_EVENT = 100
# Random names, but none the default redaction reads as a secret's name (pwd, key, token, auth ...).
NAME_ALPHABET = "bcfghjmnqrvxz" + string.digits


def _events(seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    names: set[str] = set()
    out = []
    for i in range(EVENTS):
        extra: dict[str, Any] = {}
        while len(extra) < KEYS_PER_EVENT:
            name = "x_" + "".join(rnd.choices(NAME_ALPHABET, k=10))
            if name in names:
                continue
            names.add(name)
            extra[name] = rnd.randint(0, 999) if len(extra) % 2 else f"value-{rnd.randint(0, 999)}"
        out.append({"timestamp": f"2026-01-19T10:{i // 60 % 60:02d}:{i % 60:02d}Z", "level": "info",
                    "message": f"explosion event {i} marker{i}x", **extra})
    assert len(names) == EVENTS * KEYS_PER_EVENT
    return out


def _count_fields(props: dict[str, Any]) -> int:
    """Mapped fields as OpenSearch counts them for the limit: objects, leaves and multi-fields."""
    n = 0
    for spec in props.values():
        n += 1 + len(spec.get("fields") or {})
        n += _count_fields(spec.get("properties") or {})
    return n


async def _topics(bootstrap: str, names: list[str], create: bool) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    if create:
        await ensure_topics(bootstrap, dict.fromkeys(names, 2))
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        with contextlib.suppress(Exception):
            await admin.delete_topics(names)
    finally:
        await admin.close()


def _wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer")


@contextlib.contextmanager
def _stack(os_client, kafka_bootstrap: str, tmp_path, tenant: str, group: str) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    raw, processed, dlq = f"lh-fx-raw-{suffix}", f"lh-fx-processed-{suffix}", f"lh-fx-dlq-{suffix}"
    asyncio.run(_topics(kafka_bootstrap, [raw, processed, dlq], True))
    gw_port, ui_port, pipe_port = free_port(), free_port(), free_port()
    env = {**os.environ, "LOGHARBOR_DATA_DIR": str(tmp_path / "run"), "LOGHARBOR_KAFKA_RAW_TOPIC": raw,
           "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed, "LOGHARBOR_KAFKA_DLQ_TOPIC": dlq,
           # the pipeline's group differs from kafka.consumer_group: the gateway and status must follow it
           "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"lh-fx-unused-{suffix}", "LOGHARBOR_PIPELINE_CONSUMER_GROUP": group,
           "LOGHARBOR_PIPELINE_HTTP_PORT": str(pipe_port), "LOGHARBOR_STORAGE_DEFAULT_TENANT": tenant}
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli", "run", "--gateway-port", str(gw_port),
                             "--ui-port", str(ui_port), "--no-lifecycle", "--no-alerter"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    urls = {"gw": f"http://127.0.0.1:{gw_port}", "ui": f"http://127.0.0.1:{ui_port}",
            "pipeline": f"http://127.0.0.1:{pipe_port}"}
    try:
        deadline = time.monotonic() + 90
        _wait_http(urls["gw"] + "/ready", deadline)
        _wait_http(urls["ui"] + "/api/v1/openapi.json", deadline)
        yield urls
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        for ds in os_client.indices.get_data_stream(name=f"logs-{tenant}-*")["data_streams"]:
            os_client.indices.delete_data_stream(name=ds["name"])
        asyncio.run(_topics(kafka_bootstrap, [raw, processed, dlq], False))


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the pipeline's /metrics")


def test_ten_thousand_field_names_keep_the_limit_and_lose_no_event(os_client, os_url, kafka_bootstrap,
                                                                    tmp_path, unique_tenant) -> None:
    from opensearch.bootstrap import bootstrap

    bootstrap(os_client)  # this checkout's templates (the overflow field's mapping)
    started = time.monotonic()
    phases: dict[str, float] = {}
    events = _events(seed=11)
    group = f"lh-fx-pipeline-{uuid.uuid4().hex[:8]}"
    with _stack(os_client, kafka_bootstrap, tmp_path, unique_tenant, group) as urls:
        phases["stack up"] = time.monotonic() - started
        ingest, _ = keys(os_url, "create", tenant=unique_tenant, source="explode", scopes=["ingest"])
        operator, _ = keys(os_url, "create", tenant=unique_tenant, source="ops", scopes=["read", "operator"])
        for start in range(0, EVENTS, 500):
            body = b"\n".join(orjson.dumps(ev) for ev in events[start:start + 500])
            r = requests.post(urls["gw"] + "/ingest", data=body, timeout=60, headers={
                "Authorization": f"Bearer {ingest}", "Content-Type": "application/x-ndjson"})
            assert r.status_code == 202 and r.json()["rejected"] == [], r.text[:2000]

        stream = f"logs-{unique_tenant}-*"
        deadline = time.monotonic() + 180
        count = 0
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                os_client.indices.refresh(index=stream)
                count = os_client.count(index=stream)["count"]
            if count >= EVENTS:
                break
            time.sleep(1)
        assert count == EVENTS, f"{count} of {EVENTS} events stored; log:\n" + (
            tmp_path / "run.log").read_text(errors="replace")[-6000:]

        phases["all stored"] = time.monotonic() - started
        # the limit held on every backing index
        mappings = os_client.indices.get_mapping(index=stream)
        settings = os_client.indices.get_settings(index=stream)
        for index, body in mappings.items():
            limit = int(settings[index]["settings"]["index"]["mapping"]["total_fields"]["limit"])
            fields = _count_fields(body["mappings"].get("properties") or {})
            assert fields <= limit == 2000, (index, fields, limit)

        # every value is kept: mapped under fields.* or, beyond the limit, under logharbor.overflow
        sent = {ev["message"]: {k: v for k, v in ev.items() if k.startswith("x_")} for ev in events}
        overflowed: list[str] = []
        hits = os_client.search(index=stream, body={"size": EVENTS, "query": {"match_all": {}}})["hits"]["hits"]
        assert len(hits) == EVENTS
        for hit in hits:
            src = hit["_source"]
            got = {k: v for k, v in (src.get("fields") or {}).items()}
            moved = (src.get("logharbor") or {}).get("overflow") or {}
            got.update({k.removeprefix("fields."): v for k, v in moved.items()})
            assert got == sent[src["message"]], src
            if moved:
                overflowed.append(src["message"])
                assert sorted(src["logharbor"]["overflow_fields"]) == sorted(moved)
        assert len(overflowed) >= EVENTS // 2, f"only {len(overflowed)} events overflowed: limit not reached?"

        # the overflowed events are found by a message search through the query API
        auth = {"Authorization": f"Bearer {operator}"}
        window = {"from": "2026-01-19T00:00:00Z", "to": "2026-01-20T00:00:00Z"}
        for message in random.Random(3).sample(overflowed, 5):
            marker = message.rsplit(" ", 1)[1]
            r = requests.get(urls["ui"] + "/api/v1/logs/search?" + urllib.parse.urlencode(
                {**window, "q": marker}), headers=auth, timeout=30)
            assert r.status_code == 200, r.text
            assert [x["message"] for x in r.json()["results"]] == [message], r.text[:2000]
        r = requests.get(urls["ui"] + "/api/v1/logs/search?" + urllib.parse.urlencode(
            {**window, "q": "logharbor.overflow_fields EXISTS", "limit": "1"}), headers=auth, timeout=30)
        assert r.status_code == 200 and r.json()["total"] == len(overflowed), r.text[:2000]

        # counted by the pipeline and shown to operators in /api/v1/status
        metrics = requests.get(urls["pipeline"] + "/metrics", timeout=10).text
        assert _metric(metrics, "logharbor_pipeline_field_overflow_total") >= len(overflowed)
        assert _metric(metrics, "logharbor_pipeline_field_overflow_fields_total") >= len(overflowed)
        status = requests.get(urls["ui"] + "/api/v1/status", headers=auth, timeout=30).json()
        overflow = status.get("field_overflow") or {}
        assert overflow.get("ok") and overflow["tenants"].get(unique_tenant) == len(overflowed), status
        assert overflow["events"] >= len(overflowed)
        lag = status["components"]["kafka"].get("pipeline_lag") or {}
        assert lag.get("group") == group, status["components"]["kafka"]
    print(f"\n{EVENTS} events, {EVENTS * KEYS_PER_EVENT} distinct names, {len(overflowed)} overflowed, "
          f"{time.monotonic() - started:.1f}s", {k: round(v, 1) for k, v in phases.items()})
