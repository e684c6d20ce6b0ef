"""Which fields a tenant's events have, their types, and their most common values.

Behind ``GET /api/v1/fields`` (and the search page's field sidebar): the mappings of the
tenant's data streams merged into one {dotted field: types} table, and a ``sampler``
aggregation that takes the top values of up to 100 aggregatable fields among the events
matching the current filters — sampled per shard, so the sidebar stays cheap on large indices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

AGGREGATABLE = frozenset({
    "keyword", "ip", "long", "integer", "short", "byte", "double", "float", "half_float",
    "scaled_float", "boolean", "date", "unsigned_long", "constant_keyword",
})
MAX_TOP_FIELDS = 100


# Storage variants of one query type, reported as that type: a data stream whose older backing
# indices map ``message`` as ``text`` and newer ones as ``match_only_text`` (issue 13's lean
# mapping) has one full-text field, not two disagreeing ones.
REPORTED_AS = {"match_only_text": "text"}


def merge_mapping_types(mappings: dict[str, Any]) -> dict[str, set[str]]:
    """``get_mapping`` of several indices → {dotted field: {types}} (multi-fields included)."""
    out: dict[str, set[str]] = {}

    def kind(spec: dict[str, Any]) -> str:
        t = spec.get("type", "object")
        return REPORTED_AS.get(t, t)

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            path = prefix + name
            if "properties" in spec:
                walk(spec["properties"], path + ".")
                continue
            out.setdefault(path, set()).add(kind(spec))
            for sub, sub_spec in (spec.get("fields") or {}).items():
                out.setdefault(f"{path}.{sub}", set()).add(kind(sub_spec))

    for index_mapping in mappings.values():
        walk(index_mapping.get("mappings", {}).get("properties", {}), "")
    return out


async def mapping_types(client: Any, indices: Sequence[str]) -> dict[str, set[str]]:
    return merge_mapping_types(await client.indices.get_mapping(index=",".join(indices)))


def top_value_candidates(types: dict[str, set[str]]) -> list[str]:
    """The fields whose top values are worth asking for (aggregatable), in name order, at most 100."""
    return [n for n, t in sorted(types.items()) if t & AGGREGATABLE][:MAX_TOP_FIELDS]


async def top_values(client: Any, indices: Sequence[str], query: dict[str, Any], fields: Sequence[str], k: int,
                     sample_size: int) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """(events sampled, {field: [{"value", "count"}, ...]}) among the events matching ``query``."""
    aggs = {f"f{i}": {"terms": {"field": n, "size": k}} for i, n in enumerate(fields)}
    body = {"size": 0, "query": query, "aggs": {
        "sample": {"sampler": {"shard_size": sample_size}, "aggs": aggs}}}
    resp = await client.search(index=",".join(indices), body=body, params={"ignore_unavailable": "true"})
    sample = resp.get("aggregations", {}).get("sample", {})
    top: dict[str, list[dict[str, Any]]] = {}
    for i, n in enumerate(fields):
        buckets = sample.get(f"f{i}", {}).get("buckets", [])
        top[n] = [{"value": b.get("key_as_string", b["key"]), "count": b["doc_count"]} for b in buckets]
    return int(sample.get("doc_count", 0)), top


def shape_fields(types: dict[str, set[str]], top: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per field: its type (a list when the streams disagree) and its top values."""
    return [{"name": n, "type": sorted(t)[0] if len(t) == 1 else sorted(t), "top_values": top.get(n, [])}
            for n, t in sorted(types.items())]
