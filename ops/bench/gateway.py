"""Gateway benchmark: sustained events/s into Kafka (acks=all), then latency at half that rate.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.gateway --workers 1,2 --duration 20

For each worker count it starts ``logharbor gateway --workers N`` on a fresh topic, then:
1. saturation: ``--clients`` concurrent clients each post 100-event gzip batches back to back
   for ``--duration`` seconds → accepted events/s (every one acknowledged by Kafka);
2. latency: an open-loop client posts batches at 50 % of that rate (or ``--latency-rate``)
   → p50/p99 request time.
The load generator runs in this process on the same machine, so on a small box it competes
with the gateway for CPU; the figures are a floor, and the output says how many CPUs there were.

``--baseline DIR`` (a checkout of the code before a change, e.g. ``git worktree add --detach
/tmp/before main``) runs only the saturation phase, ``--rounds`` times, alternating that
checkout's gateway with this one's on the same bodies, key and topic settings, and prints the CPU
per event of each and their ratio: a before/after from one run, which a busy box moves far less
than two runs an hour apart. ``--stages`` prints the CPU per event of ``/ingest``'s pure steps
(gunzip, parse, validate, envelope serialisation, Kafka record batch) without any server.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import orjson
import psutil

from gateway.testing import GatewayProcess, create_topic, keys
from logharbor.config import KafkaSettings, OpenSearchSettings


def make_batches(n_batches: int, per_batch: int, distinct_times: bool = False) -> list[bytes]:
    """100-event gzip bodies; every event stamped with one time, or (``distinct_times``) each with its
    own millisecond in the shipper's form, so no two events of a batch share a timestamp string."""
    now = datetime.now(UTC)
    ts = now.isoformat()

    def stamp(n: int) -> str:
        if not distinct_times:
            return ts
        return (now - timedelta(milliseconds=n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    out = []
    for b in range(n_batches):
        events = [
            {
                "timestamp": stamp(b * per_batch + i),
                "level": "info",
                "host": "bench-host",
                "message": f"GET /api/items/{b * per_batch + i} 200 {i % 97} ms user={i % 13}",
                "fields": {"status": 200, "duration_ms": i % 97, "path": f"/api/items/{i}"},
            }
            for i in range(per_batch)
        ]
        out.append(gzip.compress(orjson.dumps(events), 6))
    return out


async def saturate(
    url: str, key: str, bodies: list[bytes], clients: int, duration: float, per_batch: int
) -> tuple[float, dict[int, int]]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
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
                if r.status == 202:
                    accepted += orjson.loads(body)["accepted"]
            n += clients

    started = time.perf_counter()
    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn) as session:
        await asyncio.gather(*(client(i, session) for i in range(clients)))
    return accepted / (time.perf_counter() - started), statuses


async def latency(
    url: str, key: str, bodies: list[bytes], events_per_s: float, duration: float, per_batch: int
) -> tuple[float, float, int, dict[int, int]]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Content-Encoding": "gzip"}
    interval = per_batch / events_per_s
    times: list[float] = []
    statuses: dict[int, int] = {}

    async def one(body: bytes, session: aiohttp.ClientSession) -> None:
        t0 = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as r:
            await r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1
        times.append(time.perf_counter() - t0)

    tasks = []
    conn = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=conn) as session:
        start = time.perf_counter()
        n = 0
        while (now := time.perf_counter()) - start < duration:
            due = start + n * interval
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(one(bodies[n % len(bodies)], session)))
            n += 1
        await asyncio.gather(*tasks)
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return p50, p99, len(times), statuses


def gateway_cpu_s(gw: GatewayProcess) -> float:
    """User+system CPU seconds of the gateway and its workers: a figure CPU contention barely moves."""
    assert gw.proc is not None
    proc = psutil.Process(gw.proc.pid)
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        t = p.cpu_times()
        total += t.user + t.system
    return total


def _saturation_env() -> dict[str, str]:
    """A fresh 6-partition raw topic and a gateway that never sheds load (no lag gate, a high
    in-flight cap): what every saturating run of this bench gives its gateway."""
    topic = create_topic(KafkaSettings().bootstrap, partitions=6)
    return {
        "LOGHARBOR_KAFKA_RAW_TOPIC": topic,
        "LOGHARBOR_GATEWAY_MAX_CONSUMER_LAG": "0",
        "LOGHARBOR_GATEWAY_MAX_CONCURRENT_REQUESTS": "4096",
    }


