"""Rollup partials: one document per (topic, partition, first offset) of a settled batch.

Why this scheme makes a worker crash neither lose nor double a window: the pipeline commits a
Kafka offset only after the batch up to it is settled (docs/ARCHITECTURE.md §3), and its sink settles and
commits batches one after the other. If the batch's partial is written before its offsets are
committed, then after a crash the records are redelivered from the committed offset + 1 —
exactly the ``start_offset`` of the last partial that may have been written without a commit.
The replay's first partial therefore has the *same document id* and replaces it whole (all
tenants, windows and dimensions of the range live in that one document, so nothing of the old
attempt survives beside it), whatever the new batch boundaries are; later partials start after
it. Several workers own disjoint partitions, so their partials never share an id; at query
time :func:`merge_rows` adds them up (counts exactly, sketches by their merge rules).

Rules (YAML, :class:`AggregationRules`): the windows (default 10 s and 1 min), count dimensions
(default service, level, pattern), the duration field and its dimensions (service, endpoint),
unique-count fields, and how long each window's partials are kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pipeline.streamagg.sketches import HyperLogLog, Moments, QuantileSketch

ROLLUP_INDEX = ".logharbor-stream-rollups"
MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "topic": {"type": "keyword"}, "partition": {"type": "integer"},
        "start_offset": {"type": "long"}, "end_offset": {"type": "long"},
        "tenants": {"type": "keyword"}, "windows": {"type": "integer"},
        "min_start": {"type": "date", "format": "epoch_millis"},
        "max_start": {"type": "date", "format": "epoch_millis"},
        "written_at": {"type": "date", "format": "epoch_millis"},
        "rows": {"type": "object", "enabled": False},
    },
}


class AggregationRules(BaseModel):
    """What to aggregate (the ``aggregation:`` YAML document)."""

    model_config = ConfigDict(extra="forbid")
    windows_s: list[int] = Field(default_factory=lambda: [10, 60])
    count_dimensions: list[str] = Field(default_factory=lambda: ["service.name", "log.level", "logharbor.pattern.id"])
    duration_field: str = "logharbor.duration_ms"
    duration_dimensions: list[str] = Field(default_factory=lambda: ["service.name", "url.path"])
    unique_fields: list[str] = Field(default_factory=lambda: ["user.id"])
    unique_dimensions: list[str] = Field(default_factory=lambda: ["service.name"])
    retention_days: dict[int, int] = Field(default_factory=lambda: {10: 2, 60: 30})

    @classmethod
    def from_yaml(cls, path: Path) -> AggregationRules:
        return cls.model_validate(yaml.safe_load(path.read_text()).get("aggregation") or {})


@dataclass(slots=True)
class Observation:
    """One settled event as the aggregator needs it: where it came from, whose, when, its fields."""

    partition: int
    offset: int
    tenant: str
    ts_ms: int
    fields: dict[str, Any]


@dataclass(slots=True)
class Cell:
    count: int = 0
    moments: Moments | None = None
    quantiles: QuantileSketch | None = None
    unique: dict[str, HyperLogLog] = field(default_factory=dict)


_MISSING = object()


def flat_get(doc: dict[str, Any], dotted: str) -> Any:
    """``doc["a"]["b"]`` for ``a.b`` in a nested document (or the flat key)."""
    value = doc.get(dotted, _MISSING)
    if value is not _MISSING:
        return value
    head, dot, _ = dotted.partition(".")
    if not dot or not isinstance(doc.get(head), dict):  # the pipeline's documents are flat: one probe
        return None
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def fold(observations: Iterable[Observation], rules: AggregationRules) -> dict[tuple, Cell]:
    """Cells keyed by (tenant, kind, window_s, window_start_ms, dims) for one batch.

    Why two passes: events first go into base cells of the windows' greatest common divisor
    (10 s for 10 s and 1 min) — one key and one dict update per event whatever the number of
    windows — and each base cell is then added to every window's cell (a base start floored to
    a window is the event's start floored to it, since the base divides every window). The
    duration sketch's bucket and the HyperLogLog hash are computed once per event, not per window.

    A duration (unique) cell counts the events that carry the value (a duration; any unique
    field), so events without one cost nothing here; the query side takes group counts from the
    count cells where it can (see ui/stream_rollup.py).
    """
    windows_ms = [w * 1000 for w in rules.windows_s]
    base_ms = math.gcd(*windows_ms) if windows_ms else 1
    count_names = rules.count_dimensions
    dur_field = rules.duration_field
    dur_names = rules.duration_dimensions
    uniq_fields = rules.unique_fields
    uniq_names = rules.unique_dimensions
    union = list(dict.fromkeys([*count_names, *dur_names, *uniq_names]))
    # first pass: one key and one dict update per event, over the union of all kinds' dimensions
    groups: dict[tuple, list[Any]] = {}  # (tenant, base, union dims) → [events, durations, {field: values},
    #                                      events with a unique value]
    dur_head = dur_field.partition(".")[0] if "." in dur_field else None
    uniq_heads = [(name, name.partition(".")[0] if "." in name else None) for name in uniq_fields]
    for obs in observations:
        f = obs.fields
        key = (obs.tenant, obs.ts_ms - obs.ts_ms % base_ms, _dims(f, union))
        g = groups.get(key)
        if g is None:
            g = groups[key] = [0, [], {}, 0]
        g[0] += 1
        duration = f.get(dur_field)
        if duration is None and dur_head is not None and type(f.get(dur_head)) is dict:
            duration = flat_get(f, dur_field)  # a nested document (the pipeline's are flat)
        if duration is not None and isinstance(duration, (int, float)) and not isinstance(duration, bool):
            g[1].append(float(duration))
        present = False
        for name, head in uniq_heads:
            value = f.get(name)
            if value is None and head is not None and type(f.get(head)) is dict:
                value = flat_get(f, name)
            if value is not None:
                g[2].setdefault(name, []).append(value)
                present = True
        if present:
            g[3] += 1
    # second pass: project each group onto each kind's dimensions
    pos = {name: i for i, name in enumerate(union)}
    count_at = [pos[n] for n in count_names]
    dur_at = [pos[n] for n in dur_names]
    uniq_at = [pos[n] for n in uniq_names]
    counts: dict[tuple, int] = {}
    durations: dict[tuple, list[Any]] = {}  # key → [events, values]
    uniques: dict[tuple, list[Any]] = {}  # key → [events, {field: values}]
    for (tenant, base, dims), (n, values, by_name, n_unique) in groups.items():
        ckey = (tenant, base, tuple([dims[i] for i in count_at]))
        counts[ckey] = counts.get(ckey, 0) + n
        if values:
            dkey = (tenant, base, tuple([dims[i] for i in dur_at]))
            acc = durations.get(dkey)
            if acc is None:
                acc = durations[dkey] = [0, []]
            acc[0] += len(values)
            acc[1].extend(values)
        if by_name:
            ukey = (tenant, base, tuple([dims[i] for i in uniq_at]))
            uacc = uniques.get(ukey)
            if uacc is None:
                uacc = uniques[ukey] = [0, {}]
            uacc[0] += n_unique
            for name, vals in by_name.items():
                uacc[1].setdefault(name, []).extend(vals)
    cells: dict[tuple, Cell] = {}
    for (tenant, base, dims), n in counts.items():
        for w, wms in zip(rules.windows_s, windows_ms, strict=True):
            ckey = (tenant, "count", w, base - base % wms, dims)
            cell = cells.get(ckey) or cells.setdefault(ckey, Cell())
            cell.count += n
    for (tenant, base, dims), (n, values) in durations.items():
        moments = sketch = None
        if values:
            moments, sketch = Moments(), QuantileSketch()
            for v in values:
                moments.add(v)
                sketch.add(v)
        for w, wms in zip(rules.windows_s, windows_ms, strict=True):
            ckey = (tenant, "duration", w, base - base % wms, dims)
            cell = cells.get(ckey) or cells.setdefault(ckey, Cell())
            cell.count += n
            if moments is None or sketch is None:
                continue
            if cell.moments is None or cell.quantiles is None:
                cell.moments, cell.quantiles = _copy_moments(moments), _copy_sketch(sketch)
            else:
                cell.moments.merge(moments)
                cell.quantiles.merge(sketch)
    for (tenant, base, dims), (n, by_name) in uniques.items():
        hlls = {}
        for name, values in by_name.items():
            h = HyperLogLog()
            for v in values:
                h.add(v)
            hlls[name] = h
        for w, wms in zip(rules.windows_s, windows_ms, strict=True):
            ckey = (tenant, "unique", w, base - base % wms, dims)
            cell = cells.get(ckey) or cells.setdefault(ckey, Cell())
            cell.count += n
            for name, h in hlls.items():
                mine = cell.unique.get(name)
                if mine is None:
                    cell.unique[name] = HyperLogLog(h.p, bytearray(h.registers))
                else:
                    mine.merge(h)
    return cells


def _dims(doc: dict[str, Any], names: Sequence[str]) -> tuple[str | None, ...]:
    """The dimension values as strings (None when absent): one ``get`` each on a flat document."""
    values = tuple(map(doc.get, names))
    for v in values:
        if type(v) is not str:
            return tuple([v if type(v) is str else _str(v if v is not None else _nested(doc, name))
                          for v, name in zip(values, names, strict=True)])
    return values


def _nested(doc: dict[str, Any], dotted: str) -> Any:
    """``flat_get`` for a key the flat lookup missed: one probe unless ``doc`` nests that path."""
    head, dot, _ = dotted.partition(".")
    if not dot or type(doc.get(head)) is not dict:
        return None
    return flat_get(doc, dotted)


def _copy_moments(m: Moments) -> Moments:
    return Moments(m.count, m.total, m.squares, m.low, m.high)


def _copy_sketch(q: QuantileSketch) -> QuantileSketch:
    return QuantileSketch(q.alpha, dict(q.buckets), q.zeros, q.count)


def _str(value: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def partial_documents(topic: str, observations: Sequence[Observation], rules: AggregationRules,
                      now_ms: int, first_offsets: dict[int, int] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(id, document) per partition of a settled batch: ``<topic>:<partition>:<first offset>``
    (``first_offsets``: the batch's first record offset per partition, if not its first observation's)."""
    by_partition: dict[int, list[Observation]] = {}
    for obs in observations:
        by_partition.setdefault(obs.partition, []).append(obs)
    out = []
    for partition, obs_list in sorted(by_partition.items()):
        cells = fold(obs_list, rules)
        rows = []
        for (tenant, kind, w, start, dims), cell in cells.items():
            names = {"count": rules.count_dimensions, "duration": rules.duration_dimensions,
                     "unique": rules.unique_dimensions}[kind]
            row: dict[str, Any] = {"tenant": tenant, "kind": kind, "w": w, "start": start,
                                   "dims": dict(zip(names, dims, strict=True)), "count": cell.count}
            if cell.moments is not None and cell.quantiles is not None:
                row["moments"] = cell.moments.to_json()
                row["quantiles"] = cell.quantiles.to_json()
            if cell.unique:
                row["unique"] = {name: h.to_json() for name, h in cell.unique.items()}
            rows.append(row)
        starts = [r["start"] for r in rows] or [0]
        first = min(o.offset for o in obs_list)
        if first_offsets and partition in first_offsets:
            first = min(first, first_offsets[partition])
        doc = {
            "topic": topic, "partition": partition,
            "start_offset": first, "end_offset": max(o.offset for o in obs_list),
            "tenants": sorted({o.tenant for o in obs_list}), "windows": sorted(set(rules.windows_s)),
            "min_start": min(starts), "max_start": max(starts), "written_at": now_ms, "rows": rows,
            "duration_field": rules.duration_field,  # what "moments"/"quantiles" are of (the query side checks)
        }
        out.append((f"{topic}:{partition}:{doc['start_offset']}", doc))
    return out


