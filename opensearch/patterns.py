"""Patterns over a time range: the request bodies behind ``/api/v1/patterns`` and the Patterns view.

One search over the tenant's events (``terms`` on ``logharbor.pattern.id``, each with its
template, a ``date_histogram`` for the sparkline and a ``terms`` on ``log.level`` for the level
mix) and one over the store ``.logharbor-patterns`` for when each pattern was first seen —
the store knows it across the whole retention (and across workers), the events only within
the range. Why two calls and not one: the store is a system index the events query must never
reach (tenant isolation is by index); the ids found in the first call bound the second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from logharbor import ecs

PATTERN_ID = "logharbor.pattern.id"
PATTERN_TEMPLATE = "logharbor.pattern.template"
STORE_INDEX = ".logharbor-patterns"


def build_pattern_aggs(size: int, interval: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Top ``size`` patterns by count, each with template, sparkline buckets and level mix."""
    return {
        "patterns": {
            "terms": {"field": PATTERN_ID, "size": size},
            "aggs": {
                "template": {"terms": {"field": PATTERN_TEMPLATE, "size": 1}},
                "service": {"terms": {"field": ecs.SERVICE, "size": 1}},
                "levels": {"terms": {"field": ecs.LEVEL, "size": 8}},
                "first": {"min": {"field": ecs.TIMESTAMP}},
                "spark": {"date_histogram": {
                    "field": ecs.TIMESTAMP, "fixed_interval": interval, "min_doc_count": 0,
                    "extended_bounds": {"min": int(start.timestamp() * 1000), "max": int(end.timestamp() * 1000) - 1},
                }},
            },
        },
        "distinct": {"cardinality": {"field": PATTERN_ID}},
    }


def flatten_patterns(aggregations: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows ``{id, template, service, count, levels: {level: n}, sparkline: [n, ...], first_in_range}``."""
    rows = []
    for b in aggregations.get("patterns", {}).get("buckets", []):
        tpl = b.get("template", {}).get("buckets", [])
        svc = b.get("service", {}).get("buckets", [])
        rows.append({
            "id": b["key"],
            "template": tpl[0]["key"] if tpl else None,
            "service": svc[0]["key"] if svc else None,
            "count": b["doc_count"],
            "levels": {lb["key"]: lb["doc_count"] for lb in b.get("levels", {}).get("buckets", [])},
            "sparkline": [sb["doc_count"] for sb in b.get("spark", {}).get("buckets", [])],
            "first_in_range": b.get("first", {}).get("value_as_string"),
        })
    return rows


async def first_seen(client: Any, tenant: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Store documents of ``ids`` of ``tenant``: ``{id: {first_seen, template, merged_ids}}`` (missing store → {})."""
    if not ids:
        return {}
    body = {"size": len(ids), "query": {"bool": {"filter": [{"term": {"tenant": tenant}}, {"ids": {"values": ids}}]}},
            "_source": ["first_seen", "template", "merged_ids"]}
    try:
        resp = await client.search(index=STORE_INDEX, body=body)
    except Exception as exc:  # no pattern step has run yet: no store
        if "index_not_found" in str(exc):
            return {}
        raise
    return {hit["_id"]: hit["_source"] for hit in resp["hits"]["hits"]}
