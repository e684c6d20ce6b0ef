"""``/api/v1/patterns`` and the Patterns view: which statements a tenant's logs make, how often.

Both the JSON endpoint and the page (ui/web/patterns_page.py) call :func:`pattern_summary`,
so the page is a view of the JSON. Parameters are the search filters (``q``, ``level``,
``source``, ``from``, ``to``, ``class``) plus ``size`` (patterns, default 50, at most 500) and
``buckets`` (sparkline points, default 24). A pattern is *new* when the store's ``first_seen``
(across all time and workers) lies in the range.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearch import patterns as pat
from opensearch.aggregate import search_aggregate
from ui.api import QueryService, filters_query, opensearch_errors
from ui.auth import Principal
from ui.params import parse_filters, parse_int


def _interval(start: datetime, end: datetime, buckets: int) -> str:
    seconds = max(1, int((end - start).total_seconds() // buckets))
    return f"{seconds}s"


async def pattern_summary(service: QueryService, principal: Principal, query: Mapping[str, str],
                          now: datetime | None = None) -> dict[str, Any]:
    """Patterns in the range: count, template, sparkline, level mix, first seen, new flag, search link."""
    t0 = time.perf_counter()
    now = now or datetime.now(UTC)
    q = dict(query)
    q.setdefault("from", "now-24h")
    f = parse_filters(q, now, service.settings)
    f.start = f.start or now - timedelta(hours=24)
    f.end = f.end or now
    size = parse_int(q, "size", 50, 1, 500)
    buckets = parse_int(q, "buckets", 24, 2, 200)
    interval = _interval(f.start, f.end, buckets)
    out: dict[str, Any] = {"from": f.start.isoformat(), "to": f.end.isoformat(), "interval": interval}
    indices = await service._indices(principal, f)
    if not indices:
        return {**out, "total": 0, "distinct": 0, "patterns": [], "took_ms": int((time.perf_counter() - t0) * 1000)}
    aggs = pat.build_pattern_aggs(size, interval, f.start, f.end)
    with opensearch_errors():
        total, aggregations = await search_aggregate(service.client, indices, filters_query(f), aggs)
        rows = pat.flatten_patterns(aggregations or {})
        stored = await pat.first_seen(service.client, principal.tenant, [r["id"] for r in rows])
    for row in rows:
        doc = stored.get(row["id"], {})
        row["first_seen"] = doc.get("first_seen") or row["first_in_range"]
        row["merged_ids"] = doc.get("merged_ids") or []
        row["template"] = row["template"] or doc.get("template")
        first = _parse(row["first_seen"])
        row["new"] = first is not None and first >= f.start
        ids = [row["id"], *row["merged_ids"]]
        row["search"] = "pattern:" + (ids[0] if len(ids) == 1 else "(" + " OR ".join(ids) + ")")
    rows.sort(key=lambda r: (not r["new"], -r["count"]))
    distinct = (aggregations or {}).get("distinct", {}).get("value", len(rows))
    return {**out, "total": total, "distinct": distinct, "patterns": rows,
            "took_ms": int((time.perf_counter() - t0) * 1000)}


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
