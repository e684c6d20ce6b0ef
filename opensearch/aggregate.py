"""Aggregations: metric × group-by × time series, built as OpenSearch DSL and flattened to rows.

The request shape is LogHarbor's (``metric``, ``field``, ``group_by``, ``interval``); the
answer is a flat list of rows ``{"key": {...}, "count": n, "value": ...}`` so a client can draw
a table or a chart without walking nested buckets. ``error_rate`` is the ratio of two counts
in the same bucket (ERROR+FATAL over all), computed here rather than with a bucket script so
an empty bucket gives ``null`` instead of a division error.

Rollups: counts by service and level per hour are what long-range dashboards ask for; a
rollup index ``.logharbor-rollup-hourly-<tenant>`` (docs/API.md) would serve ``metric=count``
or ``error_rate`` with ``group_by`` ⊆ {service.name, log.level} and an interval of 1h or more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from logharbor import ecs

ERROR_LEVELS: tuple[str, ...] = ("ERROR", "FATAL")
FIELD_METRICS: frozenset[str] = frozenset({"avg", "sum", "min", "max", "stats", "percentiles", "cardinality"})
TIME_KEY = ecs.TIMESTAMP


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def metric_aggs(metric: str, field: str | None, percents: Sequence[float]) -> dict[str, Any]:
    """The leaf aggregation(s) computing ``metric`` inside a bucket (none for ``count``)."""
    if metric == "count":
        return {}
    if metric == "error_rate":
        return {"errors": {"filter": {"terms": {ecs.LEVEL: list(ERROR_LEVELS)}}}}
    if metric not in FIELD_METRICS or not field:
        raise ValueError(f"metric {metric!r} needs a field")
    if metric == "percentiles":
        return {"metric": {"percentiles": {"field": field, "percents": list(percents)}}}
    return {"metric": {metric: {"field": field}}}


def build_aggs(metric: str, field: str | None, group_by: Sequence[str], size: int,
               interval: str | None, start: datetime | None, end: datetime | None,
               percents: Sequence[float] = (50, 95, 99)) -> dict[str, Any]:
    """Nested ``terms`` per group-by field (top ``size`` by count), then ``date_histogram``, then metric."""
    inner: dict[str, Any] = metric_aggs(metric, field, percents)
    if interval:
        hist: dict[str, Any] = {"field": ecs.TIMESTAMP, "fixed_interval": interval, "min_doc_count": 0}
        if start is not None and end is not None:
            hist["extended_bounds"] = {"min": _ms(start), "max": _ms(end)}
        node: dict[str, Any] = {"date_histogram": hist}
        if inner:
            node["aggs"] = inner
        inner = {"time": node}
    for depth in range(len(group_by) - 1, -1, -1):
        node = {"terms": {"field": group_by[depth], "size": size}}
        if inner:
            node["aggs"] = inner
        inner = {f"g{depth}": node}
    return inner


def _value(metric: str, bucket: dict[str, Any], count: int) -> Any:
    if metric == "count":
        return count
    if metric == "error_rate":
        errors = bucket.get("errors", {}).get("doc_count", 0)
        return (errors / count) if count else None
    agg = bucket.get("metric", {})
    if metric == "stats":
        return {k: agg.get(k) for k in ("count", "min", "max", "avg", "sum")}
    if metric == "percentiles":
        return agg.get("values", {})
    return agg.get("value")


def flatten(metric: str, group_by: Sequence[str], interval: str | None,
            aggregations: dict[str, Any] | None, total: int) -> list[dict[str, Any]]:
    """Walk the bucket tree into rows ``{"key": {field: value, "@timestamp": iso}, "count", "value"}``."""
    rows: list[dict[str, Any]] = []
    aggregations = aggregations or {}

    def leaf(bucket: dict[str, Any], key: dict[str, Any], count: int) -> None:
        row: dict[str, Any] = {"key": key, "count": count, "value": _value(metric, bucket, count)}
        if metric == "error_rate":
            row["errors"] = bucket.get("errors", {}).get("doc_count", 0)
        rows.append(row)

    def walk(node: dict[str, Any], depth: int, key: dict[str, Any], count: int) -> None:
        if depth < len(group_by):
            for b in node.get(f"g{depth}", {}).get("buckets", []):
                walk(b, depth + 1, {**key, group_by[depth]: b["key"]}, b["doc_count"])
            return
        if interval:
            for b in node.get("time", {}).get("buckets", []):
                leaf(b, {**key, TIME_KEY: b.get("key_as_string") or b["key"]}, b["doc_count"])
            return
        leaf(node, key, count)

    walk(aggregations, 0, {}, total)
    return rows


def bucket_estimate(group_by_sizes: Sequence[int], time_buckets: int) -> int:
    """Upper bound on the buckets a request can create, checked before sending it."""
    n = max(time_buckets, 1)
    for size in group_by_sizes:
        n *= size
    return n
