"""End-to-end latency: received by the gateway → searchable in OpenSearch, at a steady rate.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.latency --rate 5000 --duration 30

Envelopes stamped ``received_at = now`` (what the gateway writes) are produced at ``--rate``
events/s into a fresh one-partition topic (one partition keeps them in order), and a
``logharbor pipeline`` process indexes them. A sampler asks OpenSearch every 100 ms for the
highest sequence number *searchable* (a ``max`` aggregation, so refresh is included); event
``s`` counts as searchable at the first sample that sees ``max ≥ s``. Prints p50/p99/max of
received → searchable over the steady part of the run (the first 5 s are warm-up), and
whether the pipeline kept up with the offered rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from logharbor.config import KafkaSettings
from logharbor.envelope import Envelope
from opensearch.client import async_client
from ops.bench.ingest import cleanup, delete_topics, free_port
from ops.devstack.kafka_broker import ensure_topics

WARMUP_S = 5.0


async def _produce(
    kafka: KafkaSettings, topic: str, tenant: str, rate: float, duration: float, sent_at: list[float]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        start = time.monotonic()
        seq = 0
        while (elapsed := time.monotonic() - start) < duration:
            due = int(elapsed * rate)
            futures = []
            while seq < due:
                env = Envelope(
                    id=f"{tenant}-{seq}",
                    tenant=tenant,
                    source="latency",
                    format="json",
                    received_at=datetime.now(UTC).isoformat(),
                    raw=f'{{"level":"info","msg":"latency probe","seq":{seq}}}',
                )
                futures.append(await producer.send(topic, env.to_bytes(), key=b"latency"))
                sent_at.append(time.monotonic())
                seq += 1
            if futures:
                await asyncio.gather(*futures)
            await asyncio.sleep(0.005)
    finally:
        await producer.stop()


async def _sample(tenant: str, stop: asyncio.Event, seen: list[tuple[float, int]]) -> None:
    # ``seq`` is a client name outside ECS, so the pipeline stores it as ``fields.seq`` (the field
    # vocabulary, issue 11); sampling ``seq`` found nothing and reported every event unsearchable
    client = async_client()
    try:
        while not stop.is_set():
            try:
                res = await client.search(
                    index=f"logs-{tenant}-*",
                    body={"size": 0, "aggs": {"m": {"max": {"field": "fields.seq"}}}},
                    params={"ignore_unavailable": "true", "allow_no_indices": "true"},
                )
                value = res.get("aggregations", {}).get("m", {}).get("value")
                if value is not None:
                    seen.append((time.monotonic(), int(value)))
            except Exception:  # the data stream appears with the first document
                pass
            await asyncio.sleep(0.1)
    finally:
        await client.close()


async def run(args: argparse.Namespace) -> None:
    kafka = KafkaSettings()
    suffix = uuid.uuid4().hex[:8]
    tenant, topic = f"lat{suffix}", f"bench-lat-raw-{suffix}"
    names = [topic, f"bench-lat-processed-{suffix}", f"bench-lat-dlq-{suffix}"]
    await asyncio.to_thread(
        ensure_topics,
        kafka.bootstrap,
        KafkaSettings(
            raw_topic=topic, processed_topic=names[1], dlq_topic=names[2], raw_partitions=1, processed_partitions=1
        ),
    )
    env = {
        **os.environ,
        "LOGHARBOR_KAFKA_RAW_TOPIC": topic,
        "LOGHARBOR_KAFKA_PROCESSED_TOPIC": names[1],
        "LOGHARBOR_KAFKA_DLQ_TOPIC": names[2],
        "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"bench-lat-{suffix}",
        "LOGHARBOR_PIPELINE_HTTP_PORT": str(free_port()),
        "LOGHARBOR_LOG_LEVEL": "WARNING",
    }
    port = int(env["LOGHARBOR_PIPELINE_HTTP_PORT"])
    proc = await asyncio.to_thread(subprocess.Popen, [sys.executable, "-m", "ops.cli", "pipeline"], env=env)
    sent_at: list[float] = []
    breakdown = ""
    seen: list[tuple[float, int]] = []
    stop = asyncio.Event()
    try:
        await asyncio.sleep(5)  # pipeline start-up and group join are not part of the latency
        sampler = asyncio.create_task(_sample(tenant, stop, seen))
        await _produce(kafka, topic, tenant, args.rate, args.duration, sent_at)
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline and (not seen or seen[-1][1] < len(sent_at) - 1):  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # polling what the sampler sees in OpenSearch
        stop.set()
        await sampler
        breakdown = await asyncio.to_thread(_pipeline_breakdown, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 60)
        await asyncio.to_thread(cleanup, tenant)
        await delete_topics(kafka, names)
    lat: list[float] = []
    i = 0
    t_start = sent_at[0] if sent_at else 0.0
    for seq, t_sent in enumerate(sent_at):
        while i < len(seen) and seen[i][1] < seq:
            i += 1
        if i == len(seen):
            break
        if t_sent - t_start >= WARMUP_S:
            lat.append(seen[i][0] - t_sent)
    visible = seen[-1][1] + 1 if seen else 0
    print(f"offered {len(sent_at)} events at {args.rate:g}/s for {args.duration:g} s; searchable at the end: {visible}")
    if lat:
        lat.sort()
        print(
            f"received → searchable: p50 {statistics.median(lat):.2f} s, p99 {lat[int(len(lat) * 0.99) - 1]:.2f} s, "
            f"max {lat[-1]:.2f} s ({len(lat)} events after warm-up)"
        )
    if breakdown:
        print(breakdown)
    if visible < len(sent_at):
        print(
            f"the pipeline did not keep up: {len(sent_at) - visible} events not searchable {args.drain:g} s after "
            "the last was sent"
        )


def _pipeline_breakdown(port: int) -> str:
    """Where the time went, from the pipeline's own /metrics: bulk requests (count, mean size and
    duration) and received → indexed (acknowledged) — the rest of received → searchable is the
    refresh interval and the sampler's 100 ms."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError as exc:
        return f"(pipeline /metrics not read: {exc})"
    values: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(
            r"^(logharbor_pipeline_(?:bulk_latency_seconds|bulk_size_documents|end_to_end_latency_seconds)"
            r"_(?:sum|count))(?:\{[^}]*\})? ([0-9.e+-]+)$",
            line,
        )
        if m:
            values[m.group(1)] = values.get(m.group(1), 0.0) + float(m.group(2))
    bulks = values.get("logharbor_pipeline_bulk_latency_seconds_count", 0.0)
    events = values.get("logharbor_pipeline_end_to_end_latency_seconds_count", 0.0)
    if not bulks or not events:
        return ""
    return (
        f"pipeline: {bulks:.0f} bulk requests, mean {values['logharbor_pipeline_bulk_size_documents_sum'] / bulks:.0f} "
        f"docs, mean {values['logharbor_pipeline_bulk_latency_seconds_sum'] / bulks * 1000:.0f} ms each; "
        f"received → indexed mean {values['logharbor_pipeline_end_to_end_latency_seconds_sum'] / events:.2f} s "
        "(whole run, warm-up included)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=5000.0)
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the tail after sending")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
