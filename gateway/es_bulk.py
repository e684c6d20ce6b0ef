"""Elasticsearch ``_bulk`` as Filebeat, Logstash, Vector, Fluent Bit, rsyslog, syslog-ng and the
Elasticsearch/OpenSearch clients send it — parsed into events for the one door (gateway/door.py).

Pure functions (no I/O) so each rule is a unit test:

- the body is NDJSON: an action line, then (except for ``delete``) a source line. ``index``
  and ``create`` are accepted; ``update`` and ``delete`` get a per-item 400 saying they are not
  supported (logs are append-only). ``_type`` is ignored. An action line that is not JSON, or
  names no known action, makes the whole request a 400 (as Elasticsearch does): its items
  could not be paired with their sources, so none is trustworthy;
- the event id is ``_id`` when it is a usable id (8–128 printable ASCII), else a hash of it;
  without ``_id`` it is derived from the content (the document bytes, the index, and how many
  identical documents came before it in the same request), so a client's retry of the same
  request is a duplicate, not a second event;
- ``_index`` is never a way out of the key: the key fixes tenant and source; an ``_index``
  naming another tenant's LogHarbor data stream (``logs-<tenant>-<class>``) is refused per item
  (403), and any other name is kept as ``labels.es_index`` on the event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.event_shape import flat_to_event
from logharbor.ids import stable_id

ACTIONS = ("index", "create", "update", "delete")
_ID_RE = re.compile(r"^[\x21-\x7e]{8,128}$")
_LH_STREAM = re.compile(r"^logs-(?P<tenant>[^-]+)-[^-]+$")


class BulkError(Exception):
    """The request as a whole is unusable: an ES ``error`` object with ``type`` and ``reason``."""

    def __init__(self, reason: str, type_: str = "illegal_argument_exception", status: int = 400) -> None:
        super().__init__(reason)
        self.type = type_
        self.status = status


@dataclass(slots=True)
class BulkItem:
    """One action of the request, in order; ``event`` is None when ``error`` says why."""

    action: str
    index: str
    id: str | None
    event: dict[str, Any] | None = None
    status: int = 201
    error: dict[str, str] | None = None

    def fail(self, status: int, type_: str, reason: str) -> None:
        self.event = None
        self.status = status
        self.error = {"type": type_, "reason": reason}


@dataclass(slots=True)
class ParsedBulk:
    items: list[BulkItem] = field(default_factory=list)


def _lines(body: bytes) -> list[bytes]:
    return [line for line in body.split(b"\n") if line.strip()]


def parse_bulk(
    body: bytes,
    *,
    default_index: str | None,
    tenant: str,
    source: str,
    received_at: str,
    max_entry_bytes: int,
) -> ParsedBulk:
    """Pair action and source lines and build one event per ``index``/``create`` item."""
    lines = _lines(body)
    if not lines:
        raise BulkError("request body is required", "action_request_validation_exception")
    out = ParsedBulk()
    seen: dict[bytes, int] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        try:
            action_obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise BulkError(
                f"Malformed action/metadata line [{i}], expected a JSON object ({exc})", "parse_exception"
            ) from None
        if not isinstance(action_obj, dict) or len(action_obj) != 1:
            raise BulkError(
                f"Malformed action/metadata line [{i}], expected one action of {', '.join(ACTIONS)}"
            )
        action, meta = next(iter(action_obj.items()))
        if action not in ACTIONS or not isinstance(meta, dict):
            raise BulkError(
                f"Malformed action/metadata line [{i}], expected START_OBJECT or END_OBJECT but found "
                f"[{action}]; actions are {', '.join(ACTIONS)}"
            )
        index = meta.get("_index") or default_index
        raw_id = meta.get("_id")
        given_id = None if raw_id is None else str(raw_id)
        item = BulkItem(action=action, index=str(index or ""), id=given_id)
        out.items.append(item)
        if action == "delete":
            item.fail(400, "illegal_argument_exception",
                      "delete is not supported: LogHarbor stores logs append-only (retention deletes them)")
            continue
        if i >= len(lines):
            raise BulkError(f"The bulk request must be terminated by a newline [\\n]; line [{i}] has no source")
        src = lines[i]
        i += 1
        if action == "update":
            item.fail(400, "illegal_argument_exception",
                      "update is not supported: LogHarbor stores logs append-only; send index or create")
            continue
        if not index:
            item.fail(400, "action_request_validation_exception",
                      "index is missing: name it in the action (_index) or the path (/{index}/_bulk)")
            continue
        owner = _LH_STREAM.match(item.index)
        if owner and owner.group("tenant") != tenant:
            item.fail(403, "security_exception",
                      f"_index {item.index!r} belongs to another tenant; this key writes for tenant {tenant!r} "
                      f"(source {source!r}) only")
            continue
        if len(src) > max_entry_bytes:
            item.fail(400, "document_parsing_exception",
                      f"entry: {len(src)} bytes exceeds the limit of {max_entry_bytes} bytes")
            continue
        try:
            doc = orjson.loads(src)
        except orjson.JSONDecodeError as exc:
            item.fail(400, "document_parsing_exception", f"failed to parse the document: {exc}")
            continue
        if not isinstance(doc, dict):
            item.fail(400, "document_parsing_exception",
                      f"the document must be a JSON object, not {type(doc).__name__}")
            continue
        doc.pop("_type", None)
        event = flat_to_event(doc, default_time=received_at)
        if owner is None and item.index:
            event.setdefault("fields", {}).setdefault("labels", {})
            if isinstance(event["fields"]["labels"], dict):
                event["fields"]["labels"].setdefault("es_index", item.index)
        event["id"] = event_id(given_id, tenant, source, item.index, src, seen)
        item.id = event["id"] if given_id is None else given_id
        item.event = event
    return out


def event_id(given: str | None, tenant: str, source: str, index: str, src: bytes, seen: dict[bytes, int]) -> str:
    """``_id`` when usable, a hash of it otherwise, and without one a hash of the content.

    Identical documents in one request get different ids (their ordinal is hashed too), so two
    genuinely repeated lines are both kept while a retried request maps onto the same ids.
    """
    if given is not None:
        return given if _ID_RE.match(given) else stable_id("es-id", tenant, source, given)
    n = seen.get(src, 0)
    seen[src] = n + 1
    return stable_id("es-doc", tenant, source, index, src, n)


def item_body(item: BulkItem, *, version: int = 1) -> dict[str, Any]:
    """The response object for one item, shaped as Elasticsearch answers it."""
    body: dict[str, Any] = {"_index": item.index, "_id": item.id}
    if item.error is None:
        body["_version"] = version
        body["result"] = "created"
        body["_shards"] = {"total": 1, "successful": 1, "failed": 0}
        body["_seq_no"] = 0
        body["_primary_term"] = 1
        body["status"] = item.status
    else:
        body["status"] = item.status
        body["error"] = {**item.error, "index": item.index}
        if item.status == 409:
            body["error"]["type"] = "version_conflict_engine_exception"
    return {item.action: body}


def filter_path(value: Any, spec: str | None) -> Any:
    """Elasticsearch's ``filter_path``: comma-separated dotted paths, ``*`` and ``**`` wildcards,
    ``-path`` to exclude. Arrays are traversed transparently, as Elasticsearch does."""
    if not spec:
        return value
    include = [p.split(".") for p in spec.split(",") if p.strip() and not p.strip().startswith("-")]
    exclude = [p.strip()[1:].split(".") for p in spec.split(",") if p.strip().startswith("-")]
    out = _include(value, include) if include else value
    for path in exclude:
        out = _exclude(out, path)
    return {} if out is _MISSING else out


_MISSING = object()


def _match(pattern: str, key: str) -> bool:
    if pattern == "*":
        return True
    if "*" in pattern:
        return re.fullmatch(".*".join(re.escape(p) for p in pattern.split("*")), key) is not None
    return pattern == key


def _include(value: Any, paths: list[list[str]]) -> Any:
    if any(not p for p in paths):
        return value
    if isinstance(value, list):
        items = [_include(v, paths) for v in value]
        items = [v for v in items if v is not _MISSING]
        return items if items else _MISSING
    if not isinstance(value, dict):
        return _MISSING
    out: dict[str, Any] = {}
    for key, item in value.items():
        rest: list[list[str]] = []
        for p in paths:
            if p[0] == "**":
                rest.append(p)  # ** may consume this key ...
                if len(p) > 1 and _match(p[1], key):
                    rest.append(p[2:])  # ... or match the next segment here
            elif _match(p[0], key):
                rest.append(p[1:])
        if not rest:
            continue
        sub = _include(item, rest)
        if sub is not _MISSING:
            out[key] = sub
    return out if out else _MISSING


def _exclude(value: Any, path: list[str]) -> Any:
    if value is _MISSING or not path:
        return value
    if isinstance(value, list):
        return [_exclude(v, path) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if _match(path[0], key):
            if len(path) == 1:
                continue
            out[key] = _exclude(item, path[1:])
        else:
            out[key] = item
    return out
