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


class StreamAggregates:
    def __init__(self, client: Any, rules: AggregationRules, index: str = ROLLUP_INDEX, attempts: int = 5) -> None:
        self.client, self.rules, self.index, self.attempts = client, rules, index, attempts
        self._ready = False

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
                    return len(docs)
                raise RuntimeError(f"rollup partial write failed: {resp['items'][0]}")
            except Exception:
                if attempt == self.attempts:
                    raise
                log.warning("rollup partial write failed (attempt %d); retrying", attempt, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        return 0
