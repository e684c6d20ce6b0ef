"""Ingestion watermarks: how far the pipeline has indexed, per raw-topic partition.

The pipeline writes one small document per (consumer group, topic, partition) at most once a
second: the Kafka timestamp of the last record it settled and whether the partition was caught
up (nothing left to read). The alert evaluator reads them to decide which windows are complete:
the watermark is the minimum over partitions of "now" for a caught-up partition (as of its
write) and the last settled record's time for a lagging one. Documents ``_id`` =
``group|topic|partition``, so a partition moving to another worker keeps one document.
"""

from __future__ import annotations

from typing import Any

from opensearchpy import AsyncOpenSearch, NotFoundError

from opensearch.alerts_store import WATERMARKS, ensure_indices


async def write_watermarks(client: AsyncOpenSearch, group: str, marks: list[dict[str, Any]]) -> None:
    """Upsert the given partitions' marks (``topic``, ``partition``, ``record_ts``, ``caught_up``, ``updated_at``)."""
    if not marks:
        return
    body: list[dict[str, Any]] = []
    for m in marks:
        doc_id = f"{group}|{m['topic']}|{m['partition']}"
        body += [{"index": {"_index": WATERMARKS, "_id": doc_id}}, {"group": group, **m}]
    try:
        await client.bulk(body=body)
    except NotFoundError:
        await ensure_indices(client, (WATERMARKS,))
        await client.bulk(body=body)


async def read_watermark(client: AsyncOpenSearch, group: str) -> tuple[int | None, int]:
    """(watermark in epoch ms or None when the group never wrote one, number of partitions seen)."""
    try:
        resp = await client.search(index=WATERMARKS, body={"size": 1000, "query": {"term": {"group": group}}})
    except NotFoundError:
        return None, 0
    hits = [h["_source"] for h in resp["hits"]["hits"]]
    if not hits:
        return None, 0
    marks = [h["updated_at"] if h.get("caught_up") else min(h.get("record_ts") or 0, h["updated_at"]) for h in hits]
    return min(marks), len(hits)
