"""Aggregate requests answered from the pipeline's streaming rollup (``.logharbor-stream-rollups``).

The pipeline (``pipeline.stream_aggregates``, :mod:`pipeline.streamagg`) writes, per settled
batch, partial cells per tenant and window (10 s and 1 min by default): event counts by
(service, level, pattern), duration moments + quantile sketches by (service, endpoint), and
HyperLogLogs of configured fields by service. A request is **covered** — answered by merging
those partials instead of aggregating every event again — when:

* the metric is rolled up: ``count`` / ``error_rate`` (count cells; ``error_rate`` needs
  ``log.level`` among the count dimensions); ``avg``, ``sum``, ``min``, ``max``, ``stats``,
  ``stddev``, ``percentiles`` of the rules' duration field; ``cardinality`` of a unique field;
* ``group_by`` and the ``level`` / ``source`` filters use only that kind's dimensions; no ``q``,
  no ``class``;
* ``from`` and ``to`` are on a boundary of a configured window, and ``interval`` (if any) is a
  whole number of that window (the largest such window is read);
* the rollup accounts for exactly the stored events of the range: its count equals a ``_count``
  of the events matching the same filters. This is what makes an answer "covered" rather than
  "probably covered": events indexed without the aggregating pipeline, a batch indexed but
  whose partial is not yet written, or events deleted by retention all make the two differ,
  and then the events answer. The ``_count`` is one cheap request; the aggregation it saves is
  the expensive part (percentiles, cardinality, many buckets).

Everything else is answered on demand (``"source": "events"``). Results have the same row shape
as :func:`opensearch.aggregate.flatten`; counts are exact, ``stats`` exact up to float rounding,
percentiles within the sketch's relative error (1 %), cardinality within HyperLogLog's (≈ 1.6 %
standard error; OpenSearch's own cardinality is itself approximate above 3,000).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logharbor import ecs
from opensearch.aggregate import ERROR_LEVELS, TIME_KEY
from pipeline.streamagg.rollup import ROLLUP_INDEX, AggregationRules
from pipeline.streamagg.sketches import HyperLogLog, Moments, QuantileSketch

DURATION_METRICS = frozenset({"avg", "sum", "min", "max", "stats", "stddev", "percentiles"})
MAX_PARTIALS = 5_000  # partial documents read per request; more → answered from events


@dataclass(slots=True)
class Plan:
    kind: str  # count | duration | unique
    window_s: int
    start_ms: int
    end_ms: int


def load_rules() -> AggregationRules:
    """The pipeline's aggregation rules (same setting: ``LOGHARBOR_PIPELINE_AGGREGATION_RULES_PATH``)."""
    return _rules(os.environ.get("LOGHARBOR_PIPELINE_AGGREGATION_RULES_PATH") or "")


@functools.lru_cache(maxsize=8)
def _rules(path: str) -> AggregationRules:
    return AggregationRules.from_yaml(Path(path)) if path else AggregationRules()


def plan(p: Any, interval_s: int | None, rules: AggregationRules) -> Plan | None:
    """Which rollup kind and window answer ``p`` (an :class:`ui.params.AggregateParams`), or None."""
    f = p.filters
    if f.query is not None or f.classes or f.start is None or f.end is None:
        return None
    if p.metric in ("count", "error_rate"):
        kind, dims = "count", rules.count_dimensions
        if p.metric == "error_rate" and ecs.LEVEL not in dims:
            return None
    elif p.metric in DURATION_METRICS:
        if p.field != rules.duration_field:
            return None
        kind, dims = "duration", rules.duration_dimensions
    elif p.metric == "cardinality":
        if p.field not in rules.unique_fields:
            return None
        kind, dims = "unique", rules.unique_dimensions
    else:
        return None
    filtered = ({ecs.LEVEL} if f.levels else set()) | ({ecs.SERVICE} if f.sources else set())
    if not (set(p.group_by) | filtered) <= set(dims) or not filtered <= set(rules.count_dimensions):
        return None  # (the total comes from the count cells, so filters must be count dimensions too)
    start_ms, end_ms = int(f.start.timestamp() * 1000), int(f.end.timestamp() * 1000)
    for w in sorted(set(rules.windows_s), reverse=True):
        wms = w * 1000
        if start_ms % wms or end_ms % wms or (interval_s is not None and (interval_s * 1000) % wms):
            continue
        return Plan(kind, w, start_ms, end_ms)
    return None


