"""Streaming ``match`` rules on ``logharbor.processed`` with the in-memory matcher.

The processed topic carries every stored document (the pipeline publishes after indexing), so a
rule's query is compiled once by opensearch/query's matcher — the same AST search and live tail
use — and run on each event of the rule's tenant. Evaluators share the topic through one
consumer group (each event is judged by one of them); offsets are committed after the outbox
entries exist, and the entry key (``rule|group|match|<event id>``, or the throttle bucket when
the rule has a ``throttle``: the first event per group per period) makes a replay after a
crash or rebalance enqueue nothing twice. Beyond ``match_max_per_minute`` notifications per rule
the rest of the minute is counted into one summary entry (no storm).

The entry is created already claimed by this process and handed straight to the sender, so a
notification leaves within milliseconds of the event being read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from alerting.evaluator import Context
from alerting.notify import SUMMARY_GROUP, entry, labels_of, notification, silenced_by
from alerting.prefilter import Prefilter
from alerting.rules import Rule, group_key
from logharbor import ecs
from opensearch.query import Query, parse
from opensearch.query.matcher import compile_shared_matcher
from opensearch.query.timeexpr import parse_event_timestamp
from opensearch.search import get_path

log = logging.getLogger(__name__)


def tenant_of(doc: dict[str, Any]) -> str | None:
    """The tenant whose data stream the document was stored in (like the live tail)."""
    stream = get_path(doc, "data_stream.name")
    if isinstance(stream, str) and stream.startswith("logs-") and stream.count("-") >= 2:
        return stream[5:].rsplit("-", 1)[0]
    tenant = get_path(doc, ecs.TENANT)
    return tenant if isinstance(tenant, str) else None


def event_ms(doc: dict[str, Any], fallback: int) -> int:
    ms = parse_event_timestamp(get_path(doc, ecs.TIMESTAMP))
    return ms if ms is not None else fallback


class MatchEngine:
    """The pure part: compiled rules per tenant, match → outbox entries (testable without Kafka)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.by_tenant: dict[str, list[tuple[Rule, Callable[[dict, dict], bool]]]] = {}
        self.prefilters: dict[str, Prefilter] = {}
        self._sig: tuple = ()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._minute: dict[str, tuple[int, int, int]] = {}  # rule → (minute, sent, over)
        self.silences: dict[str, list[dict[str, Any]]] = {}
        self.events = 0
        self.matched = 0

    def load(self, rules: list[Rule]) -> None:
        match_rules = [r for r in rules if r.streaming]
        sig = tuple((r.id, r.updated_at, r.query) for r in match_rules)
        if sig == self._sig:
            return
        by_tenant: dict[str, list[tuple[Rule, Callable[[dict, dict], bool]]]] = {}
        queries: dict[str, list[Query]] = {}
        for r in match_rules:
            q = parse(r.query)
            by_tenant.setdefault(r.tenant, []).append((r, compile_shared_matcher(q)))
            queries.setdefault(r.tenant, []).append(q)
        self.prefilters = {t: Prefilter(qs) for t, qs in queries.items()}
        self.by_tenant, self._sig = by_tenant, sig

    def judge(self, doc: dict[str, Any], now: int) -> list[dict[str, Any]]:
        """Outbox entries for one processed document."""
        self.events += 1
        tenant = tenant_of(doc) or ""
        rules = self.by_tenant.get(tenant)
        if not rules:
            return []
        out = []
        cache: dict = {}  # one tokenisation per field for all rules
        for i in self.prefilters[tenant].candidates(doc):
            rule, match = rules[i]
            if not match(doc, cache):
                continue
            self.matched += 1
            labels = {f: get_path(doc, f) for f in rule.condition.group_by}
            labels = {k: v for k, v in labels.items() if v is not None and not isinstance(v, dict | list)}
            gkey = group_key(labels)
            ts = event_ms(doc, now)
            throttle_ms = int(rule.throttle_s * 1000)
            eid = get_path(doc, ecs.EVENT_ID)
            marker = str(ts // throttle_ms) if throttle_ms else str(eid or ts)
            key = f"{rule.id}|{gkey}|match|{marker}"
            if key in self._seen:
                continue
            self._seen[key] = None
            if len(self._seen) > 100_000:
                self._seen.popitem(last=False)
            minute, sent, over = self._minute.get(rule.id, (now // 60_000, 0, 0))
            if minute != now // 60_000:
                if over:
                    out.append(self._summary(rule, minute, over, now))
                minute, sent, over = now // 60_000, 0, 0
            event = {k: get_path(doc, k) for k in (ecs.TIMESTAMP, "message", "log.level", "service.name", "host.name",
                                                    "event.id")}
            n = notification(rule, "match", gkey, labels, 1.0, ts, ts, now, self.ctx.settings.public_url, event=event)
            n["key"] = key
            n["idempotency_key"] = n["dedup_key"] = _digest(key)
            status, reason = "sending", ""
            sid = silenced_by(self.silences.get(rule.tenant, []), labels_of(rule, labels), now)
            if sid:
                status, reason = "silenced", f"silence {sid}"
            elif sent >= self.ctx.settings.match_max_per_minute:
                status, reason, over = "summarised", "over match_max_per_minute", over + 1
            else:
                sent += 1
            self._minute[rule.id] = (minute, sent, over)
            out.append(entry(n, rule, status, reason))
        return out

    def flush_summaries(self, now: int) -> list[dict[str, Any]]:
        out = []
        for rid, (minute, _sent, over) in list(self._minute.items()):
            if minute != now // 60_000 and over:
                rule = next((r for rs in self.by_tenant.values() for r, _ in rs if r.id == rid), None)
                if rule is not None:
                    out.append(self._summary(rule, minute, over, now))
                self._minute[rid] = (now // 60_000, 0, 0)
        return out

    def _summary(self, rule: Rule, minute: int, over: int, now: int) -> dict[str, Any]:
        end = (minute + 1) * 60_000
        n = notification(rule, "summary-match", SUMMARY_GROUP, {}, float(over), end, end, now,
                         self.ctx.settings.public_url, total_groups=over)
        return entry(n, rule, "sending")


def _digest(key: str) -> str:
    from alerting.notify import digest

    return digest(key, n=40)


async def run_streaming(ctx: Context, stop: asyncio.Event, deliver: Callable[[dict, tuple[int, int]], None],
                        kafka: Any = None, ready: asyncio.Event | None = None) -> None:
    """Consume the processed topic until ``stop``; hand claimed entries to ``deliver``."""
    from aiokafka import AIOKafkaConsumer

    from logharbor.config import KafkaSettings

    kafka = kafka or KafkaSettings()
    engine = MatchEngine(ctx)
    consumer = AIOKafkaConsumer(kafka.processed_topic, bootstrap_servers=kafka.bootstrap,
                                group_id=ctx.settings.stream_group, enable_auto_commit=False,
                                auto_offset_reset="latest", session_timeout_ms=10_000, heartbeat_interval_ms=3_000)
    await consumer.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while not consumer.assignment() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        for tp in consumer.assignment():
            await consumer.position(tp)
        if ready is not None:
            ready.set()
        last_silences = 0.0
        while not stop.is_set():
            engine.load(await ctx.all_rules())
            if loop.time() - last_silences > 2:
                engine.silences = {}
                for s in await ctx.silences.list(None, active_at=ctx.now()):
                    engine.silences.setdefault(s["tenant"], []).append(s)
                last_silences = loop.time()
            batches = await consumer.getmany(timeout_ms=200, max_records=2000)
            now = ctx.now()
            entries = engine.flush_summaries(now)
            for records in batches.values():
                for rec in records:
                    try:
                        doc = orjson.loads(rec.value)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(doc, dict):
                        entries += engine.judge(doc, now)
            if entries:
                for e in entries:
                    if e["status"] == "sending":
                        e["claimed_by"] = ctx.holder
                        e["claim_until"] = now + int(ctx.settings.claim_s * 1000)
                results = await _create_claimed(ctx, entries)
                for e, version in results:
                    deliver(e, version)
            if batches:
                with contextlib.suppress(Exception):
                    await consumer.commit()
    finally:
        await consumer.stop()


async def _create_claimed(ctx: Context, entries: list[dict[str, Any]]) -> list[tuple[dict, tuple[int, int]]]:
    """Create the entries; return the newly created, claimed ones with their versions."""
    out = []
    sending = [e for e in entries if e["status"] == "sending"]
    others = [e for e in entries if e["status"] != "sending"]
    if others:
        await ctx.outbox.create_many(others)
    for e in sending:
        created, version = await ctx.outbox.create(e, refresh=False)  # delivered by us, at once
        if created and version is not None:
            out.append((e, version))
    return out
