"""A tenant's sources and its ingest figures: the requests behind ``/api/v1/sources`` and ``/api/v1/metrics``.

Sources are the ``service.name`` values, with first/last seen, events in the last hour and day
and the error ratio of the last day — one terms aggregation. Metrics count events by arrival
(``event.ingested``, set by the pipeline; ``@timestamp`` for documents without it) over a
window, and storage per data stream from index stats.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from logharbor import ecs
from opensearch.aggregate import ERROR_LEVELS
from opensearch.search import data_stream_of

INGESTED = "event.ingested"
_IGNORE = {"ignore_unavailable": "true"}


def sources_body(now: datetime, max_sources: int) -> dict[str, Any]:
    hour, day = (now - timedelta(hours=1)).isoformat(), (now - timedelta(days=1)).isoformat()
    errors = {"filter": {"terms": {ecs.LEVEL: list(ERROR_LEVELS)}}}
    return {"size": 0, "aggs": {"s": {
        "terms": {"field": ecs.SERVICE, "size": max_sources},
        "aggs": {
            "first": {"min": {"field": ecs.TIMESTAMP}},
            "last": {"max": {"field": ecs.TIMESTAMP}},
            "hour": {"filter": {"range": {ecs.TIMESTAMP: {"gte": hour}}}},
            "day": {"filter": {"range": {ecs.TIMESTAMP: {"gte": day}}}, "aggs": {"errors": errors}},
        }}}}


def shape_sources(tenant: str, aggregations: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for b in aggregations.get("s", {}).get("buckets", []):
        day = b["day"]["doc_count"]
        rows.append({
            "source": b["key"],
            "tenant": tenant,
            "first_seen": b["first"].get("value_as_string"),
            "last_seen": b["last"].get("value_as_string"),
            "events_total": b["doc_count"],
            "events_last_hour": b["hour"]["doc_count"],
            "events_last_day": day,
            "error_ratio": (b["day"]["errors"]["doc_count"] / day) if day else None,
        })
    return rows


async def source_stats(client: Any, indices: Sequence[str], tenant: str, now: datetime, max_sources: int
                       ) -> list[dict[str, Any]]:
    resp = await client.search(index=",".join(indices), body=sources_body(now, max_sources), params=_IGNORE)
    return shape_sources(tenant, resp.get("aggregations", {}))


def arrived_since(start: str) -> dict[str, Any]:
    """Events that arrived since ``start``: by ``event.ingested`` (set by the pipeline), falling
    back to ``@timestamp`` for documents without it — a rate by arrival, not by event time."""
    return {"bool": {"minimum_should_match": 1, "should": [
        {"range": {INGESTED: {"gte": start}}},
        {"bool": {"must_not": {"exists": {"field": INGESTED}},
                  "filter": {"range": {ecs.TIMESTAMP: {"gte": start}}}}},
    ]}}


def shape_storage(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Index stats of backing indices → one row per data stream."""
    by_stream: dict[str, dict[str, Any]] = {}
    for index, s in (stats.get("indices") or {}).items():
        row = by_stream.setdefault(data_stream_of(index), {
            "data_stream": data_stream_of(index), "docs": 0, "store_bytes": 0,
            "primary_store_bytes": 0, "backing_indices": 0})
        row["docs"] += int(s["primaries"].get("docs", {}).get("count", 0))
        row["store_bytes"] += int(s["total"].get("store", {}).get("size_in_bytes", 0))
        row["primary_store_bytes"] += int(s["primaries"].get("store", {}).get("size_in_bytes", 0))
        row["backing_indices"] += 1
    return sorted(by_stream.values(), key=lambda r: r["data_stream"])


async def ingest_stats(client: Any, indices: Sequence[str], since: datetime
                       ) -> tuple[int, int, list[dict[str, Any]]]:
    """(events arrived since ``since``, of which errors, storage rows per data stream)."""
    body = {"size": 0, "track_total_hits": True, "query": arrived_since(since.isoformat()),
            "aggs": {"errors": {"filter": {"terms": {ecs.LEVEL: list(ERROR_LEVELS)}}}}}
    names = ",".join(indices)
    resp = await client.search(index=names, body=body, params=_IGNORE)
    stats = await client.indices.stats(index=names, metric="docs,store", params=_IGNORE)
    events = int(resp["hits"]["total"]["value"])
    errors = int(resp["aggregations"]["errors"]["doc_count"])
    return events, errors, shape_storage(stats)
