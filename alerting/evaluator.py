"""The scheduled evaluator: rules → windows → one OpenSearch aggregation each → states → outbox.

Each tick, for every enabled scheduled rule this process holds the lease of (or can take over):
the due windows are those ending before the ingestion watermark minus the refresh interval,
at most ``max_catchup_windows`` of them after downtime; each is one search (the rule's query
compiled by opensearch/query plus aggregations from opensearch/alerts_query.py) over the
tenant's own data streams; the state machine turns results into transitions; the lease is
renewed (fencing: a holder that lost it stops here), the outbox entries are created (409 =
already enqueued by someone) and the state is written back with compare-and-set.

Several evaluators may run: the lease makes one of them evaluate a rule, the window-keyed
outbox makes even a race harmless, and the compare-and-set keeps the state moving forward once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from opensearchpy import AsyncOpenSearch, OpenSearch

from alerting.health_facts import FACT_TYPES, observe_fact
from alerting.notify import outbox_entries
from alerting.rules import Rule, open_channels, seal_channels
from alerting.schedule import due_windows, is_active, latest_end, utc
from alerting.settings import AlertingSettings
from alerting.state import RuleState, Transition, advance, reduce_catchup
from logharbor.secretbox import default_box
from opensearch.alerts_outbox import Lease, LeaseStore, Outbox
from opensearch.alerts_query import build_search, parse_search
from opensearch.alerts_store import RuleStore, SilenceStore, StateStore, ensure_indices
from opensearch.search import StreamResolver
from opensearch.watermarks import read_watermark

log = logging.getLogger(__name__)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Context:
    """What the evaluator, the streaming matcher, the sender and the API share."""

    client: AsyncOpenSearch
    settings: AlertingSettings
    holder: str = field(default_factory=holder_id)
    watermark_group: str = "logharbor-pipeline"
    # Synchronous client for the lifecycle facts (disk, snapshots); made on first use.
    facts_client: OpenSearch | None = None

    def __post_init__(self) -> None:
        self.rules = RuleStore(self.client, seal=lambda d: seal_channels(d, default_box()),
                               unseal=lambda d: open_channels(d, default_box()))
        self.states = StateStore(self.client)
        self.silences = SilenceStore(self.client)
        self.outbox = Outbox(self.client)
        self.leases = LeaseStore(self.client, self.holder, int(self.settings.lease_ttl_s * 1000))
        self.resolver = StreamResolver(self.client, ttl_s=5.0)
        self._rules_at = 0.0
        self._rules: list[Rule] = []

    def sync_client(self) -> OpenSearch:
        if self.facts_client is None:
            from opensearch.client import sync_client

            self.facts_client = sync_client()
        return self.facts_client

    def now(self) -> int:
        return int((time.time() + self.settings.clock_offset_s) * 1000)

    async def all_rules(self, max_age_s: float = 2.0) -> list[Rule]:
        """Every enabled rule of every tenant (cached for ``max_age_s``)."""
        if time.monotonic() - self._rules_at > max_age_s:
            rules = []
            only = set(self.settings.tenants) if self.settings.tenants is not None else None
            for doc in await self.rules.list(None, enabled_only=True):
                if only is not None and doc.get("tenant") not in only:
                    continue
                try:
                    rules.append(Rule.model_validate(doc))
                except ValueError as exc:
                    log.warning("rule %s is invalid and skipped: %s", doc.get("id"), exc)
            self._rules, self._rules_at = rules, time.monotonic()
        return self._rules


@dataclass
class EvalResult:
    rule_id: str
    windows: int = 0
    skipped: int = 0
    transitions: int = 0
    enqueued: int = 0
    searches: int = 0
    error: str | None = None
    held: bool = True


class ScheduledEvaluator:
    def __init__(self, ctx: Context, on_enqueued: Any = None) -> None:
        self.ctx = ctx
        self.on_enqueued = on_enqueued
        self.leases: dict[str, Lease] = {}
        self.searches = 0
        self.last_watermark: int | None = None

    async def safe_until(self) -> tuple[int, bool]:
        """The newest instant whose events are searchable, and whether it is a late (forced) one."""
        s, now = self.ctx.settings, self.ctx.now()
        clock = now - int((s.settle_s + s.refresh_interval_s) * 1000)
        if s.watermark == "clock":
            return clock, False
        mark, _ = await read_watermark(self.ctx.client, self.ctx.watermark_group)
        self.last_watermark = mark
        if mark is None:
            return clock, False
        # Watermarks are written in real time; shift them with the (test/drill) clock offset.
        mark += int(s.clock_offset_s * 1000)
        safe = min(mark - int(s.refresh_interval_s * 1000), clock)
        if now - safe > s.watermark_max_lag_s * 1000:
            return now - int(s.watermark_max_lag_s * 1000), True
        return safe, False

    async def _lease(self, rule_id: str) -> Lease | None:
        lease = self.leases.get(rule_id)
        now = self.ctx.now() - int(self.ctx.settings.clock_offset_s * 1000)  # leases use the real clock
        if lease is not None and lease.expires_at - now > self.ctx.leases.ttl_ms / 2:
            return lease
        lease = await (self.ctx.leases.renew(lease, now) if lease else self.ctx.leases.acquire(rule_id, now))
        if lease is None:
            lease = await self.ctx.leases.acquire(rule_id, now)
        if lease is None:
            self.leases.pop(rule_id, None)
        else:
            self.leases[rule_id] = lease
        return lease

    async def tick(self) -> list[EvalResult]:
        rules = [r for r in await self.ctx.all_rules() if not r.streaming]
        safe, late = await self.safe_until()
        sem = asyncio.Semaphore(8)

        async def one(rule: Rule) -> EvalResult:
            async with sem:
                try:
                    return await self.evaluate(rule, safe, late)
                except Exception as exc:
                    log.exception("evaluating rule %s failed", rule.id)
                    return EvalResult(rule.id, error=str(exc))

        return list(await asyncio.gather(*(one(r) for r in rules)))

    async def run_windows(self, rule: Rule, state: RuleState, ends: list[int], res: EvalResult) -> list[Transition]:
        """Search each window in order and advance ``state``; stops at the first failing search."""
        transitions: list[Transition] = []
        streams = await self.ctx.resolver.streams(rule.tenant, classes=tuple(rule.classes),
                                                  include_dlq="dlq" in rule.classes)
        cond = rule.condition.model_dump()
        fact: dict[str, tuple[dict[str, Any], float | None]] | None = None  # read once per run
        for end in ends:
            if not is_active(rule, utc(end)):
                state.last_end = end
                continue
            start = end - int(rule.condition.window_s * 1000)
            try:
                if cond["type"] == "lag":
                    mark = self.last_watermark
                    if mark is None:
                        mark, _ = await read_watermark(self.ctx.client, self.ctx.watermark_group)
                    now = self.ctx.now() - int(self.ctx.settings.clock_offset_s * 1000)
                    observed = {"*": ({}, None if mark is None else max(0.0, (now - mark) / 1000))}
                elif cond["type"] in FACT_TYPES:
                    if fact is None:
                        fact = await observe_fact(self.ctx.sync_client(), cond["type"])
                    observed = fact
                elif streams:
                    body = build_search(cond, rule.query, start, end, rule.max_groups)
                    resp = await self.ctx.client.search(index=",".join(streams), body=body,
                                                        params={"ignore_unavailable": "true"})
                    self.searches += 1
                    res.searches += 1
                    observed = parse_search(cond, resp)
                else:
                    observed = {} if rule.condition.group_by else {"*": ({}, 0.0 if cond["type"] == "count" else None)}
            except Exception as exc:
                state.error = f"{type(exc).__name__}: {str(exc)[:500]}"
                state.error_since = state.error_since or self.ctx.now()
                res.error = state.error
                break
            state.error = state.error_since = None
            transitions += advance(rule, state, observed, end)
            res.windows += 1
        return transitions

    async def evaluate_into(self, rule: Rule, state: RuleState, now: int) -> EvalResult:
        """The latest complete window as of ``now`` into a scratch state (``/test``, previews)."""
        res = EvalResult(rule.id)
        await self.run_windows(rule, state, [latest_end(rule, now)], res)
        return res

    async def evaluate(self, rule: Rule, safe_until: int, late: bool = False) -> EvalResult:
        """Evaluate the rule's due windows if this process holds (or gets) its lease."""
        res = EvalResult(rule.id)
        lease = await self._lease(rule.id)
        if lease is None:
            res.held = False
            return res
        doc, version = await self.ctx.states.get(rule.id)
        state = RuleState.from_doc(doc) if doc else RuleState(rule.id, rule.tenant)
        if state.error and self.ctx.now() - (state.evaluated_at or 0) < self.ctx.settings.error_retry_s * 1000:
            return res  # a failing query is retried, but not every tick
        ends, skipped = due_windows(rule, state.last_end, safe_until, self.ctx.settings.max_catchup_windows)
        if not ends:
            return res
        before = {k: g.state for k, g in state.groups.items()}
        transitions = await self.run_windows(rule, state, ends, res)
        if len(ends) > 1:
            reduce_catchup(before, transitions, state)
        state.skipped_windows += skipped
        state.evaluated_at = self.ctx.now()
        state.late = late
        res.skipped, res.transitions = skipped, len(transitions)
        # Fencing: only the lease holder may commit this window's outcome.
        renewed = await self.ctx.leases.renew(lease, self.ctx.now() - int(self.ctx.settings.clock_offset_s * 1000))
        if renewed is None:
            self.leases.pop(rule.id, None)
            res.held = False
            return res
        self.leases[rule.id] = renewed
        if transitions:
            silences = await self.ctx.silences.list(rule.tenant, active_at=self.ctx.now())
            entries = outbox_entries(rule, transitions, silences, self.ctx.now(), self.ctx.settings.public_url)
            created = await self.ctx.outbox.create_many(entries)
            res.enqueued = sum(1 for e, c in zip(entries, created, strict=True) if c and e["status"] == "pending")
            if self.on_enqueued and res.enqueued:
                self.on_enqueued()
        if not await self.ctx.states.put(rule.id, state.to_doc(), version):
            log.info("rule %s: state changed under us (another evaluator); its write wins", rule.id)
        return res


async def run_scheduled(ctx: Context, stop: asyncio.Event, on_enqueued: Any = None) -> None:
    """Tick until ``stop`` is set."""
    await ensure_indices(ctx.client)
    ev = ScheduledEvaluator(ctx, on_enqueued)
    while not stop.is_set():
        try:
            await ev.tick()
        except Exception:
            log.exception("evaluator tick failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=ctx.settings.tick_s)
        except TimeoutError:
            pass