def ensure_index(client: Any, index: str = ROLLUP_INDEX) -> None:
    if client.indices.exists(index=index):
        return
    try:
        client.indices.create(index=index, body={
            "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
            "mappings": MAPPINGS})
    except Exception as exc:
        if "resource_already_exists" not in str(exc):
            raise


def write_partials(client: Any, docs: Sequence[tuple[str, dict[str, Any]]], index: str = ROLLUP_INDEX,
                   refresh: bool = False) -> None:
    """Index (overwrite) the partials; must return before the batch's offsets are committed."""
    if not docs:
        return
    ensure_index(client, index)
    body: list[dict[str, Any]] = []
    for doc_id, doc in docs:
        body.append({"index": {"_index": index, "_id": doc_id}})
        body.append(doc)
    resp = client.bulk(body=body, refresh="true" if refresh else "false")
    if resp.get("errors"):
        raise RuntimeError(f"rollup partial write failed: {resp['items'][0]}")


def read_rows(client: Any, tenant: str, kind: str, window_s: int, start_ms: int, end_ms: int,
              index: str = ROLLUP_INDEX) -> list[dict[str, Any]]:
    """Every partial row of ``tenant`` of one kind and window with ``start_ms ≤ start < end_ms``."""
    body = {"size": 10_000, "query": {"bool": {"filter": [
        {"term": {"tenants": tenant}}, {"term": {"windows": window_s}},
        {"range": {"max_start": {"gte": start_ms}}}, {"range": {"min_start": {"lt": end_ms}}}]}}}
    resp = client.search(index=index, body=body)
    rows = []
    for hit in resp["hits"]["hits"]:
        for row in hit["_source"]["rows"]:
            if (row["tenant"] == tenant and row["kind"] == kind and row["w"] == window_s
                    and start_ms <= row["start"] < end_ms):
                rows.append(row)
    return rows


