"""Query API benchmark: latency of typical searches through the API vs the same DSL sent straight
to OpenSearch, and export throughput.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 LOGHARBOR_KAFKA_BOOTSTRAP=127.0.0.1:9092 \\
        .venv/bin/python -m ops.bench.query --docs 20000 --requests 100

It indexes ``--docs`` synthetic events for a fresh tenant into its data streams, starts
``python -m ui.cli`` as a subprocess (as in production: its own process and event loop),
then, one request at a time, runs each query ``--requests`` times through the API and the
equivalent DSL (built by the very functions the API uses) straight to OpenSearch, both over
plain aiohttp so the client cost is the same. The ratio p50(API)/p50(direct) is the API's
overhead: auth, parsing, compiling, shaping, JSON. Export: rows/s of a full streamed export
(ndjson, csv) vs paging the same point in time straight from OpenSearch.
The load generator shares the machine with the ui and OpenSearch; the output says how many CPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
from opensearchpy import helpers

from logharbor.config import OpenSearchSettings
from opensearch.client import sync_client
from opensearch.search import build_sort, streams_of_tenant
from ui.api import filters_query
from ui.params import parse_filters, parse_sort

KEY = "bench-" + "k" * 24
SERVICES = ("api", "web", "worker", "billing", "auth")
LEVELS = ("DEBUG", "INFO", "INFO", "INFO", "INFO", "WARN", "ERROR")

def queries(now: datetime) -> list[tuple[str, str, dict[str, str]]]:
    """(name, API path, params): the searches a dashboard and an on-call engineer run most.

    Times are absolute (fixed at start) so the API and the direct request are the same
    request each time — relative times would defeat OpenSearch's request cache on one side only.
    """
    day = (now - timedelta(hours=24)).isoformat()
    six = (now - timedelta(hours=6)).isoformat()
    end = now.isoformat()
    return [
        ("newest 100", "/api/v1/logs/search", {"limit": "100"}),
        ("level=error, 24h", "/api/v1/logs/search", {"level": "error", "from": day, "to": end, "limit": "100"}),
        ("q: service+phrase", "/api/v1/logs/search", {"q": 'service:billing AND "payment declined"',
                                                      "limit": "100"}),
        ("q: status>=500, 6h", "/api/v1/logs/search", {"q": "status>=500", "from": six, "to": end, "limit": "50"}),
        ("q: prefix wildcard decl*", "/api/v1/logs/search", {"q": "decl*", "from": day, "to": end, "limit": "100"}),
        ("q: suffix wildcard *clined", "/api/v1/logs/search", {"q": "*clined", "from": day, "to": end,
                                                               "limit": "100"}),
        ("agg: error_rate by service, 1h, 24h", "/api/v1/logs/aggregate",
         {"metric": "error_rate", "group_by": "service", "interval": "1h", "from": day, "to": end}),
        ("agg: count by level, 24h", "/api/v1/logs/aggregate",
         {"metric": "count", "group_by": "level", "from": day, "to": end}),
        ("agg: p50/p95/p99 duration by service, 24h", "/api/v1/logs/aggregate",
         {"metric": "percentiles", "field": "duration", "group_by": "service", "from": day, "to": end}),
    ]


def make_docs(tenant: str, n: int, seed: int = 1, days: int = 2) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        level = rng.choice(LEVELS)
        service = rng.choice(SERVICES)
        status = rng.choice((200, 200, 200, 404, 500))
        msg = "payment declined for order" if level == "ERROR" and service == "billing" else f"GET /x/{i} {status}"
        out.append({
            "@timestamp": (now - timedelta(seconds=rng.randint(0, days * 86400))).isoformat(),
            "message": msg, "log": {"level": level}, "service": {"name": service},
            "host": {"name": f"h{i % 5}"}, "event": {"id": f"{tenant}-{i}", "duration": rng.randint(1, 10**9)},
            "http": {"response": {"status_code": status}}, "labels": {"tenant": tenant},
        })
    return out


def index(client: Any, tenant: str, docs: list[dict[str, Any]]) -> None:
    cls = {"ERROR": "errors", "DEBUG": "debug"}
    actions = ({"_op_type": "create", "_index": f"logs-{tenant}-{cls.get(d['log']['level'], 'standard')}",
                "_id": d["event"]["id"], "_source": d} for d in docs)
    helpers.bulk(client, actions, chunk_size=5000, request_timeout=300)
    client.indices.refresh(index=f"logs-{tenant}-*")


def direct_body(path: str, params: dict[str, str], now: datetime) -> dict[str, Any]:
    """The DSL the API sends for these params (built by the same functions)."""
    f = parse_filters(params, now)
    body: dict[str, Any] = {"query": filters_query(f), "track_total_hits": True}
    if path.endswith("search"):
        body.update(size=int(params.get("limit", 100)), sort=build_sort(parse_sort(params.get("sort"))))
    else:
        from opensearch.aggregate import build_aggs
        from ui.params import parse_aggregate
        from ui.settings import UISettings

        a = parse_aggregate(params, UISettings(), now)
        body.update(query=filters_query(a.filters), size=0,
                    aggs=build_aggs(a.metric, a.field, a.group_by, a.size, a.interval, a.filters.start,
                                    a.filters.end, a.percents))
    return body


def start_ui(port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "--port", str(port), "--log-level", "WARNING"],
                            env=env)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


async def timed(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> float:
    t0 = time.perf_counter()
    async with session.request(method, url, **kw) as r:
        await r.read()
        assert r.status == 200, (url, r.status, await r.text())
    return (time.perf_counter() - t0) * 1000


async def run(args: argparse.Namespace) -> None:
    os_url = OpenSearchSettings().url
    client = sync_client()
    from opensearch.bootstrap import bootstrap

    bootstrap(client)
    tenant = "bench" + os.urandom(4).hex()
    t0 = time.perf_counter()
    index(client, tenant, make_docs(tenant, args.docs, days=args.days))
    print(f"indexed {args.docs} docs for tenant {tenant} in {time.perf_counter() - t0:.1f}s")
    streams = streams_of_tenant([d["name"] for d in client.indices.get_data_stream(
        name=f"logs-{tenant}-*")["data_streams"]], tenant)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LOGHARBOR_UI_ROLLUP_INTERVAL_S": "0", "LOGHARBOR_UI_STATIC_KEYS": orjson.dumps(
        {KEY: {"tenant": tenant, "scopes": ["read"], "rate": 1e6, "burst": 1_000_000}}).decode()}
    proc = start_ui(port, env)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {KEY}"}
    rows: list[str] = []
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    await timed(session, "GET", base + "/api/v1/openapi.json")
                    break
                except (aiohttp.ClientError, AssertionError):
                    await asyncio.sleep(0.1)
            now = datetime.now(UTC)
            index_list = ",".join(streams)
            for name, path, params in queries(now):
                body = orjson.dumps(direct_body(path, params, now))
                direct_url = f"{os_url}/{index_list}/_search?ignore_unavailable=true&pre_filter_shard_size=1"
                hdr = {"Content-Type": "application/json"}
                for _ in range(5):  # warm caches on both paths
                    await timed(session, "GET", base + path, params=params, headers=auth)
                    await timed(session, "POST", direct_url, data=body, headers=hdr)
                api, direct = [], []
                for _ in range(args.requests):
                    api.append(await timed(session, "GET", base + path, params=params, headers=auth))
                    direct.append(await timed(session, "POST", direct_url, data=body, headers=hdr))
                rows.append(f"| {name} | {pct(api, .5):.1f} | {pct(api, .99):.1f} | {pct(direct, .5):.1f} | "
                            f"{pct(direct, .99):.1f} | {pct(api, .5) / pct(direct, .5):.2f} |")
            # Long-range count via the hourly rollup vs the same request over raw events.
            from opensearch.client import async_client
            from opensearch.search import StreamResolver
            from ui.rollups import rollup_all

            aclient = async_client()
            t0 = time.perf_counter()
            await rollup_all(aclient, StreamResolver(aclient), ["errors", "standard", "debug"], 3, only=[tenant])
            rollup_build_s = time.perf_counter() - t0
            await aclient.close()
            end = now.replace(minute=0, second=0, microsecond=0)
            long = {"metric": "error_rate", "group_by": "service", "interval": "1h",
                    "from": (end - timedelta(days=args.days)).isoformat(), "to": end.isoformat()}
            rollup_rows = []
            async with session.get(base + "/api/v1/logs/aggregate", params=long, headers=auth) as r:
                answered_by = (await r.json())["source"]
            assert answered_by == "rollup", f"the rollup did not answer ({answered_by})"
            for mode in ("auto", "never"):
                lat = [await timed(session, "GET", base + "/api/v1/logs/aggregate", params={**long, "rollup": mode},
                                   headers=auth) for _ in range(args.requests)]
                rollup_rows.append((mode, pct(lat, .5), pct(lat, .99)))
            export_rows = []
            for fmt in () if args.skip_export else ("ndjson", "csv"):
                t0 = time.perf_counter()
                n = 0
                async with session.get(base + "/api/v1/logs/export", params={"format": fmt}, headers=auth) as r:
                    async for chunk in r.content.iter_chunked(1 << 16):
                        n += chunk.count(b"\n")
                export_rows.append((fmt, n, n / (time.perf_counter() - t0)))
            # Direct: page the same point in time with the same sort and batch size.
            if args.skip_export:
                return print_report(args, rows, rollup_build_s, rollup_rows, export_rows, 0.0)
            t0 = time.perf_counter()
            async with session.post(f"{os_url}/{index_list}/_search/point_in_time?keep_alive=2m") as r:
                pit = (await r.json())["pit_id"]
            sa, n = None, 0
            sort = build_sort(parse_sort(None))
            while True:
                q: dict[str, Any] = {"size": 2000, "sort": sort, "pit": {"id": pit, "keep_alive": "2m"},
                                     "track_total_hits": False}
                if sa:
                    q["search_after"] = sa
                async with session.post(f"{os_url}/_search", data=orjson.dumps(q), headers=hdr) as r:
                    hits = orjson.loads(await r.read())["hits"]["hits"]
                if not hits:
                    break
                n += len(hits)
                sa = hits[-1]["sort"]
            direct_rate = n / (time.perf_counter() - t0)
            async with session.delete(f"{os_url}/_search/point_in_time", data=orjson.dumps({"pit_id": [pit]}),
                                      headers=hdr):
                pass
    finally:
        proc.terminate()
        proc.wait(10)
        if not args.keep:
            client.indices.delete_data_stream(name=f"logs-{tenant}-*")
            client.indices.delete(index=f".logharbor-rollup-hourly-{tenant}", ignore=[404])
    print_report(args, rows, rollup_build_s, rollup_rows, export_rows, direct_rate)


def print_report(args: argparse.Namespace, rows: list[str], rollup_build_s: float,
                 rollup_rows: list[tuple[str, float, float]], export_rows: list[tuple[str, int, float]],
                 direct_rate: float) -> None:
    print(f"\ncorpus {args.docs} docs, {args.requests} sequential requests per query, {os.cpu_count()} CPUs\n")
    print("| query | API p50 ms | API p99 ms | direct p50 ms | direct p99 ms | overhead (p50 ratio) |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print()
    print(f"hourly rollup built in {rollup_build_s:.2f}s; error_rate by service per hour over {args.days} days (API):")
    print("| path | p50 ms | p99 ms |")
    print("|---|---|---|")
    for mode, p50, p99 in rollup_rows:
        print(f"| {'rollup' if mode == 'auto' else 'raw events'} | {p50:.1f} | {p99:.1f} |")
    print()
    print("| export | rows | rows/s via API | rows/s direct PIT paging | ratio |")
    print("|---|---|---|---|---|")
    for fmt, n, rate in export_rows:
        print(f"| {fmt} | {n} | {rate:,.0f} | {direct_rate:,.0f} | {rate / direct_rate:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="corpus size (default 20000)")
    parser.add_argument("--requests", type=int, default=100, help="requests per query and path")
    parser.add_argument("--days", type=int, default=2, help="time span of the corpus in days (default 2)")
    parser.add_argument("--skip-export", action="store_true", help="leave out the export phase")
    parser.add_argument("--keep", action="store_true", help="keep the bench tenant's data streams")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
