"""Flat event → the nested ECS document stored in OpenSearch and published to Kafka.

Names are decided by the field vocabulary (``logharbor.vocabulary.storage_path``, the same
function the query engine resolves with): aliases become their canonical ECS field with the
value typed per the vocabulary (a value that will not convert goes to ``_malformed`` as
``name=value`` and is counted in ``logharbor_pipeline_type_conflicts``), LogHarbor's derived
fields go to ``logharbor.*``, client names outside ECS to ``fields.*``. The values the API key
states (``labels.tenant``, ``service.name``, ``event.id``) are applied last, whatever the steps
or the event said, so nothing can move or hide an event.

One copy of the line (issue 13): ``event.original`` is kept only where it differs from
``message`` (an unparsed line is usually both). Free text searches both fields, so the answers
are the same; the copy cost ~190 B per event after compression (docs/STORAGE.md).

Nesting happens once here. Two shapes need a decision:
* a scalar and an object under one name (``user: bob`` and ``user.id: 7``): the scalar moves
  to ``user.value`` so neither is lost and the mapping stays an object;
* names OpenSearch reserves for metadata (``_id``, ``_source`` ...) get a ``field`` prefix.

A key set seen before takes the compiled fast path of :mod:`pipeline.docplan` (issue 13: the
walk below was ~20 µs per event); it gives the same document, key order included.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter

from logharbor import ecs, vocabulary
from pipeline.docplan import RESERVED, plan_for, segments
from pipeline.event import Event
from pipeline.timeparse import format_timestamp, parse_timestamp

MALFORMED = vocabulary.MALFORMED
TYPE_CONFLICTS = Counter(
    "logharbor_pipeline_type_conflicts",
    "Values whose type did not fit their vocabulary field (kept in _malformed)",
    ["field"],
)
_storage_path = vocabulary.storage_path
_ALIASES = vocabulary.ALIASES


def _canonical(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every name at its stored path (a new dict only when something moves)."""
    moves = [key for key in doc if _storage_path(key) != key]
    if not moves:
        return doc
    out = {key: value for key, value in doc.items() if _storage_path(key) == key}
    for key in moves:
        value = doc[key]
        path = _storage_path(key)
        term = _ALIASES.get(key)
        if term is not None and value is not None:
            ok, typed = vocabulary.coerce(term, value, key)
            if not ok:
                note = f"{key}={value!r}"[:1024]
                prev = out.get(MALFORMED)
                out[MALFORMED] = f"{prev}\n{note}" if prev else note
                TYPE_CONFLICTS.labels(term.field).inc()
                continue
            value = typed
        if path in out and out[path] != value:
            out[f"{vocabulary.CUSTOM}.{key}"] = value  # both said, differently: keep the one as sent too
            continue
        out[path] = value
    return out


def to_document(event: Event) -> dict[str, Any]:
    """The nested document for ``event`` (``@timestamp`` guaranteed, tags included).

    A key set seen before is built by its compiled plan (:mod:`pipeline.docplan`, same document);
    the rest, and the values a plan cannot place, by :func:`_general`.
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
    key = (tuple(doc), ecs.RAW in doc and doc[ecs.RAW] == doc.get(ecs.MESSAGE), bool(event.tags))
    plan = plan_for(key)
    if plan is not None:
        env = event.envelope
        out = plan.build(doc, env.tenant, env.source, env.id, list(event.tags))
        if out is not None:
            return out
    return _general(event)


def _general(event: Event) -> dict[str, Any]:
    """The nested document key by key: any key set, any values (``@timestamp`` already set).

    Inlined on purpose: this runs for ~20 keys per event.
    """
    doc = event.doc
    doc = _canonical(doc)
    out: dict[str, Any] = {}
    if ecs.RAW in doc and doc[ecs.RAW] == doc.get(ecs.MESSAGE):
        doc = {k: v for k, v in doc.items() if k != ecs.RAW}  # one copy of the line
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
        parents, leaf = segments(key)
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
    env = event.envelope  # what the key states, last: no event or step can restate or hide it
    _force(out, "labels", "tenant", env.tenant)
    _force(out, "service", "name", env.source)
    _force(out, "event", "id", env.id)
    return out


def _force(out: dict[str, Any], parent: str, leaf: str, value: Any) -> None:
    node = out.get(parent)
    if node.__class__ is not dict:
        node = out[parent] = {} if node is None else {"value": node}
    node[leaf] = value  # type: ignore[index]


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
