"""An alert rule's query + condition over one window → one OpenSearch search, and back.

The rule's query is parsed by the search engine's parser and compiled by its DSL compiler
(opensearch/query), restricted to ``[window_end - window, window_end)`` on ``@timestamp``; the
condition becomes aggregations: ``count`` (doc counts per group), ``rate`` (a ``filter``
sub-aggregation of the rule query inside the denominator — ``of``, default every event — as a
percentage), ``metric`` (avg/max/min/sum, p95/p99 as ``percentiles``, unique as ``cardinality``).
Groups are ``terms`` (one field) or ``multi_terms`` (several), the top ``max_groups`` by count.
One request per rule and window; the caller picks the tenant's indices.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opensearch.query import compile_query, parse

_SIMPLE = {"avg": "avg", "max": "max", "min": "min", "sum": "sum", "unique": "cardinality"}
_PCT = {"p95": 95.0, "p99": 99.0}


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def window_query(text: str, start_ms: int, end_ms: int) -> dict[str, Any]:
    """The compiled ``query`` clause for ``text`` within ``[start_ms, end_ms)``."""
    return compile_query(parse(text).within(_dt(start_ms), _dt(end_ms)))


def _metric_agg(metric: dict[str, Any]) -> dict[str, Any]:
    agg, fld = metric["agg"], metric["field"]
    if agg in _PCT:
        return {"percentiles": {"field": fld, "percents": [_PCT[agg]]}}
    return {_SIMPLE[agg]: {"field": fld}}


def build_search(condition: dict[str, Any], query: str, start_ms: int, end_ms: int,
                 max_groups: int) -> dict[str, Any]:
    """The search body evaluating ``condition`` over the window."""
    kind = condition.get("type", "count")
    group_by = list(condition.get("group_by") or [])
    leaf: dict[str, Any] = {}
    if kind == "rate":
        base = window_query(condition.get("of") or "", start_ms, end_ms)
        leaf = {"hits": {"filter": compile_query(parse(query))}}
    else:
        base = window_query(query, start_ms, end_ms)
        if kind == "metric":
            leaf = {"m": _metric_agg(condition["metric"])}
    body: dict[str, Any] = {"size": 0, "track_total_hits": True, "query": base}
    if group_by:
        if len(group_by) == 1:
            grp: dict[str, Any] = {"terms": {"field": group_by[0], "size": max_groups}}
        else:
            grp = {"multi_terms": {"terms": [{"field": f} for f in group_by], "size": max_groups}}
        if leaf:
            grp["aggs"] = leaf
        body["aggs"] = {"groups": grp}
    elif leaf:
        body["aggs"] = leaf
    return body


def _value(kind: str, metric: dict[str, Any] | None, bucket: dict[str, Any], count: int) -> float | None:
    if kind == "count":
        return float(count)
    if kind == "rate":
        hits = bucket.get("hits", {}).get("doc_count", 0)
        return 100.0 * hits / count if count else None
    m = bucket.get("m", {})
    if metric and metric["agg"] in _PCT:
        values = m.get("values") or {}
        v = next(iter(values.values()), None) if values else None
        return float(v) if v is not None else None
    v = m.get("value")
    return float(v) if v is not None else None


def group_key(group: dict[str, Any]) -> str:
    """A stable text key for a group's labels (``service.name=api,host.name=h1``; ``*`` = no group).

    Defined here, below ``alerting`` (which re-exports it from ``alerting.rules``): the query
    layer shapes the groups and must not import the evaluator above it."""
    if not group:
        return "*"
    return ",".join(f"{k}={group[k]}" for k in sorted(group))


def parse_search(condition: dict[str, Any], resp: dict[str, Any]) -> dict[str, tuple[dict[str, Any], float | None]]:
    """Group key → (labels, value) for one window's response (key ``*`` without group_by)."""
    kind = condition.get("type", "count")
    metric = condition.get("metric")
    group_by = list(condition.get("group_by") or [])
    aggs = resp.get("aggregations") or {}
    if not group_by:
        total = resp["hits"]["total"]["value"]
        return {"*": ({}, _value(kind, metric, aggs, total))}
    out: dict[str, tuple[dict[str, Any], float | None]] = {}
    for b in aggs.get("groups", {}).get("buckets", []):
        key = b["key"] if isinstance(b["key"], list) else [b.get("key_as_string", b["key"])]
        labels = dict(zip(group_by, key, strict=False))
        out[group_key(labels)] = (labels, _value(kind, metric, b, b["doc_count"]))
    return out


def preview_search(query: str, start_ms: int, end_ms: int, interval: str) -> dict[str, Any]:
    """Counts of the query per ``interval`` bucket (the builder's live preview)."""
    return {"size": 0, "track_total_hits": True, "query": window_query(query, start_ms, end_ms),
            "aggs": {"t": {"date_histogram": {"field": "@timestamp", "fixed_interval": interval, "min_doc_count": 0,
                                              "extended_bounds": {"min": start_ms, "max": end_ms - 1}}}}}
