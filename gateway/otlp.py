"""OTLP logs → LogHarbor events: decoding (protobuf via ``opentelemetry-proto``, and OTLP/JSON)
and the LogRecord → ECS mapping, version ``OTLP_MAPPING_VERSION`` (docs/INTEGRATIONS.md).

Pure functions, no I/O. Both encodings are first brought to one neutral form (plain dicts and
values, ids as hex) so the mapping is written once. OTLP/JSON differs from protobuf's canonical
JSON in ways a generic decoder gets wrong — trace and span ids are hex, not base64; 64-bit
integers may be strings; enums are integers — hence the hand-written walk.

Mapping v1, per LogRecord:

- ``@timestamp`` ← ``time_unix_nano``, else ``observed_time_unix_nano``, else arrival; the exact
  nanoseconds are kept as ``otel.time_unix_nano``; ``event.created`` ← observed time;
- ``log.level`` ← ``severity_text`` when it names a level, else from ``severity_number``
  (1–8 DEBUG, 9–12 INFO, 13–16 WARN, 17–20 ERROR, 21–24 FATAL); both kept as
  ``otel.severity_text`` / ``otel.severity_number``;
- ``message`` ← a string body; a map body's ``message``/``msg`` member with the other members as
  fields; any other body as its JSON text;
- attributes: semantic-convention names with an ECS home are renamed (``exception.message`` →
  ``error.message``, ``http.response.status_code``, ``client.address`` → ``client.ip`` …, see
  ``ATTRIBUTE_TO_ECS``); the rest keep their names as event fields;
- resource attributes: ``service.version``, ``host.name``, ``deployment.environment`` … to ECS
  (``RESOURCE_TO_ECS``), the rest under ``resource.attributes.<name>`` — ``service.name``
  included: ECS ``service.name`` is the key's source, as for every LogHarbor event (the key,
  not the payload, says which service writes);
- ``trace.id`` / ``span.id`` as lowercase hex, ``otel.trace_flags``; scope name → ``log.logger``,
  scope version → ``otel.scope.version``;
- the event id hashes tenant, source, the resource, the scope and the record's encoding (plus
  its ordinal among identical records of the request), so an exporter's retry is a duplicate.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.event_shape import move_key_paths
from logharbor.ids import stable_id
from logharbor.levels import normalize_level

OTLP_MAPPING_VERSION = "1"

RESOURCE_TO_ECS = {
    "service.version": "service.version",
    "service.namespace": "service.namespace",
    "service.instance.id": "service.node.name",
    "deployment.environment": "service.environment",
    "deployment.environment.name": "service.environment",
    "host.name": "host.name",
    "host.id": "host.id",
    "host.arch": "host.architecture",
    "os.type": "host.os.family",
    "os.description": "host.os.full",
    "process.pid": "process.pid",
    "process.executable.name": "process.name",
    "process.command_line": "process.command_line",
    "container.id": "container.id",
    "container.name": "container.name",
    "k8s.pod.name": "orchestrator.resource.name",
    "k8s.namespace.name": "orchestrator.namespace",
    "cloud.provider": "cloud.provider",
    "cloud.region": "cloud.region",
    "telemetry.sdk.name": "otel.sdk.name",
    "telemetry.sdk.language": "otel.sdk.language",
    "telemetry.sdk.version": "otel.sdk.version",
}
ATTRIBUTE_TO_ECS = {
    "exception.type": "error.type",
    "exception.message": "error.message",
    "exception.stacktrace": "error.stack_trace",
    "http.request.method": "http.request.method",
    "http.method": "http.request.method",
    "http.response.status_code": "http.response.status_code",
    "http.status_code": "http.response.status_code",
    "url.full": "url.full",
    "http.url": "url.full",
    "url.path": "url.path",
    "http.target": "url.path",
    "client.address": "client.ip",
    "user.id": "user.id",
    "enduser.id": "user.id",
    "code.function": "log.origin.function",
    "code.function.name": "log.origin.function",
    "code.filepath": "log.origin.file.name",
    "code.file.path": "log.origin.file.name",
    "code.lineno": "log.origin.file.line",
    "code.line.number": "log.origin.file.line",
    "thread.name": "process.thread.name",
    "thread.id": "process.thread.id",
}
_SEVERITY = ((1, 8, "DEBUG"), (9, 12, "INFO"), (13, 16, "WARN"), (17, 20, "ERROR"), (21, 24, "FATAL"))


class OtlpDecodeError(Exception):
    """The body is not an ExportLogsServiceRequest in the declared encoding."""


@dataclass(slots=True)
class Record:
    """One LogRecord in neutral form, with what its id is hashed from."""

    resource: dict[str, Any]
    scope_name: str
    scope_version: str
    record: dict[str, Any]
    identity: bytes


# -- decoding ------------------------------------------------------------------------------------
def decode_protobuf(body: bytes) -> list[Record]:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    req = ExportLogsServiceRequest()
    try:
        req.ParseFromString(body)
    except (DecodeError, ValueError) as exc:
        raise OtlpDecodeError(f"body: not a protobuf ExportLogsServiceRequest ({exc})") from None
    out: list[Record] = []
    for rl in req.resource_logs:
        resource = {kv.key: _pb_any(kv.value) for kv in rl.resource.attributes}
        rid = rl.resource.SerializeToString(deterministic=True)
        for sl in rl.scope_logs:
            sid = sl.scope.SerializeToString(deterministic=True)
            for lr in sl.log_records:
                rec = {
                    "time_unix_nano": lr.time_unix_nano,
                    "observed_time_unix_nano": lr.observed_time_unix_nano,
                    "severity_number": int(lr.severity_number),
                    "severity_text": lr.severity_text,
                    "body": _pb_any(lr.body) if lr.HasField("body") else None,
                    "attributes": {kv.key: _pb_any(kv.value) for kv in lr.attributes},
                    "dropped_attributes_count": lr.dropped_attributes_count,
                    "flags": lr.flags,
                    "trace_id": lr.trace_id.hex(),
                    "span_id": lr.span_id.hex(),
                    "event_name": getattr(lr, "event_name", ""),
                }
                ident = rid + b"\x1f" + sid + b"\x1f" + lr.SerializeToString(deterministic=True)
                out.append(Record(resource, sl.scope.name, sl.scope.version, rec, ident))
    return out


def _pb_any(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "kvlist_value":
        return {kv.key: _pb_any(kv.value) for kv in v.kvlist_value.values}
    if kind == "array_value":
        return [_pb_any(x) for x in v.array_value.values]
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    return getattr(v, kind)


def decode_json(body: bytes) -> list[Record]:
    try:
        req = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise OtlpDecodeError(f"body: invalid JSON ({exc})") from None
    if not isinstance(req, dict):
        raise OtlpDecodeError("body: expected an ExportLogsServiceRequest object")
    out: list[Record] = []
    try:
        for rl in _list(req, "resourceLogs", "resource_logs"):
            res = rl.get("resource") or {}
            resource = _json_kvs(_list(res, "attributes"))
            rid = orjson.dumps(res, option=orjson.OPT_SORT_KEYS)
            for sl in _list(rl, "scopeLogs", "scope_logs"):
                scope = sl.get("scope") or {}
                sid = orjson.dumps(scope, option=orjson.OPT_SORT_KEYS)
                for lr in _list(sl, "logRecords", "log_records"):
                    if not isinstance(lr, dict):
                        raise OtlpDecodeError("logRecords: each record must be an object")
                    rec = {
                        "time_unix_nano": _int(_get(lr, "timeUnixNano", "time_unix_nano")),
                        "observed_time_unix_nano": _int(_get(lr, "observedTimeUnixNano", "observed_time_unix_nano")),
                        "severity_number": _severity_number(_get(lr, "severityNumber", "severity_number")),
                        "severity_text": str(_get(lr, "severityText", "severity_text") or ""),
                        "body": _json_any(lr["body"]) if isinstance(lr.get("body"), dict) else None,
                        "attributes": _json_kvs(_list(lr, "attributes")),
                        "dropped_attributes_count": _int(
                            _get(lr, "droppedAttributesCount", "dropped_attributes_count")
                        ),
                        "flags": _int(lr.get("flags")),
                        "trace_id": _hex_id(_get(lr, "traceId", "trace_id")),
                        "span_id": _hex_id(_get(lr, "spanId", "span_id")),
                        "event_name": str(_get(lr, "eventName", "event_name") or ""),
                    }
                    ident = rid + b"\x1f" + sid + b"\x1f" + orjson.dumps(lr, option=orjson.OPT_SORT_KEYS)
                    out.append(Record(resource, str(scope.get("name") or ""), str(scope.get("version") or ""),
                                      rec, ident))
    except (TypeError, ValueError, AttributeError) as exc:
        raise OtlpDecodeError(f"body: not an OTLP/JSON ExportLogsServiceRequest ({exc})") from None
    return out


def _get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    return obj.get(camel, obj.get(snake))


def _list(obj: dict[str, Any], *names: str) -> list[Any]:
    for n in names:
        v = obj.get(n)
        if v is not None:
            if not isinstance(v, list):
                raise OtlpDecodeError(f"{n}: must be an array")
            return v
    return []


def _int(v: Any) -> int:
    if v is None or v == "":
        return 0
    return int(v)


_SEVERITY_NAMES = {f"SEVERITY_NUMBER_{n}": i for i, n in enumerate(
    ["UNSPECIFIED"] + [f"{lv}{k if k > 1 else ''}" for lv in ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
                       for k in range(1, 5)])}


def _severity_number(v: Any) -> int:
    if isinstance(v, str) and not v.isdigit():
        return _SEVERITY_NAMES.get(v, 0)
    return _int(v)


def _hex_id(v: Any) -> str:
    if not v:
        return ""
    text = str(v)
    try:
        bytes.fromhex(text)
        return text.lower()
    except ValueError:
        return base64.b64decode(text).hex()  # some encoders send base64 (protobuf canonical JSON)


def _json_kvs(items: list[Any]) -> dict[str, Any]:
    out = {}
    for kv in items:
        if isinstance(kv, dict) and "key" in kv:
            out[str(kv["key"])] = _json_any(kv.get("value") or {})
    return out


def _json_any(v: dict[str, Any]) -> Any:
    if "stringValue" in v or "string_value" in v:
        return str(_get(v, "stringValue", "string_value"))
    if "boolValue" in v or "bool_value" in v:
        return bool(_get(v, "boolValue", "bool_value"))
    if "intValue" in v or "int_value" in v:
        return int(_get(v, "intValue", "int_value"))
    if "doubleValue" in v or "double_value" in v:
        return float(_get(v, "doubleValue", "double_value"))
    if "arrayValue" in v or "array_value" in v:
        arr = _get(v, "arrayValue", "array_value") or {}
        return [_json_any(x) for x in arr.get("values") or []]
    if "kvlistValue" in v or "kvlist_value" in v:
        kvl = _get(v, "kvlistValue", "kvlist_value") or {}
        return _json_kvs(kvl.get("values") or [])
    if "bytesValue" in v or "bytes_value" in v:
        return str(_get(v, "bytesValue", "bytes_value"))
    return None


# -- mapping -------------------------------------------------------------------------------------
def _iso(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


def severity_level(number: int) -> str | None:
    for lo, hi, level in _SEVERITY:
        if lo <= number <= hi:
            return level
    return None


def _put(fields: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested dicts (the pipeline flattens them back to dotted ECS names)."""
    node = fields
    parts = dotted.split(".")
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node.setdefault(parts[-1], value)