def saturation_cpu(
    workers: int, args: argparse.Namespace, key: str, bodies: list[bytes], repo: Path | None = None
) -> dict:
    """Saturate one fresh gateway (of ``repo``, default this checkout): events/s and CPU µs per event."""
    env = _saturation_env()
    with GatewayProcess(env=env, workers=workers, repo=repo) as gw:
        gw.wait_ready()
        url = gw.url + "/ingest"
        asyncio.run(saturate(url, key, bodies, args.clients, 2.0, args.batch))  # warm-up
        cpu0, t0 = gateway_cpu_s(gw), time.perf_counter()
        rate, statuses = asyncio.run(saturate(url, key, bodies, args.clients, args.duration, args.batch))
        events = rate * (time.perf_counter() - t0)
        cpu = gateway_cpu_s(gw) - cpu0
    return {"events_per_s": rate, "gateway_cpu_us_per_event": cpu / max(events, 1) * 1e6, "statuses": statuses}


def yardstick_us() -> float:
    """Best of 20 timings of ``sum(range(1000))``: how slow this box's CPU is right now (quiet core < 10 µs)."""
    best = float("inf")
    for _ in range(20):
        t0 = time.perf_counter()
        sum(range(1000))
        best = min(best, time.perf_counter() - t0)
    return best * 1e6


def compare(args: argparse.Namespace, key: str, bodies: list[bytes]) -> None:
    """Before (``--baseline`` checkout) and after (this one), interleaved, saturation CPU only."""
    baseline = Path(args.baseline).resolve()
    workers = int(args.workers.split(",")[0])
    cpu: dict[str, list[float]] = {"before": [], "after": []}
    print("| round | code | events/s | gateway CPU per event | load average | yardstick |")
    print("|---|---|---|---|---|---|")
    for r in range(args.rounds):
        order = [("before", baseline), ("after", None)]
        if r % 2:
            order.reverse()
        for label, repo in order:
            res = saturation_cpu(workers, args, key, bodies, repo)
            cpu[label].append(res["gateway_cpu_us_per_event"])
            load = "/".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"| {r + 1} | {label} | {res['events_per_s']:,.0f} | {res['gateway_cpu_us_per_event']:.1f} µs "
                  f"| {load} | {yardstick_us():.1f} µs |", flush=True)
            if set(res["statuses"]) != {202}:
                print(f"  statuses: {res['statuses']}")
    before, after = statistics.median(cpu["before"]), statistics.median(cpu["after"])
    print(f"\nmedian gateway CPU per event: before {before:.1f} µs, after {after:.1f} µs "
          f"(after/before {after / before:.2f}, {workers} worker(s), {args.clients} clients, "
          f"{args.batch}-event gzip batches, acks=all)")


def stages(args: argparse.Namespace, bodies: list[bytes]) -> None:
    """CPU µs per event of each pure step of ``POST /ingest``, each timed alone on the previous step's output."""
    from aiokafka.producer.message_accumulator import BatchBuilder

    from gateway.decompress import CappedDecompressor, DecompressLimits
    from gateway.retry_ids import body_digest
    from gateway.validate import KeyContext, ValidationLimits, parse_batch, validate_batch

    limits, ctx = ValidationLimits(), KeyContext(key_id="benchkey0001", tenant="bench", source="bench")

    def gunzip(b: bytes) -> bytes:
        dec = CappedDecompressor("gzip", DecompressLimits())
        out = b"".join(dec.feed(b))
        dec.finish()
        return out

    def parse(body: bytes) -> list:
        body_digest(ctx.key_id, body)
        return parse_batch(body, "json", limits)

    def batch(payloads: list[bytes]) -> bytes:
        builder = BatchBuilder(1 << 20, 0)
        for p in payloads:
            builder.append(timestamp=None, key=b"bench", value=p)
        return builder._build()

    steps = [
        ("gunzip", gunzip),
        ("parse", parse),
        ("validate", lambda entries: validate_batch(entries, ctx, limits=limits).envelopes),
        ("serialise", lambda envs: [e.to_bytes() for e in envs]),
        ("record batch", batch),
    ]
    print(f"/ingest steps, CPU µs per event ({len(bodies)} bodies of {args.batch} events, best of "
          f"{args.rounds}; yardstick {yardstick_us():.1f} µs; load {os.getloadavg()[0]:.1f})")
    inputs: list = bodies
    total = 0.0
    for name, step in steps:
        best = float("inf")
        for _ in range(args.rounds):
            t0 = time.process_time()
            outputs = [step(x) for x in inputs]
            best = min(best, time.process_time() - t0)
        inputs = outputs
        per_event = best / (len(bodies) * args.batch) * 1e6
        total += per_event
        print(f"  {name:13s} {per_event:6.2f}")
    print(f"  {'total':13s} {total:6.2f}")


