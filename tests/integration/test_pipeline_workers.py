"""``logharbor pipeline --workers 2`` as real processes: SIGKILL workers at least five times
during a 100,000-event run and every event id must still be stored exactly once (the group
rebalances, the supervisor restarts it, uncommitted records are replayed and absorbed as 409
duplicates)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from test_pipeline import (
    Topics,
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

from logharbor.config import KafkaSettings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


MIN_KILLS = 5


@pytest.mark.usefixtures("templates")
async def test_sigkill_a_worker_every_id_exactly_once(
    kafka_bootstrap: str, os_url: str, os_client, unique_tenant: str
) -> None:
    suffix = uuid.uuid4().hex[:10]
    kafka = KafkaSettings(
        bootstrap=kafka_bootstrap,
        raw_topic=f"lh-test-raw-{suffix}",
        processed_topic=f"lh-test-processed-{suffix}",
        dlq_topic=f"lh-test-dlq-{suffix}",
        consumer_group=f"lh-test-pipeline-{suffix}",
    )
    topics = Topics(kafka, unique_tenant)
    await create_topics(kafka_bootstrap, [kafka.raw_topic], 4)
    await create_topics(kafka_bootstrap, [kafka.processed_topic, kafka.dlq_topic], 1)
    n = 100_000
    sent = envelopes(unique_tenant, n)
    await produce(kafka_bootstrap, kafka.raw_topic, sent)

    port = free_port()
    env = {
        **os.environ,
        "LOGHARBOR_OPENSEARCH_URL": os_url,
        "LOGHARBOR_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "LOGHARBOR_KAFKA_RAW_TOPIC": kafka.raw_topic,
        "LOGHARBOR_KAFKA_PROCESSED_TOPIC": kafka.processed_topic,
        "LOGHARBOR_KAFKA_DLQ_TOPIC": kafka.dlq_topic,
        "LOGHARBOR_KAFKA_CONSUMER_GROUP": kafka.consumer_group,
        "LOGHARBOR_PIPELINE_HTTP_HOST": "127.0.0.1",
        "LOGHARBOR_PIPELINE_HTTP_PORT": str(port),
        # small batches so a kill lands between polls with work in flight
        "LOGHARBOR_PIPELINE_MAX_POLL_RECORDS": "300",
        "LOGHARBOR_PIPELINE_BULK_MAX_DOCS": "300",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = await asyncio.to_thread(
        subprocess.Popen,
        [sys.executable, "-m", "ops.cli", "pipeline", "--workers", "2"],
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    try:
        # SIGKILL a worker (alternating, pid from the supervisor's /ready) each time another
        # sixteenth of the events is stored, so kills land all through the run with work in flight
        # (a tenth left only 4 kills once the sink overlapped its bulks: the run got faster).
        deadline = time.monotonic() + 600
        victims: list[int] = []
        killed_at: list[int] = []
        next_kill = n // 16
        while time.monotonic() < deadline:
            assert proc.poll() is None, "supervisor exited"
            stored = await asyncio.to_thread(stored_count, os_client, unique_tenant)
            if stored >= n:
                break
            if stored >= next_kill and len(victims) < MIN_KILLS + 3:
                status, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/ready")
                workers = json.loads(body)["workers"] if status == 200 else {}
                # alternate, but take the other worker while this one is still being restarted
                # (waiting for it let the survivor index a third of the run between two kills)
                order = [str(len(victims) % 2), str((len(victims) + 1) % 2)]
                slots = [workers.get(k) or {} for k in order]
                alive = [w for w in slots if w.get("alive") and w.get("pid") not in victims]
                target = alive[0] if alive else {}
                if target:
                    os.kill(target["pid"], signal.SIGKILL)
                    victims.append(target["pid"])
                    killed_at.append(stored)
                    next_kill = stored + n // 16
            await asyncio.sleep(0.3)
        assert len(victims) >= MIN_KILLS, f"only {len(victims)} kills before the run ended (at {killed_at}); raise n"
        assert stored_count(os_client, unique_tenant) == n, f"killed at {killed_at}"
        assert duplicate_ids(os_client, unique_tenant) == []
        assert distinct_ids(os_client, unique_tenant) == {e.id for e in sent}
        # The supervisor replaced the dead worker and aggregates both workers' metrics.
        deadline = time.monotonic() + 60
        status = 0
        while time.monotonic() < deadline:
            status, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/ready")
            if status == 200:
                break
            await asyncio.sleep(1.0)
        assert status == 200, body
        for worker in json.loads(body)["workers"].values():
            assert worker["alive"] and worker["pid"] not in victims
        _, metrics = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
        indexed = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("logharbor_pipeline_indexed_documents_total")
        )
        # Counters of killed workers survive in the multiprocess files; a few may be lost.
        assert indexed >= n - killed_at[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    del topics
    await delete_topics(kafka_bootstrap, [kafka.raw_topic, kafka.processed_topic, kafka.dlq_topic])
    delete_streams(os_client, unique_tenant)
