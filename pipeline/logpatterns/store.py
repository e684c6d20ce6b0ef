"""The shared template store: ``.logharbor-patterns``, one document per pattern id.

Why OpenSearch and per-pattern documents: every pipeline worker and every restart must agree on
pattern ids without a coordinator. Ids are a hash of (tenant, service, template text)
(:func:`pipeline.logpatterns.miner.pattern_id`), so agreement only needs the same templates:
a worker starting (or meeting a new (tenant, service)) loads that service's stored templates,
most frequent first, into its miner, then mines on. Writes are scripted upserts, so two
workers adding counts to the same pattern both count (``count += delta``, ``first_seen = min``,
``last_seen = max``, ``merged_ids`` ∪) and neither overwrites the other.

Bounded size and the merge rule: a miner holds at most ``max_templates`` templates per
(tenant, service) (past that, a line joins its closest template instead of starting one), and a
load reads at most that many, most frequent first. When a template generalises its text and
therefore its id change; the new document lists the old ids in ``merged_ids`` and the old
document gets ``merged_into`` — the Patterns view and ``pattern:<id>`` searches map old ids to
the surviving one through it.

All calls are synchronous and made from one background thread (:class:`StoreWriter`) or once
per service at load, so the event loop never waits on OpenSearch per event.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

PATTERNS_INDEX = ".logharbor-patterns"

MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "tenant": {"type": "keyword"},
        "service": {"type": "keyword"},
        "template": {"type": "keyword", "ignore_above": 8191},
        "count": {"type": "long"},
        "first_seen": {"type": "date"},
        "last_seen": {"type": "date"},
        "merged_ids": {"type": "keyword"},
        "merged_into": {"type": "keyword"},
    },
}

_UPSERT = (
    "ctx._source.count = (ctx._source.count == null ? 0 : ctx._source.count) + params.delta;"
    "if (ctx._source.first_seen == null || ctx._source.first_seen.compareTo(params.first_seen) > 0)"
    " { ctx._source.first_seen = params.first_seen; }"
    "if (ctx._source.last_seen == null || ctx._source.last_seen.compareTo(params.last_seen) < 0)"
    " { ctx._source.last_seen = params.last_seen; }"
    "if (ctx._source.merged_ids == null) { ctx._source.merged_ids = []; }"
    "for (m in params.merged) { if (!ctx._source.merged_ids.contains(m)) { ctx._source.merged_ids.add(m); } }"
)


@dataclass(slots=True)
class PatternDelta:
    """What one worker learned about one pattern since its last write."""

    id: str
    tenant: str
    service: str
    template: str
    delta: int
    first_seen: str
    last_seen: str
    merged: list[str] = field(default_factory=list)


def ensure_index(client: Any, index: str = PATTERNS_INDEX) -> None:
    """Create the store index once (a second creator's 400 "already exists" is fine)."""
    if client.indices.exists(index=index):
        return
    try:
        client.indices.create(index=index, body={
            "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
            "mappings": MAPPINGS,
        })
    except Exception as exc:  # raced with another worker
        if "resource_already_exists" not in str(exc):
            raise


def load(client: Any, tenant: str, service: str, limit: int, index: str = PATTERNS_INDEX) -> list[dict[str, Any]]:
    """The stored templates of one (tenant, service), most frequent first, at most ``limit``."""
    if not client.indices.exists(index=index):
        return []
    body = {
        "size": limit,
        "query": {"bool": {"filter": [{"term": {"tenant": tenant}}, {"term": {"service": service}}],
                           "must_not": [{"exists": {"field": "merged_into"}}]}},
        "sort": [{"count": "desc"}],
        "_source": ["template", "count", "merged_ids"],
    }
    resp = client.search(index=index, body=body)
    return [hit["_source"] for hit in resp["hits"]["hits"]]


def write(client: Any, deltas: Iterable[PatternDelta], index: str = PATTERNS_INDEX, refresh: bool = False) -> int:
    """Scripted upserts of ``deltas`` (plus ``merged_into`` on absorbed ids); returns documents written."""
    lines: list[dict[str, Any]] = []
    for d in deltas:
        params = {"delta": d.delta, "first_seen": d.first_seen, "last_seen": d.last_seen, "merged": d.merged}
        lines.append({"update": {"_index": index, "_id": d.id, "retry_on_conflict": 5}})
        lines.append({"script": {"source": _UPSERT, "lang": "painless", "params": params},
                      "upsert": {"tenant": d.tenant, "service": d.service, "template": d.template,
                                 "count": d.delta, "first_seen": d.first_seen, "last_seen": d.last_seen,
                                 "merged_ids": d.merged}})
        for old in d.merged:
            lines.append({"update": {"_index": index, "_id": old, "retry_on_conflict": 5}})
            lines.append({"doc": {"merged_into": d.id}})
    if not lines:
        return 0
    ensure_index(client, index)
    resp = client.bulk(body=lines, refresh="true" if refresh else "false")
    if resp.get("errors"):
        bad = [i for i in resp["items"] if i.get("update", {}).get("status", 200) >= 300
               and i["update"].get("status") != 404]
        if bad:
            raise RuntimeError(f"pattern store write: {len(bad)} item(s) failed: {bad[0]}")
    return len(lines) // 2


class StoreWriter:
    """One background thread writing batches of deltas; a failed write is retried with the next."""

    def __init__(self, client: Any, index: str = PATTERNS_INDEX) -> None:
        self.client, self.index = client, index
        self.queue: queue.Queue[list[PatternDelta] | None] = queue.Queue(maxsize=64)
        self.pending: list[PatternDelta] = []
        self.failures = 0
        self.thread = threading.Thread(target=self._run, name="pattern-store", daemon=True)
        self.thread.start()

    def submit(self, deltas: list[PatternDelta]) -> bool:
        """Queue one batch; False (and the caller keeps its counts for later) when the queue is full."""
        try:
            self.queue.put_nowait(deltas)
            return True
        except queue.Full:
            return False

    def _run(self) -> None:
        while True:
            batch = self.queue.get()
            if batch is None:
                break
            self.pending.extend(batch)
            try:
                write(self.client, self.pending, self.index)
                self.pending = []
            except Exception:
                self.failures += 1
                log.warning("pattern store write failed; retrying with the next batch", exc_info=True)
                time.sleep(1.0)
            finally:
                self.queue.task_done()

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        self.queue.put(None)
        self.thread.join(timeout_s)
