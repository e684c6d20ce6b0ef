"""Live-tail capacity: many concurrent streams across several ``logharbor ui`` processes.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.live_streams --streams 10000 --ui 4 --events 20

How a deployment reaches 10,000 live-tail streams (spec §5.5.5): several ui processes behind a
balancer, each with its ONE consumer of the processed topic (no group: every process sees every
record) fanning out to its own streams, ``ui.max_subscribers`` per process. This starts ``--ui``
processes on a processed topic of its own, opens ``--streams`` Server-Sent-Event streams spread
round-robin over them (one key, ``ui.max_streams_per_key`` raised for the bench), publishes
``--events`` documents the way the pipeline does, and prints: streams opened, deliveries
received ÷ expected, publish → browser latency p50/p99, and RSS per ui process idle and with
every stream open (→ memory per stream).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
import psutil

from gateway.testing import free_port, keys
from logharbor.config import KafkaSettings, OpenSearchSettings
from logharbor.topics import ensure_topics_sync
from ops.chaos.stack import Proc


async def _stream(session, url: str, key: str, opened: list[int], got: list[float], go: asyncio.Event) -> None:
    async with session.get(url, headers={"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}) as r:
        if r.status != 200:
            opened.append(-r.status)
            return
        async for line in r.content:
            if not line.startswith(b"data: "):
                continue
            msg = orjson.loads(line[6:])
            if msg.get("type") == "ready":
                opened.append(1)
            elif msg.get("type") == "log":
                sent = float(msg["data"]["message"].split(" ", 2)[1])
                got.append(time.time() - sent)
            if go.is_set() and msg.get("type") == "log" and msg["data"]["message"].startswith("last "):
                return


async def _run(args: argparse.Namespace, ports: list[int], key: str, topic: str, tenant: str,
               pids: list[int]) -> dict:
    import aiohttp
    from aiokafka import AIOKafkaProducer

    rss = lambda: [psutil.Process(p).memory_info().rss for p in pids]  # noqa: E731
    idle = rss()
    opened: list[int] = []
    got: list[float] = []
    go = asyncio.Event()
    conn = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=None)) as session:
        tasks = []
        t0 = time.monotonic()
        for i in range(args.streams):
            url = f"http://127.0.0.1:{ports[i % len(ports)]}/api/v1/stream"
            tasks.append(asyncio.create_task(_stream(session, url, key, opened, got, go)))
            if i % 500 == 499:
                await asyncio.sleep(0.05)  # let the accept queues drain
        while len(opened) < args.streams and time.monotonic() - t0 < args.open_timeout:
            await asyncio.sleep(0.5)
            print(f"  {sum(1 for o in opened if o > 0)} streams ready ...", file=sys.stderr, flush=True)
        open_s = time.monotonic() - t0
        full = rss()
        producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap)
        await producer.start()
        try:
            for i in range(args.events):
                name = "last" if i == args.events - 1 else "event"
                doc = {"@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                       "message": f"{name} {time.time():.6f} bench {i}", "log": {"level": "INFO"},
                       "event": {"id": f"bench-{i}"}, "data_stream": {"name": f"logs-{tenant}-standard"}}
                if name == "last":
                    go.set()
                await producer.send_and_wait(topic, orjson.dumps(doc))
                await asyncio.sleep(args.gap)
        finally:
            await producer.stop()
        ready = sum(1 for o in opened if o > 0)
        deadline = time.monotonic() + 60
        while len(got) < ready * args.events and time.monotonic() < deadline:  # noqa: ASYNC110 (a bench poll)
            await asyncio.sleep(0.5)
        for t in tasks:
            t.cancel()
    lat = sorted(got)
    q = (lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1)) if lat else (lambda p: None)
    mb = 1024 * 1024
    return {
        "ui_processes": len(ports), "streams_requested": args.streams, "streams_open": ready,
        "refused": {str(-o): opened.count(o) for o in set(opened) if o < 0}, "open_s": round(open_s, 1),
        "events": args.events, "deliveries": len(got), "expected": ready * args.events,
        "delivered_ratio": round(len(got) / max(1, ready * args.events), 4),
        "latency_ms_p50": q(0.50), "latency_ms_p99": q(0.99),
        "rss_idle_mb": [round(r / mb, 1) for r in idle], "rss_open_mb": [round(r / mb, 1) for r in full],
        "kib_per_stream": round((sum(full) - sum(idle)) / max(1, ready) / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m ops.bench.live_streams", description=__doc__.split("\n\n")[0])
    p.add_argument("--streams", type=int, default=10_000)
    p.add_argument("--ui", type=int, default=4, help="ui processes (each with its own consumer)")
    p.add_argument("--events", type=int, default=20, help="documents published once every stream is open")
    p.add_argument("--gap", type=float, default=0.2, help="seconds between published documents")
    p.add_argument("--open-timeout", type=float, default=180.0)
    args = p.parse_args(argv)
    os_url, args.bootstrap = OpenSearchSettings().url, KafkaSettings().bootstrap
    run = uuid.uuid4().hex[:8]
    topic, tenant = f"lh-bench-streams-{run}", f"bench{run}"
    ensure_topics_sync(args.bootstrap, {topic: 1})
    # a key whose request rate admits opening every stream at once (the rate limit is per key)
    key, record = keys(os_url, "create", tenant=tenant, source="bench", scopes=["read"], rate=1e5, burst=1e5)
    per_ui = math.ceil(args.streams / args.ui) + 10
    env = {**os.environ, "LOGHARBOR_KAFKA_PROCESSED_TOPIC": topic, "LOGHARBOR_UI_MAX_SUBSCRIBERS": str(per_ui),
           "LOGHARBOR_UI_MAX_STREAMS_PER_KEY": str(args.streams + 10), "LOGHARBOR_UI_ROLLUP_INTERVAL_S": "0"}
    ports = [free_port() for _ in range(args.ui)]
    logs = Path(tempfile.mkdtemp(prefix="logharbor-bench-streams-"))
    procs = [Proc(f"ui-{i}", [sys.executable, "-m", "ops.cli", "ui", "--port", str(port)], env,
                  logs / f"ui-{i}.log", port) for i, port in enumerate(ports)]
    try:
        for proc in procs:  # boot concurrently, then wait for each (the ui has no /health)
            proc.start(wait=False)
        for proc in procs:
            proc.wait_http("/api/v1/openapi.json", 90)
        print(f"{args.ui} ui processes up; opening {args.streams} streams", file=sys.stderr, flush=True)
        out = asyncio.run(_run(args, ports, key, topic, tenant, [pr.proc.pid for pr in procs if pr.proc]))
    finally:
        for proc in procs:
            proc.stop(wait=False)
        for proc in procs:
            proc.stop(30)
        keys(os_url, "revoke", getattr(record, "key_id", None) or key.split("_")[2])
        from gateway.testing import run_async

        async def drop() -> None:
            from aiokafka.admin import AIOKafkaAdminClient

            admin = AIOKafkaAdminClient(bootstrap_servers=args.bootstrap)
            await admin.start()
            try:
                await admin.delete_topics([topic])
            finally:
                await admin.close()

        run_async(drop())
    print(orjson.dumps(out).decode())
    if out["latency_ms_p50"] is not None:
        print(f"streams {out['streams_open']}/{args.streams} over {args.ui} ui; delivered "
              f"{out['delivered_ratio']:.4f}; latency p50 {out['latency_ms_p50']} ms p99 {out['latency_ms_p99']} ms; "
              f"{out['kib_per_stream']} KiB per stream; median idle RSS "
              f"{statistics.median(out['rss_idle_mb'])} MB per process", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
