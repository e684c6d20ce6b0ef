"""Alerting cost: 100 scheduled rules per minute, and the streaming matcher per event with 100 match rules.

    LOGHARBOR_OPENSEARCH_URL=http://127.0.0.1:9200 .venv/bin/python -m ops.bench.alerts \\
        --events 50000 --rules 100 --minutes 5 --stream-events 50000

Scheduled: indexes ``--events`` events spread over ``--minutes`` minutes into a fresh tenant,
stores ``--rules`` rules (a mix of count, grouped count, rate and p95 metric rules), then runs
the real evaluator over each simulated minute (window times shifted, nothing waited for) and
reports per minute of 100 rules: wall time, the evaluator's CPU time, searches sent and the
time OpenSearch spent in them (``took``). Streaming: the real match engine with ``--rules``
match rules of one tenant judging ``--stream-events`` processed documents: µs per event, and
the ratio to a single rule.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid

from alerting.evaluator import Context, ScheduledEvaluator
from alerting.rules import Rule
from alerting.schedule import utc
from alerting.settings import AlertingSettings
from alerting.streaming import MatchEngine
from logharbor.config import OpenSearchSettings
from opensearch.alerts_outbox import LeaseStore
from opensearch.alerts_store import ensure_indices
from opensearch.client import async_client, sync_client

M = 60_000
SERVICES = [f"svc-{i}" for i in range(20)]
LEVELS = ["INFO"] * 8 + ["WARN", "ERROR"]


def iso(ms: int) -> str:
    return utc(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def scheduled_rules(tenant: str, n: int) -> list[Rule]:
    kinds = [
        lambda i: {"query": f"level:ERROR AND service:{SERVICES[i % 20]}", "condition": {"threshold": 5}},
        lambda i: {"query": "level:ERROR", "condition": {"threshold": 3, "group_by": ["service.name"]}},
        lambda i: {"query": "level:ERROR OR level:WARN", "condition": {"type": "rate", "threshold": 15}},
        lambda i: {"query": f"service:{SERVICES[i % 20]}", "condition": {
            "type": "metric", "metric": {"agg": "p95", "field": "http.response.time"}, "threshold": 900}},
    ]
    return [Rule.model_validate({"id": f"bench-{tenant}-{i}", "tenant": tenant, "name": f"bench {i}",
                                 **kinds[i % len(kinds)](i)}) for i in range(n)]


async def bench_scheduled(os_url: str, events: int, n_rules: int, minutes: int) -> dict[str, float]:
    from opensearch.bootstrap import bootstrap

    tenant = "bench" + uuid.uuid4().hex[:8]
    sync = sync_client(OpenSearchSettings(url=os_url))
    bootstrap(sync)
    client = async_client(OpenSearchSettings(url=os_url))
    ctx = Context(client, AlertingSettings(watermark="clock", max_catchup_windows=1))
    ctx.leases = LeaseStore(client, ctx.holder, 3_600_000)
    now = ctx.now()
    base = now - now % M - (minutes + 2) * M
    rnd = random.Random(7)
    try:
        await ensure_indices(client)
        body: list[dict] = []
        for i in range(events):
            ts = base + rnd.randrange(minutes * M) + M
            body += [{"create": {"_index": f"logs-{tenant}-standard"}},
                     {"@timestamp": iso(ts), "log": {"level": rnd.choice(LEVELS)},
                      "service": {"name": rnd.choice(SERVICES)}, "message": f"request {i} done",
                      "http": {"response": {"time": rnd.randrange(5, 1500)}}}]
            if len(body) >= 10_000:
                await client.bulk(body=body)
                body = []
        if body:
            await client.bulk(body=body)
        await client.indices.refresh(index=f"logs-{tenant}-*")
        rules = scheduled_rules(tenant, n_rules)
        ev = ScheduledEvaluator(ctx)
        for r in rules:  # first evaluation of each rule (starts its state at the first window)
            await ev.evaluate(r, base + M)
        walls, cpus, tooks = [], [], []
        took_total = 0

        orig_search = client.search

        async def timed_search(*a, **kw):
            nonlocal took_total
            resp = await orig_search(*a, **kw)
            took_total += resp.get("took", 0)
            return resp

        client.search = timed_search  # type: ignore[method-assign]
        searches0 = ev.searches
        sem = asyncio.Semaphore(8)
        for minute in range(2, minutes + 2):
            took_total = 0
            w0, c0 = time.perf_counter(), time.process_time()

            async def one(r: Rule, end: int = base + minute * M) -> None:
                async with sem:
                    await ev.evaluate(r, end)

            await asyncio.gather(*(one(r) for r in rules))
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            tooks.append(took_total)
        searches = (ev.searches - searches0) / minutes
        return {"rules": n_rules, "minutes": minutes, "wall_s": statistics.median(walls),
                "cpu_s": statistics.median(cpus), "searches": searches, "os_took_ms": statistics.median(tooks)}
    finally:
        from opensearch.alerts_store import LEASES, RULES, STATE

        ids = [f"bench-{tenant}-{i}" for i in range(n_rules)]
        for index in (STATE, LEASES, RULES):
            await client.delete_by_query(index=index, body={"query": {"ids": {"values": ids}}},
                                         params={"ignore_unavailable": "true", "conflicts": "proceed",
                                                 "refresh": "true"})
        sync.indices.delete_data_stream(name=f"logs-{tenant}-*")
        await client.close()
        sync.close()


def bench_streaming(n_rules: int, n_events: int) -> dict[str, float]:
    ctx = Context(None, AlertingSettings())  # type: ignore[arg-type]  # judge() does no I/O
    tenant = "bench"
    queries = [
        lambda i: f'"payment failed {i}" AND service:{SERVICES[i % 20]}',
        lambda i: f"level:ERROR AND service:{SERVICES[i % 20]} AND http.response.status_code >= 500",
        lambda i: f"message:timeout* AND NOT host.name:h{i}",
        lambda i: f'service:{SERVICES[i % 20]} AND "card declined"',
    ]
    rnd = random.Random(3)
    docs = [{"@timestamp": "2026-01-19T10:30:00.000Z", "event.id": f"e{i}", "log.level": rnd.choice(LEVELS),
             "service.name": rnd.choice(SERVICES), "host.name": f"h{i % 50}",
             "message": f"GET /api/orders/{i} completed in {rnd.randrange(900)} ms for user {i % 977}",
             "http.response.status_code": rnd.choice([200] * 20 + [500]),
             "data_stream": {"name": f"logs-{tenant}-standard"}} for i in range(n_events)]

    def run(k: int) -> float:
        engine = MatchEngine(ctx)
        engine.load([Rule.model_validate({"id": f"m{i}", "tenant": tenant, "name": f"m{i}", "query": queries[i % 4](i),
                                          "condition": {"type": "match"}}) for i in range(k)])
        t0 = time.process_time()
        for d in docs:
            engine.judge(d, 0)
        return (time.process_time() - t0) / len(docs) * 1e6

    one = min(run(1) for _ in range(2))
    many = min(run(n_rules) for _ in range(2))
    return {"rules": n_rules, "events": n_events, "us_per_event_1_rule": one, "us_per_event": many,
            "us_per_rule_event": many / n_rules}


def main() -> None:
    import os

    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=50_000)
    p.add_argument("--rules", type=int, default=100)
    p.add_argument("--minutes", type=int, default=5)
    p.add_argument("--stream-events", type=int, default=50_000)
    p.add_argument("--skip-scheduled", action="store_true")
    args = p.parse_args()
    if not args.skip_scheduled:
        url = os.environ.get("LOGHARBOR_OPENSEARCH_URL", "http://127.0.0.1:9200")
        s = asyncio.run(bench_scheduled(url, args.events, args.rules, args.minutes))
        print(f"scheduled: {s['rules']} rules × {s['minutes']} simulated minutes over {args.events} events; "
              f"per minute (median): wall {s['wall_s']:.2f} s, evaluator CPU {s['cpu_s']:.2f} s "
              f"({s['cpu_s'] / s['rules'] * 1000:.1f} ms/rule), {s['searches']:.0f} searches, OpenSearch took "
              f"{s['os_took_ms']:.0f} ms; CPU share of one core: {s['cpu_s'] / 60 * 100:.2f} %")
    st = bench_streaming(args.rules, args.stream_events)
    print(f"streaming: {st['rules']} match rules, {st['events']} events: {st['us_per_event']:.1f} µs/event "
          f"({st['us_per_rule_event']:.2f} µs per rule×event; 1 rule: {st['us_per_event_1_rule']:.1f} µs/event; "
          f"ratio {st['us_per_event'] / st['us_per_event_1_rule']:.1f}×) → "
          f"{1e6 / st['us_per_event']:,.0f} events/s per core")


if __name__ == "__main__":
    main()
