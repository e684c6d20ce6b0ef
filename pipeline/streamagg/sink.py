"""The worker's hook: a settled batch's rollup partials, written before its offsets are done.

``StreamAggregates.write(prepared)`` is awaited in :meth:`pipeline.worker.Worker.settle` after
the batch is indexed and before its records are marked done (so before any commit of them) —
the ordering :mod:`pipeline.streamagg.rollup` proves its no-loss/no-double rule with. Counted
are the events OpenSearch holds: created or duplicate (a duplicate is a replayed event whose
first attempt's partial the replay replaces). The partial's id uses the first *record* offset
of the partition in the batch, so a record dead-lettered on one attempt and indexed on the
next cannot shift the id. A failed write is retried; after ``attempts`` it raises, the sink
stops, nothing is committed and the batch is redelivered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pipeline.indexer import Outcome
from pipeline.prepare import Prepared
from pipeline.streamagg.rollup import MAPPINGS, ROLLUP_INDEX, AggregationRules, Observation, partial_documents

log = logging.getLogger(__name__)
_COUNTED = (Outcome.CREATED, Outcome.DUPLICATE)


DAY_MS = 86_400_000


def expired_query(rules: AggregationRules, now_ms: int) -> dict[str, Any] | None:
    """The partials every window of which is past its retention (``rules.retention_days``).

    A partial holds the rows of every window of one batch, so it may go once the window it
    holds with the *longest* retention has expired: per window ``w``, the partials holding ``w``
    and no window retained longer, written more than ``w``'s days ago. Age counts from the
    write, not from the events' time: a backfill of old events keeps its rollup for the days
    configured (by event time it would be deleted as soon as written, and the aggregate answers
    for that range would silently lose it). Windows without a retention are kept forever.
    """
    kept = {w: d for w, d in rules.retention_days.items() if w in rules.windows_s}
    forever = [w for w in rules.windows_s if w not in kept]
    clauses = []
    for w, days in kept.items():
        longer = [x for x, d in kept.items() if d > days] + forever
        clause: dict[str, Any] = {"bool": {"filter": [
            {"term": {"windows": w}}, {"range": {"written_at": {"lt": now_ms - days * DAY_MS}}}]}}
        if longer:
            clause["bool"]["must_not"] = [{"terms": {"windows": longer}}]
        clauses.append(clause)
    if not clauses:
        return None
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


class StreamAggregates:
    def __init__(self, client: Any, rules: AggregationRules, index: str = ROLLUP_INDEX, attempts: int = 5,
                 prune_every_s: float = 3600.0) -> None:
        self.client, self.rules, self.index, self.attempts = client, rules, index, attempts
        self._ready = False
        self.prune_every_s = prune_every_s
        self._pruned_at = 0.0
        self.pruned = 0

    async def prune(self, now_ms: int | None = None) -> int:
        """Delete the partials past their retention (any worker may; deletes are idempotent)."""
        query = expired_query(self.rules, int(time.time() * 1000) if now_ms is None else now_ms)
        if query is None:
            return 0
        resp = await self.client.delete_by_query(index=self.index, body={"query": query},
                                                 params={"conflicts": "proceed", "refresh": "true",
                                                         "ignore_unavailable": "true"})
        n = int(resp.get("deleted", 0))
        self.pruned += n
        return n

    async def _maybe_prune(self) -> None:
        if self.prune_every_s <= 0 or time.monotonic() - self._pruned_at < self.prune_every_s:
            return
        self._pruned_at = time.monotonic()
        try:
            n = await self.prune()
            if n:
                log.info("stream rollups: deleted %d partials past their retention", n)
        except Exception:  # retention is housekeeping: never fail a batch for it
            log.warning("stream rollups: retention pass failed; next in %.0f s", self.prune_every_s, exc_info=True)

    async def _ensure(self) -> None:
        if self._ready:
            return
        if not await self.client.indices.exists(index=self.index):
            try:
                await self.client.indices.create(index=self.index, body={
                    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
                    "mappings": MAPPINGS})
            except Exception as exc:
                if "resource_already_exists" not in str(exc):
                    raise
        self._ready = True

    def documents(self, prepared: Prepared) -> list[tuple[str, dict[str, Any]]]:
        first: dict[tuple[str, int], int] = {}
        for rec in prepared.records:
            key = (rec.topic, rec.partition)
            if key not in first or rec.offset < first[key]:
                first[key] = rec.offset
        by_topic: dict[str, list[Observation]] = {}
        for item in prepared.items:
            event = item.ref
            rec = getattr(event, "origin", None)
            if item.outcome not in _COUNTED or rec is None:
                continue
            ts = event.ts
            ts_ms = int(ts.timestamp() * 1000) if ts is not None else int(time.time() * 1000)
            by_topic.setdefault(rec.topic, []).append(
                Observation(rec.partition, rec.offset, event.envelope.tenant, ts_ms, event.doc))
        now = int(time.time() * 1000)
        docs = []
        for topic, obs in by_topic.items():
            offsets = {p: o for (t, p), o in first.items() if t == topic}
            docs += partial_documents(topic, obs, self.rules, now, first_offsets=offsets)
        return docs

    async def write(self, prepared: Prepared) -> int:
        docs = self.documents(prepared)
        if not docs:
            return 0
        body: list[dict[str, Any]] = []
        for doc_id, doc in docs:
            body.append({"index": {"_index": self.index, "_id": doc_id}})
            body.append(doc)
        delay = 0.5
        for attempt in range(1, self.attempts + 1):
            try:
                await self._ensure()
                resp = await self.client.bulk(body=body)
                if not resp.get("errors"):
                    await self._maybe_prune()
                    return len(docs)
                raise RuntimeError(f"rollup partial write failed: {resp['items'][0]}")
            except Exception:
                if attempt == self.attempts:
                    raise
                log.warning("rollup partial write failed (attempt %d); retrying", attempt, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        return 0
