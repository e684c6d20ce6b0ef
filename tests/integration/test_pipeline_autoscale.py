"""``logharbor pipeline --workers auto`` as real processes: a burst that builds lag on a
3-partition topic grows the workers to the partition count (max 4 asked, 3 partitions), the lag
drains, the count goes back to the minimum, and every event id is stored exactly once across
the scale-ups (rebalances) and scale-downs (SIGTERM'd workers commit and leave)."""

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
    create_topics,
    delete_streams,
    delete_topics,
    distinct_ids,
    duplicate_ids,
    envelopes,
    free_port,
    produce,
    stored_count,
    templates_fixture,  # noqa: F401  (fixture "templates": index templates applied)
)
from test_pipeline_workers import _get

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]


def _ready(port: int) -> dict:
    status, body = _get(f"http://127.0.0.1:{port}/ready")
    return json.loads(body) if status in (200, 503) and body else {}


@pytest.mark.usefixtures("templates")
async def test_burst_scales_up_to_partitions_and_back(
    kafka_bootstrap: str, os_url: str, os_client, unique_tenant: str
) -> None:
    suffix = uuid.uuid4().hex[:10]
    raw, processed, dlq, group = (f"lh-test-{k}-{suffix}" for k in ("raw", "processed", "dlq", "pipeline"))
    await create_topics(kafka_bootstrap, [raw], 3)
    await create_topics(kafka_bootstrap, [processed, dlq], 1)
    port = free_port()
    env = {
        **os.environ,
        "LOGHARBOR_OPENSEARCH_URL": os_url,
        "LOGHARBOR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LOGHARBOR_KAFKA_RAW_TOPIC": raw,
        "LOGHARBOR_KAFKA_PROCESSED_TOPIC": processed,
        "LOGHARBOR_KAFKA_DLQ_TOPIC": dlq,
        "LOGHARBOR_KAFKA_CONSUMER_GROUP": group,
        "LOGHARBOR_PIPELINE_HTTP_HOST": "127.0.0.1",
        "LOGHARBOR_PIPELINE_HTTP_PORT": str(port),
        "LOGHARBOR_PIPELINE_MAX_POLL_RECORDS": "300",
        "LOGHARBOR_PIPELINE_BULK_MAX_DOCS": "300",
        "LOGHARBOR_PIPELINE_AUTOSCALE_UP_LAG": "3000",
        "LOGHARBOR_PIPELINE_AUTOSCALE_UP_AFTER_S": "2",
        "LOGHARBOR_PIPELINE_AUTOSCALE_DOWN_LAG": "0",
        "LOGHARBOR_PIPELINE_AUTOSCALE_DOWN_AFTER_S": "4",
        "LOGHARBOR_PIPELINE_AUTOSCALE_COOLDOWN_S": "4",
        "LOGHARBOR_PIPELINE_AUTOSCALE_CHECK_S": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    cmd = [sys.executable, "-m", "ops.cli", "pipeline", "--workers", "auto", "--min-workers", "1", "--max-workers", "4"]
    proc = await asyncio.to_thread(
        subprocess.Popen, cmd, env=env, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    )
    sent: set[str] = set()
    try:
        # Burst: keep producing faster than one worker indexes until the count reaches the cap.
        peak, peak_lag, deadline = 1, 0, time.monotonic() + 240
        while time.monotonic() < deadline and len(sent) < 400_000:
            assert proc.poll() is None, "supervisor exited"
            batch = envelopes(unique_tenant, 8000, start=len(sent))
            await produce(kafka_bootstrap, raw, batch)
            sent |= {e.id for e in batch}
            auto = (await asyncio.to_thread(_ready, port)).get("autoscale") or {}
            peak, peak_lag = max(peak, auto.get("target") or 1), max(peak_lag, auto.get("lag") or 0)
            if peak >= 3:
                break
        assert peak == 3, f"workers peaked at {peak} (max lag {peak_lag}) after {len(sent)} events"
        # Drain: the lag reaches 0 and the count returns to the minimum; never above the partitions.
        deadline = time.monotonic() + 240
        auto: dict = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, "supervisor exited"
            body = await asyncio.to_thread(_ready, port)
            auto = body.get("autoscale") or {}
            assert (auto.get("target") or 0) <= 3 and len(body.get("workers", {})) <= 3, body
            if auto.get("target") == 1 and auto.get("lag") == 0 and not auto.get("retiring"):
                break
            await asyncio.sleep(1.0)
        assert auto.get("target") == 1 and auto.get("lag") == 0, auto
        assert auto["scale_events"]["up"] == 2 and auto["scale_events"]["down"] >= 2, auto
        assert stored_count(os_client, unique_tenant) == len(sent)
        assert duplicate_ids(os_client, unique_tenant) == []
        assert distinct_ids(os_client, unique_tenant) == sent
        _, metrics = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
        assert "logharbor_pipeline_workers 1.0" in metrics
        assert 'logharbor_pipeline_autoscale_events_total{direction="up"} 2.0' in metrics
        assert "logharbor_pipeline_group_lag 0.0" in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    await delete_topics(kafka_bootstrap, [raw, processed, dlq])
    delete_streams(os_client, unique_tenant)
