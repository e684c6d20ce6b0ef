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

from logharbor import ecs, levels

ERROR_LEVELS: tuple[str, ...] = tuple(lv for lv in levels.LEVELS if lv in levels.ERROR_LEVELS)
FIELD_METRICS: frozenset[str] = frozenset(
    {"avg", "sum", "min", "max", "stats", "stddev", "percentiles", "cardinality"})
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
    if metric in ("stats", "stddev"):  # extended_stats: the stats plus the (population) standard deviation
        return {"metric": {"extended_stats": {"field": field}}}
    return {"metric": {metric: {"field": field}}}


def build_aggs(metric: str, field: str | None, group_by: Sequence[str], size: int,
               interval: str | None, start: datetime | None, end: datetime | None,
               percents: Sequence[float] = (50, 95, 99)) -> dict[str, Any]:
    """Nested ``terms`` per group-by field (top ``size`` by count), then ``date_histogram``, then metric."""
    inner: dict[str, Any] = metric_aggs(metric, field, percents)
    if interval:
        hist: dict[str, Any] = {"field": ecs.TIMESTAMP, "fixed_interval": interval, "min_doc_count": 0}
        if start is not None and end is not None:
            hist["extended_bounds"] = {"min": _ms(start), "max": _ms(end) - 1}  # `to` is exclusive
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
        out = {k: agg.get(k) for k in ("count", "min", "max", "avg", "sum")}
        out["stddev"] = agg.get("std_deviation")
        return out
    if metric == "stddev":
        return agg.get("std_deviation")
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


# ---------------------------------------------------------------- hourly rollups
#
# Counts per (hour, service.name, log.level) in ``.logharbor-rollup-hourly-<tenant>``, built
# with a composite aggregation over the tenant's raw streams. A state document records up to
# where the rollup is complete; long-range ``count``/``error_rate`` queries read the rollup
# (a few dozen documents per hour) instead of aggregating every raw event again.

ROLLUP_PREFIX = ".logharbor-rollup-hourly-"
ROLLUP_FIELDS: frozenset[str] = frozenset({ecs.SERVICE, ecs.LEVEL})
STATE_ID = "_state"
HOUR_MS = 3_600_000

ROLLUP_MAPPING = {
    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
    "mappings": {"dynamic": "strict", "properties": {
        "@timestamp": {"type": "date"},
        "service": {"properties": {"name": {"type": "keyword"}}},
        "log": {"properties": {"level": {"type": "keyword"}}},
        "count": {"type": "long"},
        "run": {"type": "keyword"},
        "complete_until": {"type": "date"},
    }},
}


def rollup_index(tenant: str) -> str:
    return ROLLUP_PREFIX + tenant


def floor_hour_ms(ms: int) -> int:
    return ms - ms % HOUR_MS


def rollup_eligible(metric: str, group_by: Sequence[str], interval: str | None, has_query: bool,
                    classes: Sequence[str], start: datetime | None, end: datetime | None,
                    interval_s: int | None, min_range_s: int) -> bool:
    """Can the hourly rollup answer this exactly? Counts only, by service/level, whole hours."""
    if metric not in ("count", "error_rate") or has_query or classes:
        return False
    if not set(group_by) <= ROLLUP_FIELDS or start is None or end is None:
        return False
    if interval is not None and (interval_s is None or interval_s % 3600):
        return False
    start_ms, end_ms = _ms(start), _ms(end)
    if start_ms % HOUR_MS or end_ms % HOUR_MS:
        return False
    return end_ms - start_ms >= min_range_s * 1000