def merge_rows(rows: Iterable[dict[str, Any]], group_by: Sequence[str], per_window: bool = False
               ) -> list[dict[str, Any]]:
    """Partials → one row per group (and window start if ``per_window``): count, stats, quantiles, uniques."""
    groups: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row["dims"].get(g) for g in group_by) + ((row["start"],) if per_window else ())
        acc = groups.get(key)
        if acc is None:
            acc = groups[key] = {"key": dict(zip(group_by, key, strict=False)), "count": 0,
                                 "_m": None, "_q": None, "_u": {}}
            if per_window:
                acc["key"]["start"] = row["start"]
        acc["count"] += row["count"]
        if "moments" in row:
            m, q = Moments.from_json(row["moments"]), QuantileSketch.from_json(row["quantiles"])
            if acc["_m"] is None:
                acc["_m"], acc["_q"] = m, q
            else:
                acc["_m"].merge(m)
                acc["_q"].merge(q)
        for name, data in (row.get("unique") or {}).items():
            h = HyperLogLog.from_json(data)
            if name in acc["_u"]:
                acc["_u"][name].merge(h)
            else:
                acc["_u"][name] = h
    out = []
    for acc in groups.values():
        m, q, u = acc.pop("_m"), acc.pop("_q"), acc.pop("_u")
        if m is not None:
            acc["stats"] = m.summary()
            acc["percentiles"] = q.quantiles()
        if u:
            acc["unique"] = {name: h.estimate() for name, h in u.items()}
        out.append(acc)
    out.sort(key=lambda r: -r["count"])
    return out
