"""Flat event → the nested ECS document stored in OpenSearch and published to Kafka.

Nesting happens once here. Two shapes need a decision:
* a scalar and an object under one name (``user: bob`` and ``user.id: 7``): the scalar moves
  to ``user.value`` so neither is lost and the mapping stays an object;
* names OpenSearch reserves for metadata (``_id``, ``_source`` ...) get a ``field`` prefix.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from logharbor import ecs
from pipeline.event import Event
from pipeline.timeparse import format_timestamp, parse_timestamp

RESERVED = frozenset(
    {
        "_id",
        "_index",
        "_source",
        "_routing",
        "_type",
        "_version",
        "_seq_no",
        "_primary_term",
        "_field_names",
        "_ignored",
        "_doc_count",
        "_data_stream_timestamp",
        "_tier",
        "_size",
        "_meta",
    }
)
MALFORMED = "_malformed"


_SEGMENTS: dict[str, tuple[tuple[str, ...], str]] = {}


def _segments(key: str) -> tuple[tuple[str, ...], str]:
    """(parent path, leaf) of a dotted key; cached, because the same keys recur in every event."""
    found = _SEGMENTS.get(key)
    if found is not None:
        return found
    parts = key.split(".")
    if "" in parts:  # "a..b", ".a", "a." — keep every value, under "_" for the empty name
        parts = [p or "_" for p in parts]
    if parts[0] in RESERVED:
        parts[0] = "field" + parts[0]
    found = (tuple(parts[:-1]), parts[-1])
    if len(_SEGMENTS) < 50_000:
        _SEGMENTS[key] = found
    return found


def to_document(event: Event) -> dict[str, Any]:
    """The nested document for ``event`` (``@timestamp`` guaranteed, tags included).

    Inlined on purpose: this runs for ~20 keys per event and is the largest cost after parsing.
    """
    doc = event.doc
    if ecs.TIMESTAMP not in doc:
        ts = (
            event.ts
            or parse_timestamp(event.envelope.timestamp)
            or parse_timestamp(event.envelope.received_at)
            or datetime.now(UTC)
        )
        doc[ecs.TIMESTAMP] = format_timestamp(ts)
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if "." not in key:
            if key[:1] == "_" and key in RESERVED:
                key = "field" + key
            existing = out.get(key)
            if existing.__class__ is dict and value.__class__ is not dict:
                existing["value"] = value  # type: ignore[index]
            else:
                out[key] = value
            continue
        parents, leaf = _SEGMENTS.get(key) or _segments(key)
        node = out
        for part in parents:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif child.__class__ is not dict:
                child = node[part] = {"value": child}
            node = child
        existing = node.get(leaf)
        if existing.__class__ is dict and value.__class__ is not dict:
            existing["value"] = value  # type: ignore[index]
        else:
            node[leaf] = value
    if event.tags:
        out[ecs.TAGS] = list(event.tags)
    return out


def get_path(document: dict[str, Any], path: str) -> Any:
    """The value at a dotted path in a nested document (None if absent)."""
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def pop_path(document: dict[str, Any], path: str) -> tuple[bool, Any]:
    """Remove the value at a dotted path (also accepts a literal dotted key); (found, value)."""
    if path in document:
        return True, document.pop(path)
    parts = path.split(".")
    node: Any = document
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    if isinstance(node, dict) and parts[-1] in node:
        return True, node.pop(parts[-1])
    return False, None