def run_one(workers: int, args: argparse.Namespace, key: str, bodies: list[bytes]) -> dict:
    env = _saturation_env()
    with GatewayProcess(env=env, workers=workers) as gw:
        gw.wait_ready()
        url = gw.url + "/ingest"
        asyncio.run(saturate(url, key, bodies, args.clients, 2.0, args.batch))  # warm-up
        cpu0 = gateway_cpu_s(gw)
        rate, sat_statuses = asyncio.run(saturate(url, key, bodies, args.clients, args.duration, args.batch))
        cpu_per_event_us = (gateway_cpu_s(gw) - cpu0) / (rate * args.duration) * 1e6
        lat_rate = args.latency_rate or rate / 2
        p50, p99, n, lat_statuses = asyncio.run(latency(url, key, bodies, lat_rate, args.duration, args.batch))
    return {
        "workers": workers,
        "events_per_s": rate,
        "gateway_cpu_us_per_event": cpu_per_event_us,
        "latency_events_per_s": lat_rate,
        "p50_ms": p50 * 1000,
        "p99_ms": p99 * 1000,
        "latency_requests": n,
        "saturation_statuses": sat_statuses,
        "latency_statuses": lat_statuses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase (default 20)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients when saturating")
    parser.add_argument("--batch", type=int, default=100, help="events per batch (default 100)")
    parser.add_argument(
        "--latency-rate",
        type=float,
        help="events/s for the latency phase (default: 50 %% of the saturation rate just measured)",
    )
    parser.add_argument("--protocols", action="store_true",
                        help="instead: /ingest vs ES _bulk vs OTLP in one gateway (ops/bench/gateway_protocols.py)")
    parser.add_argument("--baseline", metavar="DIR",
                        help="checkout of the code before a change: interleaved before/after saturation CPU")
    parser.add_argument("--rounds", type=int, default=3,
                        help="--baseline rounds (default 3); --stages: best of this many timings")
    parser.add_argument("--stages", action="store_true", help="CPU per event of the pure /ingest steps, no server")
    parser.add_argument("--distinct-times", action="store_true",
                        help="each event its own millisecond timestamp (default: one timestamp for all)")
    args = parser.parse_args()
    if args.stages:
        stages(args, make_batches(200, args.batch, args.distinct_times))
        return
    if args.protocols:
        from ops.bench.gateway_protocols import run

        run(args)
        return
    os_settings = OpenSearchSettings()
    key, _ = keys(os_settings.url, "create", tenant="bench", source="bench", scopes=["ingest"], rate=1e9, burst=1e9)
    bodies = make_batches(200, args.batch, args.distinct_times)
    print(
        f"gateway bench: {os.cpu_count()} CPUs, {args.clients} clients, {args.batch}-event gzip batches "
        f"(~{sum(map(len, bodies)) // len(bodies)} B each), {args.duration:g} s per phase, acks=all"
        + (", a timestamp per event" if args.distinct_times else "")
    )
    if args.baseline:
        compare(args, key, bodies)
        return
    results = []
    for w in (int(x) for x in args.workers.split(",")):
        res = run_one(w, args, key, bodies)
        results.append(res)
        print(orjson.dumps(res, option=orjson.OPT_NON_STR_KEYS).decode(), flush=True)
    print("\n| workers | events/s (acks=all) | latency phase events/s | p50 | p99 | gateway CPU per event |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['workers']} | {r['events_per_s']:,.0f} | {r['latency_events_per_s']:,.0f} "
            f"| {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms "
            f"| {r['gateway_cpu_us_per_event']:.0f} µs |"
        )


if __name__ == "__main__":
    main()