async def read_rows(client: Any, tenant: str, plan_: Plan, p: Any, rules: AggregationRules,
                    index: str = ROLLUP_INDEX) -> list[dict[str, Any]] | None:
    """The partial rows of every kind for the plan's window and range; None when they cannot
    answer: not all readable (no index yet, more than :data:`MAX_PARTIALS` partial documents), or
    written under other rules than this process reads (a dimension missing from a row, or
    durations of another field) — the ui and the pipeline must share the aggregation rules."""
    body = {"size": MAX_PARTIALS, "track_total_hits": True, "query": {"bool": {"filter": [
        {"term": {"tenants": tenant}}, {"term": {"windows": plan_.window_s}},
        {"range": {"max_start": {"gte": plan_.start_ms}}}, {"range": {"min_start": {"lt": plan_.end_ms}}}]}}}
    if not await client.indices.exists(index=index):
        return None
    if int((await client.count(index=index, body={"query": body["query"]}))["count"]) > MAX_PARTIALS:
        return None  # counted first: a long range of small batches is not fetched only to be refused
    resp = await client.search(index=index, body=body)
    hits = resp["hits"]["hits"]
    if int(resp["hits"]["total"]["value"]) > len(hits):
        return None
    default_field = AggregationRules().duration_field
    if plan_.kind == "duration" and any(h["_source"].get("duration_field", default_field) != p.field for h in hits):
        return None
    w = plan_.window_s
    rows = [row for hit in hits for row in hit["_source"]["rows"]
            if row["tenant"] == tenant and row["w"] == w and plan_.start_ms <= row["start"] < plan_.end_ms]
    return rows if consistent(rows, plan_, rules) else None


def consistent(rows: list[dict[str, Any]], plan_: Plan, rules: AggregationRules) -> bool:
    """Every count row and every row of the plan's kind has the dimensions the rules name."""
    names = {"count": rules.count_dimensions, "duration": rules.duration_dimensions,
             "unique": rules.unique_dimensions}
    for row in rows:
        kind = row["kind"]
        if kind in ("count", plan_.kind) and not set(names[kind]) <= row["dims"].keys():
            return False
    return True


def _passes(row: dict[str, Any], levels: Sequence[str], sources: Sequence[str]) -> bool:
    dims = row["dims"]
    if levels and dims.get(ecs.LEVEL) not in levels:
        return False
    return not (sources and dims.get(ecs.SERVICE) not in sources)


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Acc:
    __slots__ = ("count", "errors", "hll", "moments", "sketch")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.moments: Moments | None = None
        self.sketch: QuantileSketch | None = None
        self.hll: HyperLogLog | None = None

    def add(self, row: dict[str, Any], field: str | None) -> None:
        self.count += row["count"]
        if row["dims"].get(ecs.LEVEL) in ERROR_LEVELS:
            self.errors += row["count"]
        if "moments" in row:
            m, q = Moments.from_json(row["moments"]), QuantileSketch.from_json(row["quantiles"])
            if self.moments is None or self.sketch is None:
                self.moments, self.sketch = m, q
            else:
                self.moments.merge(m)
                self.sketch.merge(q)
        data = (row.get("unique") or {}).get(field or "")
        if data is not None:
            h = HyperLogLog.from_json(data)
            if self.hll is None:
                self.hll = h
            else:
                self.hll.merge(h)

    def value(self, metric: str, percents: Sequence[float]) -> Any:
        m = self.moments
        if metric == "count":
            return self.count
        if metric == "error_rate":
            return (self.errors / self.count) if self.count else None
        if metric == "cardinality":
            return self.hll.estimate() if self.hll is not None else 0
        n = m.count if m is not None else 0
        if metric == "stats":
            return {"count": n, "min": m.low if m and n else None, "max": m.high if m and n else None,
                    "avg": m.mean if m else None, "sum": m.total if m else 0.0, "stddev": m.stddev if m else None}
        if metric == "percentiles":
            return {str(float(pc)): (self.sketch.quantile(pc / 100) if self.sketch is not None and n else None)
                    for pc in percents}
        if m is None or not n:
            return 0.0 if metric == "sum" else None
        return {"avg": m.mean, "sum": m.total, "min": m.low, "max": m.high, "stddev": m.stddev}[metric]


