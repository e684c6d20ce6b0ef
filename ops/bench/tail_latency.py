"""Live-tail latency: gateway 202 → event on a WebSocket subscriber, through every component.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.tail_latency --events 200 --rate 20

Starts ``logharbor gateway``, ``logharbor pipeline`` and ``logharbor ui`` as processes on fresh
topics, subscribes to ``/api/v1/stream?q=source:probe`` with a read key, then posts one-event
batches at ``--rate``/s. For each event: (time it arrived on the WebSocket) − (time the
gateway's 202 arrived). The pipeline publishes to the processed topic after OpenSearch acked
the bulk, so this is ingest → stored → live tail, the product spec's figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import aiohttp
import orjson

from gateway.testing import GatewayProcess, free_port, keys
from logharbor.config import KafkaSettings, OpenSearchSettings
from ops.bench.ingest import cleanup, delete_topics
from ops.devstack.kafka_broker import ensure_topics


def _wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # answering at all is enough (401 without a key)
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout_s:.0f} s")


async def measure(args: argparse.Namespace, gw_url: str, ui_url: str, ingest_key: str, read_key: str) -> list[float]:
    arrived: dict[str, float] = {}
    acked: dict[str, float] = {}
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{ui_url}/api/v1/stream", params={"q": "source:probe"},
                                      headers={"Authorization": f"Bearer {read_key}"})
        assert (await ws.receive_json(timeout=30))["type"] == "ready"

        async def read() -> None:
            async for msg in ws:
                data = orjson.loads(msg.data)
                if data["type"] == "log":
                    arrived[data["data"]["message"]] = time.monotonic()

        reader = asyncio.create_task(read())
        for i in range(args.events):
            marker = f"probe {uuid.uuid4().hex}"
            body = orjson.dumps([{"timestamp": datetime.now(UTC).isoformat(), "level": "info", "message": marker}])
            async with session.post(f"{gw_url}/ingest", data=body, headers={
                    "Authorization": f"Bearer {ingest_key}", "Content-Type": "application/json"}) as r:
                assert r.status == 202, await r.text()
                acked[marker] = time.monotonic()
            await asyncio.sleep(1 / args.rate)
            if i % 50 == 49:
                print(f"  {i + 1} posted, {len(arrived)} delivered", flush=True)
        deadline = time.monotonic() + 30
        while len(arrived) < len(acked) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)  # polling what the reader task collected
        reader.cancel()
        await ws.close()
    missing = len(acked) - len(arrived)
    if missing:
        print(f"{missing} events never arrived on the WebSocket within 30 s")
    return sorted(arrived[m] - acked[m] for m in acked if m in arrived)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=200)
    p.add_argument("--rate", type=float, default=20.0, help="posts per second")
    args = p.parse_args()
    kafka = KafkaSettings()
    suffix = uuid.uuid4().hex[:8]
    tenant = f"tail{suffix}"
    names = [f"bench-tail-raw-{suffix}", f"bench-tail-processed-{suffix}", f"bench-tail-dlq-{suffix}"]
    ensure_topics(kafka.bootstrap, KafkaSettings(raw_topic=names[0], processed_topic=names[1], dlq_topic=names[2]))
    os_url = OpenSearchSettings().url
    ingest_key, _ = keys(os_url, "create", tenant=tenant, source="probe", scopes=["ingest"])
    read_key, _ = keys(os_url, "create", tenant=tenant, source="bench", scopes=["read"])
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": names[0], "LOGHARBOR_KAFKA_PROCESSED_TOPIC": names[1],
           "LOGHARBOR_KAFKA_DLQ_TOPIC": names[2], "LOGHARBOR_KAFKA_CONSUMER_GROUP": f"bench-tail-{suffix}",
           "LOGHARBOR_PIPELINE_HTTP_PORT": str(free_port()), "LOGHARBOR_UI_ROLLUP_INTERVAL_S": "0",
           "LOGHARBOR_LOG_LEVEL": "WARNING"}
    ui_port = free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "ops.cli", *cmd], env={**os.environ, **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for cmd in (["pipeline"], ["ui", "--port", str(ui_port)])]
    try:
        with GatewayProcess(env=env) as gw:
            gw.wait_ready()
            _wait_http(f"http://127.0.0.1:{ui_port}/api/v1/status")
            time.sleep(3)  # the pipeline joins its consumer group
            lat = asyncio.run(measure(args, gw.url, f"http://127.0.0.1:{ui_port}", ingest_key, read_key))
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        cleanup(tenant)
        asyncio.run(delete_topics(kafka, names))
    if lat:
        p50 = statistics.median(lat) * 1000
        print(f"gateway 202 → WebSocket: {len(lat)} events at {args.rate:g}/s, p50 {p50:.0f} ms, "
              f"p99 {lat[max(0, int(len(lat) * 0.99) - 1)] * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")


if __name__ == "__main__":
    main()