def build_rollup_aggs(metric: str, group_by: Sequence[str], size: int, interval: str | None,
                      start: datetime, end: datetime) -> dict[str, Any]:
    """Like :func:`build_aggs` over rollup documents: counts are ``sum(count)``, and terms are
    ordered by that sum so the top-N is the same as over raw events."""
    leaf: dict[str, Any] = {"n": {"sum": {"field": "count"}}}
    if metric == "error_rate":
        leaf["errors"] = {"filter": {"terms": {ecs.LEVEL: list(ERROR_LEVELS)}},
                          "aggs": {"n": {"sum": {"field": "count"}}}}
    inner = dict(leaf)
    if interval:
        inner = {"time": {"date_histogram": {
            "field": ecs.TIMESTAMP, "fixed_interval": interval, "min_doc_count": 0,
            "extended_bounds": {"min": _ms(start), "max": _ms(end) - 1}}, "aggs": leaf}}
    for depth in range(len(group_by) - 1, -1, -1):
        inner = {f"g{depth}": {"terms": {"field": group_by[depth], "size": size, "order": {"n": "desc"}},
                               "aggs": {**inner, "n": {"sum": {"field": "count"}}}}}
    return {**inner, "n": {"sum": {"field": "count"}}, **({"errors": leaf["errors"]} if "errors" in leaf else {})}