def answer(rows: list[dict[str, Any]], p: Any, plan_: Plan, interval_s: int | None, count_dims: Sequence[str]
           ) -> tuple[int, list[dict[str, Any]]]:
    """(total events, rows like :func:`opensearch.aggregate.flatten`) from the partial rows.

    Group counts (and so the top-``size`` ranking) are those of all events, as a terms
    aggregation's: taken from the count cells while the grouping so far uses count dimensions
    only, else from the kind's cells — which count the events with a value, so the caller checks
    those equal the events carrying the grouping fields (:func:`own_dimensions`).
    """
    f = p.filters
    rows = [r for r in rows if r["w"] == plan_.window_s]
    kind_rows = [r for r in rows if r["kind"] == plan_.kind and _passes(r, f.levels, f.sources)]
    count_rows = [r for r in rows if r["kind"] == "count" and _passes(r, f.levels, f.sources)]
    total = sum(r["count"] for r in count_rows)
    group_by = list(p.group_by)
    counted = set(count_dims)
    interval_ms = interval_s * 1000 if interval_s else None
    out: list[dict[str, Any]] = []

    def by_value(subset: list[dict[str, Any]], name: str) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in subset:
            v = r["dims"].get(name)
            if v is not None:  # a terms aggregation leaves out events without the field
                groups.setdefault(v, []).append(r)
        return groups

    def walk(kinds: list[dict[str, Any]], counts: list[dict[str, Any]], depth: int, key: dict[str, Any]) -> None:
        use_counts = set(group_by[:depth + 1]) <= counted
        if depth < len(group_by):
            name = group_by[depth]
            kind_groups = by_value(kinds, name)
            count_groups = by_value(counts, name) if use_counts else {}
            ranked = count_groups if use_counts else kind_groups
            sizes = {v: sum(r["count"] for r in rs) for v, rs in ranked.items()}
            for v in sorted(sizes, key=lambda k: (-sizes[k], k))[: p.size]:
                walk(kind_groups.get(v, []), count_groups.get(v, []), depth + 1, {**key, name: v})
            return
        if interval_ms:
            first = plan_.start_ms - plan_.start_ms % interval_ms
            last = (plan_.end_ms - 1) - (plan_.end_ms - 1) % interval_ms
            buckets = {b: _Acc() for b in range(first, last + 1, interval_ms)}
            sizes = dict.fromkeys(buckets, 0)
            for r in kinds:
                buckets[r["start"] - r["start"] % interval_ms].add(r, p.field)
            for r in counts if use_counts else kinds:
                sizes[r["start"] - r["start"] % interval_ms] += r["count"]
            for b, acc in buckets.items():
                leaf(acc, {**key, TIME_KEY: _iso_ms(b)}, sizes[b])
            return
        acc = _Acc()
        for r in kinds:
            acc.add(r, p.field)
        leaf(acc, key, sum(r["count"] for r in counts) if use_counts else acc.count)

    def leaf(acc: _Acc, key: dict[str, Any], n: int) -> None:
        row: dict[str, Any] = {"key": key, "count": n, "value": acc.value(p.metric, p.percents)}
        if p.metric == "error_rate":
            row["errors"] = acc.errors
        out.append(row)

    walk(kind_rows, count_rows, 0, {})
    return total, out


def own_dimensions(p: Any, count_dims: Sequence[str]) -> list[str]:
    """``group_by`` fields that are not count dimensions (e.g. ``url.path``): their group counts
    come from the kind's cells, which hold only events with a value."""
    return [g for g in p.group_by if g not in count_dims]


def kind_count(rows: list[dict[str, Any]], p: Any, plan_: Plan, dims: Sequence[str]) -> int:
    """Events of the kind's cells carrying every one of ``dims`` (with the request's filters)."""
    f = p.filters
    return sum(r["count"] for r in rows if r["kind"] == plan_.kind and _passes(r, f.levels, f.sources)
               and all(r["dims"].get(d) is not None for d in dims))
