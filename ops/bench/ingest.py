"""Ingest benchmark: the pipeline against OpenSearch's own bulk rate, measured in one run.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.ingest --docs 20000 --workers 1

Three figures, same N events (a mix of nginx, app, syslog, JSON and logfmt lines):
1. processing: parse + filter + redact + enrich + route + ECS document + JSON, no I/O,
   in this one process → events/s per process (the CPU cost of the pipeline itself);
2. direct: the documents the pipeline produces, bulk-indexed straight into a data stream with
   opensearch-py's async bulk helper (op_type=create, _id) → what OpenSearch can take on this box;
3. pipeline: the envelopes produced to a fresh Kafka topic first, then ``--workers`` pipeline
   processes consume, process, index, publish and commit → events/s until the last is stored.
The ratio pipeline/direct is the figure docs/ARCHITECTURE.md §8 asks for; phases alternate for ``--rounds``
rounds and medians are reported, because a shared machine's speed drifts within minutes.
Everything runs on one machine, so OpenSearch, Kafka and the pipeline share the CPUs; the output
says how many there were.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import timeit
import urllib.request
import uuid

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from opensearchpy.exceptions import TransportError
from opensearchpy.helpers import async_bulk

from logharbor.config import KafkaSettings, OpenSearchSettings
from logharbor.envelope import Envelope
from logharbor.ids import stable_id
from logharbor.topics import ensure_topics
from opensearch.client import async_client, sync_client

LINES = (
    '192.168.{a}.{b} - - [19/Jan/2026:10:30:00 +0000] "GET /api/users/{i} HTTP/1.1" 200 {i} "-" '
    '"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"',
    "2026-01-19 10:30:00 ERROR [DatabaseService] Connection timeout after {b}s (query {i})",
    "2026-01-19 10:30:00 INFO [UserService] user {i} logged in from 10.0.{a}.{b}",
    "<34>Jan 19 10:30:00 web-server app[{b}]: User login failed for user{i}",
    '{{"msg": "request done", "level": "info", "ts": "2026-01-19T10:30:00Z", "duration_ms": {b}, '
    '"trace_id": "t{i}", "path": "/api/orders/{i}"}}',
    'ts=2026-01-19T10:30:00Z level=warn msg="disk low" free={b}% host=db-{a}',
)


def make_envelopes(tenant: str, n: int) -> list[Envelope]:
    return [
        Envelope(
            id=stable_id("bench", tenant, i),
            tenant=tenant,
            source=f"svc-{i % 7}",
            received_at="2026-01-19T10:30:01Z",
            raw=LINES[i % len(LINES)].format(i=i, a=i % 200, b=i % 250),
            format="auto",
            meta={"environment": "staging", "host": f"host-{i % 20}"},
        )
        for i in range(n)
    ]


def python_reference_us() -> float:
    """µs for ``sum(range(1000))`` here: a yardstick to compare figures across machines."""
    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def processing_rate(envelopes: list[Envelope]) -> tuple[float, float, list[tuple[str, str, bytes]]]:
    """(events/s of the rules chain alone, events/s of decode → chain → document → JSON) in
    this process (CPU time), and the documents."""
    from pipeline.dlq import safe_tenant
    from pipeline.document import to_document
    from pipeline.event import Event
    from pipeline.rules import load_chain
    from pipeline.settings import PipelineSettings

    chain = load_chain(PipelineSettings())
    records = [e.to_bytes() for e in envelopes]
    warm = [Event.from_envelope(Envelope.from_bytes(r)) for r in records]
    started = time.process_time()
    load_chain(PipelineSettings()).run(warm)  # a fresh chain: its caches start cold too
    chain_only = len(records) / (time.process_time() - started)
    started = time.process_time()
    events = [Event.from_envelope(Envelope.from_bytes(r)) for r in records]
    kept = chain.run(events).kept
    docs = [
        (f"logs-{safe_tenant(e.envelope.tenant)}-{e.retention_class}", e.envelope.id, orjson.dumps(to_document(e)))
        for e in kept
    ]
    elapsed = time.process_time() - started
    return chain_only, len(records) / elapsed, docs


def count(tenant: str) -> int:
    """Stored documents of a tenant (0 while a fresh data stream's shard is still starting)."""
    client = sync_client()
    try:
        client.indices.refresh(index=f"logs-{tenant}-*", ignore_unavailable=True, allow_no_indices=True)
        return client.count(index=f"logs-{tenant}-*", ignore_unavailable=True, allow_no_indices=True)["count"]
    except TransportError as exc:
        if exc.status_code == 503:
            return 0
        raise
    finally:
        client.close()


def cleanup(tenant: str) -> None:
    client = sync_client()
    try:
        client.indices.delete_data_stream(name=f"logs-{tenant}-*", ignore=[404])
    finally:
        client.close()


async def direct_rate(docs: list[tuple[str, str, bytes]], chunk: int) -> float:
    client = async_client(OpenSearchSettings())
    actions = (
        {"_op_type": "create", "_index": idx, "_id": _id, "_source": orjson.loads(body)} for idx, _id, body in docs
    )
    try:
        started = time.perf_counter()
        ok, errors = await async_bulk(
            client, actions, chunk_size=chunk, max_chunk_bytes=8 * 1024 * 1024, raise_on_error=False, refresh=False
        )
        elapsed = time.perf_counter() - started
    finally:
        await client.close()
    if errors:
        raise SystemExit(f"direct bulk had {len(errors)} errors, first: {errors[0]}")
    return ok / elapsed


async def produce(kafka: KafkaSettings, topic: str, envelopes: list[Envelope], partitions: int) -> float:
    await ensure_topics(kafka.bootstrap, {topic: partitions})
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        started = time.perf_counter()
        futures = [await producer.send(topic, e.to_bytes(), key=e.source.encode()) for e in envelopes]
        await asyncio.gather(*futures)
        return len(envelopes) / (time.perf_counter() - started)
    finally:
        await producer.stop()


def indexed_so_far(port: int) -> int:
    """Documents the pipeline reports as created (its /metrics), or -1 while it is not up."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            text = resp.read().decode()
    except OSError:
        return -1
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("logharbor_pipeline_indexed_documents_total{")
        )
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def delete_topics(kafka: KafkaSettings, names: list[str]) -> None:
    """Remove the benchmark's topics (missing ones are fine): the servers are shared."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


def pipeline_rate(
    kafka: KafkaSettings, topic: str, tenant: str, n: int, workers: int, suffix: str
) -> tuple[float, float]:
    """(events/s from process start, events/s from the first indexed document to the last).

    Progress is read from the pipeline's own /metrics rather than by refreshing and counting
    in OpenSearch, which would cost the cluster CPU the direct phase did not pay.
    """
    port = free_port()
    env = {
        **os.environ,
        "LOGHARBOR_KAFKA_RAW_TOPIC": topic,
        "LOGHARBOR_KAFKA_PROCESSED_TOPIC": f"bench-processed-{suffix}",
        "LOGHARBOR_KAFKA_DLQ_TOPIC": f"bench-dlq-{suffix}",
        "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"bench-{suffix}",
        "LOGHARBOR_PIPELINE_HTTP_HOST": "127.0.0.1",
        "LOGHARBOR_PIPELINE_HTTP_PORT": str(port),
        "LOGHARBOR_LOG_LEVEL": "WARNING",
    }
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli", "pipeline", "--workers", str(workers)], env=env)
    try:
        indexed, first_at, first_count = 0, None, 0
        while indexed < n:
            if proc.poll() is not None:
                raise SystemExit(f"pipeline exited with {proc.returncode}")
            time.sleep(0.1)
            indexed = indexed_so_far(port)
            if first_at is None and indexed > 0:
                first_at, first_count = time.perf_counter(), indexed
        ended = time.perf_counter()
        steady = (n - first_count) / (ended - first_at) if first_at and ended > first_at else float("nan")
        stored = count(tenant)
        if stored != n:
            raise SystemExit(f"pipeline reported {indexed} indexed but OpenSearch holds {stored}")
        return n / (ended - started), steady
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000, help="events per phase (default 20000)")
    parser.add_argument("--workers", type=int, default=1, help="pipeline processes (default 1)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the benchmark topic")
    parser.add_argument("--chunk", type=int, default=2000, help="docs per bulk in the direct phase")
    parser.add_argument("--rounds", type=int, default=3, help="alternating direct/pipeline rounds (median)")
    parser.add_argument("--processing-only", action="store_true", help="only the no-I/O processing rate")
    parser.add_argument("--corpus", action="store_true",
                        help="also the processing µs/event of the real-format corpus (tests/data/formats/, "
                             "as ops.bench.cost prints it)")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    print(f"ingest benchmark: {args.docs} events, {os.cpu_count()} CPUs, pipeline workers={args.workers}")
    direct_tenant, pipe_tenant = f"benchdirect{run}", f"benchpipe{run}"
    print(f"python speed here: sum(range(1000)) = {python_reference_us():.1f} µs")
    chain_rate, proc_rate, docs = processing_rate(make_envelopes(direct_tenant, args.docs))
    print(f"rules chain (parse+filter+redact+enrich+route):     {chain_rate:,.0f} events/s per process")
    print(f"processing (decode+chain+ECS document+JSON, no I/O): {proc_rate:,.0f} events/s per process "
          f"= {1e6 / proc_rate:.1f} µs/event (CPU)")
    if args.corpus:
        from ops.bench.cost import corpus_envelopes, corpus_lines  # cost imports this module: import late

        lines = corpus_lines()
        _, corpus_rate, corpus_docs = processing_rate(corpus_envelopes(direct_tenant, lines))
        print(f"processing, real-format corpus ({len(lines)} lines, {len(corpus_docs)} kept):   "
              f"{1e6 / corpus_rate:.1f} µs/event (CPU)")
    if args.processing_only:
        return

    from opensearch.bootstrap import bootstrap

    client = sync_client()
    bootstrap(client)
    client.close()
    kafka = KafkaSettings()
    tenants: list[str] = []
    direct_rates: list[float] = []
    steady_rates: list[float] = []
    wall_rates: list[float] = []
    try:
        # Alternate the two phases so slow spells of a shared machine hit both alike.
        for r in range(args.rounds):
            d_tenant, p_tenant = f"{direct_tenant}r{r}", f"{pipe_tenant}r{r}"
            tenants += [d_tenant, p_tenant]
            round_docs = [(idx.replace(direct_tenant, d_tenant, 1), _id, body) for idx, _id, body in docs]
            d_rate = asyncio.run(direct_rate(round_docs, args.chunk))
            topic = f"bench-raw-{run}-{r}"
            p_rate = asyncio.run(produce(kafka, topic, make_envelopes(p_tenant, args.docs), args.partitions))
            wall, steady = pipeline_rate(kafka, topic, p_tenant, args.docs, args.workers, f"{run}-{r}")
            direct_rates.append(d_rate)
            steady_rates.append(steady)
            wall_rates.append(wall)
            print(
                f"round {r + 1}: direct {d_rate:,.0f} docs/s | pipeline steady {steady:,.0f}, wall {wall:,.0f} "
                f"events/s | ratio {steady / d_rate:.2f} | (produce {p_rate:,.0f} records/s)"
            )
        d, st, w = (statistics.median(x) for x in (direct_rates, steady_rates, wall_rates))
        print(f"median direct bulk into OpenSearch (async_bulk, create): {d:,.0f} docs/s")
        print(f"median Kafka → pipeline → OpenSearch, steady state:      {st:,.0f} events/s")
        print(f"median same, wall clock incl. process start + join:     {w:,.0f} events/s")
        ratios = sorted(s_ / d_ for s_, d_ in zip(steady_rates, direct_rates, strict=True))
        print(
            f"ratio pipeline / direct, steady: median {statistics.median(ratios):.2f} "
            f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}); wall clock: {w / d:.2f}"
        )
    finally:
        for tenant in tenants:
            cleanup(tenant)
        asyncio.run(
            delete_topics(
                kafka,
                [
                    t
                    for r in range(args.rounds)
                    for t in (f"bench-raw-{run}-{r}", f"bench-processed-{run}-{r}", f"bench-dlq-{run}-{r}")
                ],
            )
        )


if __name__ == "__main__":
    main()