def to_event(rec: Record, *, received_at: str, tenant: str, source: str, ordinal: int) -> dict[str, Any]:
    """One neutral record → an event for the door (``/ingest`` shape)."""
    r = rec.record
    fields: dict[str, Any] = {}
    ts_ns = r["time_unix_nano"] or r["observed_time_unix_nano"]
    event: dict[str, Any] = {"timestamp": _iso(ts_ns) if ts_ns else received_at}
    if ts_ns:
        _put(fields, "otel.time_unix_nano", ts_ns)
    if r["observed_time_unix_nano"]:
        _put(fields, "event.created", _iso(r["observed_time_unix_nano"]))
    text, number = r["severity_text"], r["severity_number"]
    level = text if text and normalize_level(text) else severity_level(number)
    if level:
        event["level"] = level
    if text:
        _put(fields, "otel.severity_text", text)
    if number:
        _put(fields, "otel.severity_number", number)
    body = r["body"]
    if isinstance(body, str):
        message: str | None = body
    elif isinstance(body, dict):
        rest = dict(body)
        message = rest.pop("message", None) or rest.pop("msg", None)
        if not isinstance(message, str):
            message = orjson.dumps(body).decode()
            rest = {}
        for k, v in rest.items():
            _put(fields, k, v)
    elif body is None:
        message = r["event_name"] or None
    else:
        message = orjson.dumps(body).decode()
    if message is not None:
        event["message"] = message
    for k, v in r["attributes"].items():
        _put(fields, ATTRIBUTE_TO_ECS.get(k, k), v)
    for k, v in rec.resource.items():
        target = RESOURCE_TO_ECS.get(k)
        if target == "host.name" and isinstance(v, str):
            event["host"] = v
        elif target:
            _put(fields, target, v)
        else:
            _put(fields, f"resource.attributes.{k}", v)
    if r["trace_id"] and r["trace_id"].strip("0"):
        _put(fields, "trace.id", r["trace_id"])
    if r["span_id"] and r["span_id"].strip("0"):
        _put(fields, "span.id", r["span_id"])
    if r["flags"]:
        _put(fields, "otel.trace_flags", r["flags"])
    if rec.scope_name:
        _put(fields, "log.logger", rec.scope_name)
    if rec.scope_version:
        _put(fields, "otel.scope.version", rec.scope_version)
    if r["event_name"]:
        _put(fields, "otel.event_name", r["event_name"])
    if r["dropped_attributes_count"]:
        _put(fields, "otel.dropped_attributes_count", r["dropped_attributes_count"])
    _put(fields, "otel.mapping_version", OTLP_MAPPING_VERSION)
    move_key_paths(fields)  # an attribute named service.name / event.id: kept as labels.sent_*
    event["fields"] = fields
    event["id"] = stable_id("otlp", tenant, source, rec.identity, ordinal)
    return event


def to_events(records: list[Record], *, received_at: str, tenant: str, source: str) -> Iterator[dict[str, Any]]:
    seen: dict[bytes, int] = {}
    for rec in records:
        n = seen.get(rec.identity, 0)
        seen[rec.identity] = n + 1
        yield to_event(rec, received_at=received_at, tenant=tenant, source=source, ordinal=n)
