"""Gateway capacity: thousands of concurrent keep-alive clients, each posting now and then.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.gateway_connections --clients 5000 --interval 5 --duration 30

Starts ``logharbor gateway`` on a fresh topic, opens ``--clients`` keep-alive connections (one
per client, raw HTTP/1.1 over asyncio streams so the load generator itself stays light), then
every client posts a ``--events``-event batch every ``--interval`` seconds (jittered) for
``--duration`` seconds. Prints the gateway's RSS idle, with every connection open and at the
end (→ memory per connection), request latency p50/p99 and every non-202 answer.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime

import orjson

from gateway.testing import GatewayProcess, create_topic, keys
from logharbor.config import KafkaSettings, OpenSearchSettings


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    return status


async def _client(port: int, key: str, args: argparse.Namespace, opened: asyncio.Event, go: asyncio.Event,
                  stop_at: list[float], latencies: list[float], statuses: dict[int, int], conns: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conns.append(1)
    if len(conns) == args.clients:
        opened.set()
    await go.wait()
    await asyncio.sleep(random.uniform(0, args.interval))  # spread the first posts
    while time.monotonic() < stop_at[0]:
        now = datetime.now(UTC).isoformat()
        body = orjson.dumps([{"timestamp": now, "level": "info", "message": f"cap {i}"} for i in range(args.events)])
        writer.write((f"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
        t0 = time.perf_counter()
        await writer.drain()
        status = await _read_response(reader)
        latencies.append(time.perf_counter() - t0)
        statuses[status] = statuses.get(status, 0) + 1
        await asyncio.sleep(args.interval * random.uniform(0.8, 1.2))
    writer.close()


async def run(args: argparse.Namespace, gw: GatewayProcess, key: str) -> None:
    await asyncio.sleep(1)
    idle = gw.rss()
    opened, go = asyncio.Event(), asyncio.Event()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    conns: list[int] = []
    stop_at = [0.0]
    t0 = time.monotonic()
    errors: dict[str, int] = {}

    async def client() -> None:
        try:
            await _client(gw.port, key, args, opened, go, stop_at, latencies, statuses, conns)
        except (OSError, asyncio.IncompleteReadError) as exc:  # counted, not hidden
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            if not opened.is_set():
                conns.append(0)
                if len(conns) >= args.clients:
                    opened.set()

    tasks = [asyncio.create_task(client()) for _ in range(args.clients)]
    await asyncio.wait_for(opened.wait(), timeout=120)
    await asyncio.sleep(2)
    connected = gw.rss()
    print(f"{args.clients} connections open in {time.monotonic() - t0:.1f} s")
    stop_at[0] = time.monotonic() + args.duration
    go.set()
    await asyncio.gather(*tasks)
    loaded = gw.rss()
    latencies.sort()
    n = len(latencies)
    per_conn = (connected - idle) / args.clients
    mib = 2**20
    print(f"gateway RSS: idle {idle / mib:.1f} MiB, {args.clients} idle keep-alive connections "
          f"{connected / mib:.1f} MiB ({per_conn / 1024:.1f} KiB per connection), after load {loaded / mib:.1f} MiB")
    print(f"requests: {n} in {args.duration:.0f} s ({n / args.duration:.0f}/s, {n * args.events / args.duration:.0f} "
          f"events/s); statuses {dict(sorted(statuses.items()))}; connection errors {errors or 'none'}")
    if n:
        p99 = latencies[max(0, int(n * 0.99) - 1)]
        print(f"latency: p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=5000)
    p.add_argument("--interval", type=float, default=5.0, help="seconds between a client's posts")
    p.add_argument("--events", type=int, default=5, help="events per post")
    p.add_argument("--duration", type=float, default=30.0)
    args = p.parse_args()
    key, _ = keys(OpenSearchSettings().url, "create", tenant="bench", source="capacity", scopes=["ingest"],
                  rate=1e6, burst=1e6)
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(KafkaSettings().bootstrap),
           # a connection waiting for its first request counts against the header timeout
           "LOGHARBOR_GATEWAY_KEEPALIVE_TIMEOUT_S": str(args.interval * 10),
           "LOGHARBOR_GATEWAY_HEADER_TIMEOUT_S": str(args.interval * 10)}
    with GatewayProcess(env=env) as gw:
        gw.wait_ready()
        asyncio.run(run(args, gw, key))


if __name__ == "__main__":
    main()
