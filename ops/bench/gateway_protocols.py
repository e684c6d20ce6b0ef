"""Gateway benchmark for the protocol doors: events/s and gateway CPU µs/event for ``/ingest``,
Elasticsearch ``_bulk`` and OTLP/HTTP (protobuf) side by side, same events, same gateway, one run.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.gateway --protocols --duration 15

(or ``python -m ops.bench.gateway_protocols``). Each door is saturated by ``--clients`` clients
posting 100-event gzip bodies for ``--duration`` seconds into one gateway process (acks=all); the
CPU figure is the gateway process's user+system time over the events it acknowledged, which
the load generator sharing the box barely moves. Ratios are printed against ``/ingest``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

import aiohttp
import orjson

from gateway.testing import GatewayProcess, create_topic, keys
from logharbor.config import KafkaSettings, OpenSearchSettings
from ops.bench.gateway import gateway_cpu_s, make_batches


def es_bodies(n_batches: int, per_batch: int) -> list[bytes]:
    ts = datetime.now(UTC).isoformat()
    out = []
    for b in range(n_batches):
        lines = []
        for i in range(per_batch):
            n = b * per_batch + i
            lines.append(b'{"index":{"_index":"bench"}}')  # index: a repeated body is produced again (create → 409)
            lines.append(orjson.dumps({"@timestamp": ts, "log.level": "info", "host": {"name": "bench-host"},
                                       "message": f"GET /api/items/{n} 200 {i % 97} ms user={i % 13}",
                                       "http": {"response": {"status_code": 200}}, "duration_ms": i % 97,
                                       "url": {"path": f"/api/items/{i}"}}))
        out.append(gzip.compress(b"\n".join(lines) + b"\n", 6))
    return out


def otlp_bodies(n_batches: int, per_batch: int) -> list[bytes]:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    now_ns = time.time_ns()
    out = []
    for b in range(n_batches):
        req = ExportLogsServiceRequest()
        rl = req.resource_logs.add()
        rl.resource.attributes.append(KeyValue(key="host.name", value=AnyValue(string_value="bench-host")))
        sl = rl.scope_logs.add()
        sl.scope.name = "bench"
        for i in range(per_batch):
            n = b * per_batch + i
            rec = LogRecord(time_unix_nano=now_ns + n, severity_number=9,
                            body=AnyValue(string_value=f"GET /api/items/{n} 200 {i % 97} ms user={i % 13}"))
            rec.attributes.append(KeyValue(key="http.response.status_code", value=AnyValue(int_value=200)))
            rec.attributes.append(KeyValue(key="url.path", value=AnyValue(string_value=f"/api/items/{i}")))
            rec.attributes.append(KeyValue(key="duration_ms", value=AnyValue(int_value=i % 97)))
            sl.log_records.append(rec)
        out.append(gzip.compress(req.SerializeToString(), 6))
    return out


async def saturate(url: str, headers: dict[str, str], bodies: list[bytes], clients: int, duration: float,
                   accepted_of: Callable[[int, bytes], int]) -> tuple[float, dict[int, int]]:
    accepted = 0
    statuses: dict[int, int] = {}
    stop_at = time.perf_counter() + duration

    async def client(i: int, session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        n = i
        while time.perf_counter() < stop_at:
            async with session.post(url, data=bodies[n % len(bodies)], headers=headers) as r:
                body = await r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
                accepted += accepted_of(r.status, body)
            n += clients

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        await asyncio.gather(*(client(i, session) for i in range(clients)))
    return accepted / (time.perf_counter() - started), statuses


def _ingest_accepted(status: int, body: bytes) -> int:
    return orjson.loads(body)["accepted"] if status == 202 else 0


def _es_accepted(status: int, body: bytes) -> int:
    if status != 200:
        return 0
    return sum(1 for it in orjson.loads(body)["items"] if next(iter(it.values()))["status"] == 201)


def _otlp_accepted_of(per_batch: int) -> Callable[[int, bytes], int]:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

    def accepted(status: int, body: bytes) -> int:
        if status != 200:
            return 0
        return per_batch - ExportLogsServiceResponse.FromString(body).partial_success.rejected_log_records

    return accepted


def run(args: argparse.Namespace) -> list[dict]:
    os_settings = OpenSearchSettings()
    key, _ = keys(os_settings.url, "create", tenant="bench", source="bench", scopes=["ingest"], rate=1e9, burst=1e9)
    per = args.batch
    doors = [
        ("/ingest", "/ingest", {"Content-Type": "application/json"}, make_batches(200, per), _ingest_accepted),
        ("ES _bulk", "/es/_bulk", {"Content-Type": "application/x-ndjson"}, es_bodies(200, per), _es_accepted),
        ("OTLP protobuf", "/v1/logs", {"Content-Type": "application/x-protobuf"}, otlp_bodies(200, per),
         _otlp_accepted_of(per)),
    ]
    topic = create_topic(KafkaSettings().bootstrap, partitions=6)
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": topic, "LOGHARBOR_GATEWAY_MAX_CONSUMER_LAG": "0",
           "LOGHARBOR_GATEWAY_MAX_CONCURRENT_REQUESTS": "4096"}
    results = []
    with GatewayProcess(env=env) as gw:
        gw.wait_ready()
        for name, path, extra, bodies, accepted_of in doors:
            headers = {"Authorization": f"Bearer {key}", "Content-Encoding": "gzip", **extra}
            asyncio.run(saturate(gw.url + path, headers, bodies, args.clients, 2.0, accepted_of))  # warm-up
            cpu0 = gateway_cpu_s(gw)
            t0 = time.perf_counter()
            rate, statuses = asyncio.run(saturate(gw.url + path, headers, bodies, args.clients, args.duration,
                                                  accepted_of))
            events = rate * (time.perf_counter() - t0)
            cpu_us = (gateway_cpu_s(gw) - cpu0) / max(events, 1) * 1e6
            res = {"door": name, "events_per_s": rate, "gateway_cpu_us_per_event": cpu_us, "statuses": statuses,
                   "body_bytes": sum(map(len, bodies)) // len(bodies)}
            results.append(res)
            print(orjson.dumps(res, option=orjson.OPT_NON_STR_KEYS).decode(), flush=True)
    base = results[0]
    print(f"\ngateway protocol bench: {os.cpu_count()} CPUs, 1 gateway process, {args.clients} clients, "
          f"{per}-event gzip bodies, {args.duration:g} s per door, acks=all")
    print("\n| door | events/s | vs /ingest | gateway CPU per event | vs /ingest | gzip body |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['door']} | {r['events_per_s']:,.0f} | {r['events_per_s'] / base['events_per_s']:.2f} "
              f"| {r['gateway_cpu_us_per_event']:.0f} µs "
              f"| {r['gateway_cpu_us_per_event'] / base['gateway_cpu_us_per_event']:.2f} | {r['body_bytes']:,} B |")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per door (default 15)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--batch", type=int, default=100, help="events per body (default 100)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