def flatten_rollup(metric: str, group_by: Sequence[str], interval: str | None,
                   aggregations: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """(total events, rows) from a rollup aggregation — the same rows :func:`flatten` gives."""
    def n(bucket: dict[str, Any]) -> int:
        return int(bucket.get("n", {}).get("value") or 0)

    def errors(bucket: dict[str, Any]) -> int:
        return int(bucket.get("errors", {}).get("n", {}).get("value") or 0)

    rows: list[dict[str, Any]] = []

    def leaf(bucket: dict[str, Any], key: dict[str, Any]) -> None:
        count = n(bucket)
        row: dict[str, Any] = {"key": key, "count": count, "value": count}
        if metric == "error_rate":
            row["errors"] = errors(bucket)
            row["value"] = (row["errors"] / count) if count else None
        rows.append(row)

    def walk(node: dict[str, Any], depth: int, key: dict[str, Any]) -> None:
        if depth < len(group_by):
            for b in node.get(f"g{depth}", {}).get("buckets", []):
                walk(b, depth + 1, {**key, group_by[depth]: b["key"]})
            return
        if interval:
            for b in node.get("time", {}).get("buckets", []):
                leaf(b, {**key, TIME_KEY: b.get("key_as_string") or b["key"]})
            return
        leaf(node, key)

    walk(aggregations, 0, {})
    return n(aggregations), rows


async def rollup_state(client: Any, tenant: str) -> int | None:
    """Epoch ms up to which the tenant's rollup is complete (None: no rollup yet)."""
    try:
        doc = await client.get(index=rollup_index(tenant), id=STATE_ID)
    except Exception as exc:  # NotFoundError for the index or the document
        if getattr(exc, "status_code", None) == 404:
            return None
        raise
    return int(doc["_source"]["complete_until"])


async def rollup_tenant(client: Any, tenant: str, indices: Sequence[str], now_ms: int,
                        lookback_hours: int = 3, run_id: str = "") -> dict[str, Any]:
    """Recompute hourly counts from the last complete point (minus ``lookback_hours``, to absorb
    late events) up to the last whole hour, replace that window's documents, advance the state.

    Idempotent (deterministic ids, per-run sweep of stale documents), so several ui processes
    running it at once only duplicate work.
    """
    from opensearchpy import helpers

    from logharbor.ids import stable_id

    index = rollup_index(tenant)
    if not await client.indices.exists(index=index):
        try:
            await client.indices.create(index=index, body=ROLLUP_MAPPING)
        except Exception as exc:  # a concurrent job created it
            if "resource_already_exists" not in str(exc):
                raise
    end_ms = floor_hour_ms(now_ms)
    done = await rollup_state(client, tenant)
    if done is None:
        first = await client.search(index=",".join(indices), body={
            "size": 0, "aggs": {"first": {"min": {"field": ecs.TIMESTAMP}}}},
            params={"ignore_unavailable": "true", "allow_no_indices": "true"})
        value = first["aggregations"]["first"]["value"]
        start_ms = floor_hour_ms(int(value)) if value is not None else end_ms
    else:
        start_ms = min(done, end_ms) - lookback_hours * HOUR_MS
    run = run_id or stable_id(tenant, start_ms, end_ms, now_ms)
    written = 0
    if start_ms < end_ms and indices:
        docs: list[dict[str, Any]] = []
        after = None
        while True:
            comp: dict[str, Any] = {"size": 1000, "sources": [
                {"h": {"date_histogram": {"field": ecs.TIMESTAMP, "fixed_interval": "1h"}}},
                {"s": {"terms": {"field": ecs.SERVICE, "missing_bucket": True}}},
                {"l": {"terms": {"field": ecs.LEVEL, "missing_bucket": True}}}]}
            if after:
                comp["after"] = after
            resp = await client.search(index=",".join(indices), body={
                "size": 0, "query": {"range": {ecs.TIMESTAMP: {"gte": start_ms, "lt": end_ms,
                                                                "format": "epoch_millis"}}},
                "aggs": {"c": {"composite": comp}}},
                params={"ignore_unavailable": "true", "allow_no_indices": "true"})
            agg = resp["aggregations"]["c"]
            for b in agg["buckets"]:
                k = b["key"]
                src: dict[str, Any] = {"@timestamp": k["h"], "count": b["doc_count"], "run": run}
                if k["s"] is not None:
                    src["service"] = {"name": k["s"]}
                if k["l"] is not None:
                    src["log"] = {"level": k["l"]}
                docs.append({"_index": index, "_id": stable_id(k["h"], k["s"], k["l"]), "_source": src})
            after = agg.get("after_key")
            if not agg["buckets"] or not after:
                break
        if docs:
            written, _ = await helpers.async_bulk(client, docs, refresh=False)
        # Groups that vanished from a recomputed hour (deleted events) must not linger.
        await client.delete_by_query(index=index, body={"query": {"bool": {
            "filter": [{"range": {ecs.TIMESTAMP: {"gte": start_ms, "lt": end_ms, "format": "epoch_millis"}}}],
            "must_not": [{"term": {"run": run}}]}}}, params={"refresh": "true", "conflicts": "proceed"})
    await client.index(index=index, id=STATE_ID, body={"complete_until": end_ms, "run": run},
                       refresh="true")
    return {"tenant": tenant, "from_ms": start_ms, "until_ms": end_ms, "documents": written}


# ---------------------------------------------------------------- the requests


_SEARCH_PARAMS = {"ignore_unavailable": "true", "allow_no_indices": "true", "pre_filter_shard_size": 1}


async def search_aggregate(client: Any, indices: Sequence[str], query: dict[str, Any], aggs: dict[str, Any] | None
                           ) -> tuple[int, dict[str, Any] | None]:
    """(matching events, the aggregations) of ``aggs`` over raw events matching ``query``."""
    body: dict[str, Any] = {"size": 0, "query": query, "track_total_hits": True}
    if aggs:
        body["aggs"] = aggs
    resp = await client.search(index=",".join(indices), body=body, params=_SEARCH_PARAMS)
    return int(resp["hits"]["total"]["value"]), resp.get("aggregations")


def rollup_query(start: datetime, end: datetime, levels: Sequence[str], sources: Sequence[str]) -> dict[str, Any]:
    """The rollup documents (hourly counts) of ``[start, end)`` with the level and source filters."""
    flt: list[dict[str, Any]] = [
        {"exists": {"field": "count"}},
        {"range": {ecs.TIMESTAMP: {"gte": start.isoformat(), "lt": end.isoformat()}}}]
    if levels:
        flt.append({"terms": {ecs.LEVEL: list(levels)}})
    if sources:
        flt.append({"terms": {ecs.SERVICE: list(sources)}})
    return {"bool": {"filter": flt}}


async def search_rollup(client: Any, tenant: str, query: dict[str, Any], aggs: dict[str, Any]) -> dict[str, Any]:
    """The aggregations of ``aggs`` over the tenant's rollup index."""
    resp = await client.search(index=rollup_index(tenant), body={"size": 0, "query": query, "aggs": aggs})
    return resp.get("aggregations", {})
