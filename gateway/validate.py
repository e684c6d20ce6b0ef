"""Batch parsing and per-entry validation: turns a decoded body into envelopes or named errors.

Plain functions with no I/O, so every rule in the ingest contract (docs/ARCHITECTURE.md §2) is a unit test.
An error always names the field and the limit (``"message: 40000 bytes exceeds the limit of
32768 bytes"``) because the person reading it is debugging a shipper config at 3 a.m.
Tenant and source come from the API key, never from the body: an entry that names another
tenant or source is rejected rather than silently rewritten.

One module over 600 lines on purpose: issue 13's memoised fast path for the common
``timestamp``/``level``/``message`` entry sits beside the general walk it must match, and the
per-entry path (shape walk, key-owned metadata, event data) is inlined here because it runs for
every event and is measured per event; the pieces that are not per-event (spellings,
timestamps, tenancy) already live in ``logharbor/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.wire import WireEnvelope
from logharbor import event_shape as shape
from logharbor.envelope import RAW_FORMATS, Envelope
from logharbor.ids import new_ulid, stable_id
from logharbor.levels import LEVELS, normalize_level, numeric_scheme
from logharbor.timestamps import format_wire, human_duration, parse_event_time

__all__ = ["format_timestamp", "human_duration", "parse_timestamp"]

JSON_TYPES = frozenset({"application/json", "text/json"})
NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/jsonl",
        "application/json-lines",
        "text/plain",
    }
)
_EVENT_ID_RE = re.compile(r"^[\x21-\x7e]{8,128}$")  # printable ASCII: it becomes an OpenSearch _id
MAX_HOST_BYTES = 255
_CONTAINERS = (dict, list)


class BatchError(Exception):
    """The body as a whole is unusable (not JSON, too many events): ``status`` 400 or 413."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class ValidationLimits:
    """The per-entry limits; built from GatewaySettings so messages quote configured numbers."""

    max_message_bytes: int = 32 * 1024
    max_entry_bytes: int = 64 * 1024
    max_events: int = 100_000
    future_skew_s: float = 300.0
    trust_event_ids: bool = True
    max_depth: int = 32  # nesting levels of objects/arrays in one entry (orjson itself stops at 254)
    max_fields: int = 1000  # leaf values in one entry (OpenSearch's default mapping limit is 1000)


@dataclass(frozen=True, slots=True)
class KeyContext:
    """What the API key says about the writer; the only source of tenant and source."""

    key_id: str
    tenant: str
    source: str
    environment: str | None = None
    audit: bool = False


@dataclass(slots=True)
class ParsedEntry:
    """One entry of a batch: its JSON value, or the parse error, and its size on the wire."""

    index: int
    value: Any = None
    size: int = 0  # its compact JSON bytes, or a bound of them within the entry limit (_parse_array)
    error: str | None = None


@dataclass(slots=True)
class BatchResult:
    """Envelopes ready to produce plus the rejects in the response shape."""

    envelopes: list[Envelope] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` → ``application/json`` (lower case)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_content_type(content_type: str | None) -> str:
    """Return "json", "ndjson" or "auto" (missing header), or raise BatchError 415."""
    mt = media_type(content_type)
    if not mt:
        return "auto"
    if mt in JSON_TYPES:
        return "json"
    if mt in NDJSON_TYPES:
        return "ndjson"
    raise BatchError(
        f"Content-Type: {mt!r} is not supported; send application/json (array) or application/x-ndjson",
        status=415,
    )


def parse_batch(body: bytes, kind: str, limits: ValidationLimits) -> list[ParsedEntry]:
    """Split a decoded body into entries.

    JSON arrays must parse as a whole (a broken array has no trustworthy entries); NDJSON is
    judged line by line so one bad line does not sink its neighbours.
    """
    stripped = body.strip()
    if not stripped:
        raise BatchError("body: empty; send a JSON array or NDJSON lines of events")
    if kind == "auto" or kind == "json":
        if stripped[:1] == b"[":
            return _parse_array(stripped, limits)
        if kind == "json" and stripped[:1] == b"{" and b"\n" in stripped:
            # one pretty-printed object, or NDJSON mislabelled as JSON: both are common
            try:
                value = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                return _parse_ndjson(stripped, limits)
            return [ParsedEntry(index=0, value=value, size=len(stripped))]
    return _parse_ndjson(stripped, limits)


_SIZE_WINDOW = 100  # entries sized by one serialisation in _parse_array


def _parse_array(body: bytes, limits: ValidationLimits) -> list[ParsedEntry]:
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BatchError(f"body: invalid JSON ({exc})") from None
    if not isinstance(items, list):  # pragma: no cover - guarded by the '[' check
        raise BatchError("body: expected a JSON array of events")
    if len(items) > limits.max_events:
        raise BatchError(f"body: {len(items)} events exceeds the limit of {limits.max_events} per batch", 413)
    out = []
    for start in range(0, len(items), _SIZE_WINDOW):
        window = items[start : start + _SIZE_WINDOW]
        # One serialisation of a window of entries bounds each of them: an entry's compact JSON is
        # part of the window's. Within the entry limit, that bound is its size (only the limit
        # check reads it) and spares a re-serialisation per event; otherwise each is measured.
        try:
            bound = len(orjson.dumps(window))
        except orjson.JSONEncodeError:  # an entry nested deeper than orjson serialises: measured below
            bound = limits.max_entry_bytes + 1
        if bound <= limits.max_entry_bytes:
            out.extend([ParsedEntry(i, item, bound) for i, item in enumerate(window, start)])
            continue
        for i, item in enumerate(window, start):
            # Re-serialising is the honest way to size an array element; orjson makes it cheap.
            try:
                size = len(orjson.dumps(item)) if not isinstance(item, str) else len(item.encode()) + 2
            except orjson.JSONEncodeError:  # nested deeper than orjson serialises (254 levels)
                out.append(
                    ParsedEntry(index=i, error=f"entry: nested deeper than the limit of {limits.max_depth} levels")
                )
                continue
            out.append(ParsedEntry(i, item, size))  # positional: once per event
    if not out:
        raise BatchError("body: the JSON array is empty")
    return out


def _parse_ndjson(body: bytes, limits: ValidationLimits) -> list[ParsedEntry]:
    out: list[ParsedEntry] = []
    for line in body.split(b"\n"):
        line = line.strip()
        if not line:
            continue
        entry = ParsedEntry(index=len(out), size=len(line))
        out.append(entry)
        if len(out) > limits.max_events:
            raise BatchError(f"body: more than {limits.max_events} events per batch", 413)
        if len(line) > limits.max_entry_bytes:
            entry.error = f"entry: {len(line)} bytes exceeds the limit of {limits.max_entry_bytes} bytes"
            continue
        try:
            entry.value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if "recursion" in str(exc):
                entry.error = f"entry: nested deeper than the limit of {limits.max_depth} levels"
            else:
                entry.error = f"entry: invalid JSON ({exc})"
    return out


# -- timestamps (the rules live in logharbor.timestamps, shared with the pipeline) ----------
def parse_timestamp(value: Any) -> datetime:
    """RFC 3339 / ISO 8601 strings (no offset means UTC), or epoch s/ms/µs/ns by magnitude."""
    return parse_event_time(value)


format_timestamp = format_wire


# -- ids --------------------------------------------------------------------------------------
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# byte → the Crockford character of its low 5 bits: 16 random bytes → 16 characters, 80 random bits
_RANDOM_CHARS = bytes(ord(_CROCKFORD[b & 31]) for b in range(256))
_IDS_PER_DRAW = 128


class UlidBatch:
    """ULIDs for one batch, same format as :func:`logharbor.ids.new_ulid`, several times cheaper.

    One millisecond prefix per batch (all events arrived together); the random part is drawn
    for 128 ids at once and turned into characters by one ``bytes.translate`` (each random
    byte gives one character, uniform over the 32 symbols: the 80 random bits of a ULID), so
    an id costs a slice and a concatenation (0.95 → 0.29 µs on the bench box). Per-event id minting
    was once the largest single cost of the ingest hot path, and with a table per 10 bits still
    6 % of it (an ``os.urandom`` call and eight shifts per id).
    """

    def __init__(self, now_ms: int | None = None) -> None:
        self.prefix = new_ulid(now_ms)[:10]
        self._chars = ""
        self._at = 0

    def __call__(self) -> str:
        at = self._at
        if at >= len(self._chars):
            self._chars = os.urandom(16 * _IDS_PER_DRAW).translate(_RANDOM_CHARS).decode("ascii")
            at = 0
        self._at = at + 16
        return self.prefix + self._chars[at : at + 16]


# -- entries ----------------------------------------------------------------------------------
class _TooDeep(Exception):
    pass


def _leaves(value: Any, depth: int, max_depth: int) -> int:
    """Leaf values under a container; raises _TooDeep past ``max_depth`` (recursion is bounded by it)."""
    if depth > max_depth:
        raise _TooDeep
    n = 0
    items = value.values() if value.__class__ is dict else value
    for item in items:
        n += _leaves(item, depth + 1, max_depth) if item.__class__ in _CONTAINERS else 1
    return n


def _entry_leaves(value: dict[str, Any], max_depth: int) -> int:
    """Leaf values of an entry (its field count); raises _TooDeep past ``max_depth``. The top
    level is walked here rather than by :func:`_leaves`, since most of its values are scalars."""
    n = 0
    for item in value.values():
        cls = item.__class__
        if cls is dict or cls is list:
            n += _leaves(item, 2, max_depth)
        else:
            n += 1
    return n


_META_INPUTS = frozenset({"meta", "path", "labels", "environment"})


def _meta(value: dict[str, Any], key: KeyContext, errors: list[str]) -> dict[str, Any]:
    """Client/shipper metadata first, the key's values last (never merged with client values)."""
    meta: dict[str, Any] = {}
    if value.keys().isdisjoint(_META_INPUTS):  # the common case: nothing from the client
        if key.environment:
            meta["environment"] = key.environment
        if key.audit:
            meta["audit"] = True
        return meta
    extra = value.get("meta")
    if extra is not None:
        if isinstance(extra, dict):
            for name in shape.KEY_META & extra.keys():
                errors.append(f"meta.{name}: set by the API key; a client cannot set it")
            meta.update(extra)
        else:
            errors.append("meta: must be a JSON object")
    for name in ("path", "labels"):
        if name in value:
            meta[name] = value[name]
    labels = meta.get("labels")
    if isinstance(labels, dict):
        for name in ("tenant", "key_id"):
            if name in labels:
                errors.append(f"labels.{name}: set by the API key; a client cannot set it")
    env = value.get("environment", meta.get("environment"))
    if env is not None and key.environment and env != key.environment:
        errors.append(f"environment: this key is for environment {key.environment!r}")
    elif env is not None:
        meta["environment"] = env
    if key.environment:
        meta["environment"] = key.environment
    meta.pop("audit", None)
    if key.audit:
        meta["audit"] = True  # the pipeline routes these to the audit retention class
    return meta


def _event_id(
    value: dict[str, Any],
    index: int,
    key: KeyContext,
    idem: str | None,
    limits: ValidationLimits,
    errors: list[str],
    new_id: Callable[[], str] = new_ulid,
) -> str:
    given = value.get("id")
    if given is not None and limits.trust_event_ids:
        if isinstance(given, str) and _EVENT_ID_RE.match(given):
            return given
        errors.append("id: must be a string of 8-128 printable ASCII characters without spaces")
    if idem:
        return stable_id(key.key_id, idem, index)
    return new_id()


def _key_path_hit(name: str, item: Any) -> str | None:
    """The key-owned path ``name`` (with ``item`` below it) writes, if any."""
    for path in shape.KEY_PATHS:
        if name == path or name.startswith(path + "."):
            return path
        if path.startswith(name + ".") and item.__class__ is dict:
            rest = path[len(name) + 1 :]
            for sub, subitem in item.items():
                hit = _key_path_hit(sub, subitem)
                if hit is not None and hit == rest:
                    return path
                if rest.startswith(sub + ".") or sub.startswith(rest + ".") or sub == rest:
                    return path
    return None


_KEY_ROOTS = frozenset(p.split(".", 1)[0] for p in shape.KEY_PATHS)
_KEY_PREFIXES = tuple(root + "." for root in _KEY_ROOTS)


def _event_data(value: dict[str, Any], chosen: list[str], errors: list[str]) -> dict[str, Any] | None:
    """The event's own data: the ``fields`` wrapper plus every key not read as a reserved concept."""
    wrapper = value.get("fields")
    data: dict[str, Any] = {}
    if wrapper is not None:
        if wrapper.__class__ is dict:
            data.update(wrapper)
        else:
            errors.append("fields: must be a JSON object")
    envelope_keys = shape.ENVELOPE_KEYS
    for name, item in value.items():
        if name not in envelope_keys and name not in chosen:
            data[name] = item  # a top-level key wins over the same name under "fields"
    for name, item in data.items():
        if name in _KEY_ROOTS or name.startswith(_KEY_PREFIXES):
            hit = _key_path_hit(name, item)
            if hit is not None:
                errors.append(f"{hit}: set by the API key; a client cannot set it (in {name!r})")
    return data or None


def _timestamp(
    value: Any, now: datetime, limits: ValidationLimits, errors: list[str], name: str, required: bool,
    seen: dict[str, str] | None = None,
) -> str | None:
    """The wire form of an event's time, or None with the error appended.

    ``seen`` (one batch's accepted time strings → wire form) skips the parse for a repeat: events
    a shipper read together, or a logger stamped in the same millisecond, carry the same string,
    and the answer depends only on the string and the batch's ``now``.
    """
    if value is None:
        if required:
            errors.append(
                f"timestamp: required (as {', '.join(shape.TIME_KEYS)}; RFC 3339 string or epoch s/ms/µs/ns)"
            )
        return None
    dt = wire = None
    if value.__class__ is str and value[4:5] == "-":
        # what parse_event_time does first for such a string (fromisoformat refuses surrounding
        # whitespace, which it would strip), without its type checks; anything else goes there
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            else:
                wire = _wire_as_sent(value)
    if dt is None:
        try:
            dt = parse_event_time(value)
        except ValueError as exc:
            errors.append(f"{name}: {exc}")
            return None
    ahead = (dt - now).total_seconds()
    if ahead > limits.future_skew_s:
        errors.append(f"{name}: in the future by {human_duration(ahead)} (allowed skew {limits.future_skew_s:g} s)")
        return None
    if wire is None:
        wire = _wire(dt)
    if seen is not None and value.__class__ is str:
        seen[value] = wire
    return wire


def _wire_as_sent(text: str) -> str | None:
    """The wire form read off a time string fromisoformat accepted, for the three common UTC forms.

    ``2026-05-01T12:00:00.123456Z`` is the wire form itself, ``…00.123Z`` (shippers, JavaScript)
    lacks three digits, ``…00.123456+00:00`` (Python's isoformat) has the offset for the Z. Fixed
    positions decide it; datetime's isoformat costs several times more. None: format the datetime.
    """
    n = len(text)
    if n < 24 or text[10] != "T" or text[19] != "." or text[7] != "-" or text[13] != ":" or text[16] != ":":
        return None
    if n == 27 and text[26] == "Z":
        return text
    if n == 24 and text[23] == "Z":
        return text[:23] + "000Z"
    if n == 32 and text.endswith("+00:00"):
        return text[:26] + "Z"
    return None


def _wire(dt: datetime) -> str:
    """:func:`logharbor.timestamps.format_wire`, 4x cheaper: a UTC isoformat ends in "+00:00", which
    becomes the "Z" (``datetime.replace`` was most of that function's cost)."""
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.isoformat(timespec="microseconds")[:-6] + "Z"


def _level(value: dict[str, Any], chosen: list[str], meta: dict[str, Any], errors: list[str]) -> str:
    for name in shape.LEVEL_KEYS:
        if name not in value:
            continue
        raw_level = value[name]
        norm = normalize_level(raw_level, numeric_scheme(name))
        if norm is None:
            if name != "level":
                continue  # "severity": "high" may be data; only "level" must be a level
            errors.append(
                f"level: {str(raw_level)[:40]!r} is not one of {', '.join(LEVELS)} (or an alias "
                "such as warning, err, critical, or a syslog/bunyan/pino/OpenTelemetry number)"
            )
            return "INFO"
        chosen.append(name)
        if raw_level != norm:
            meta["level_original"] = raw_level
        return norm
    return "INFO"


def _message(value: dict[str, Any], chosen: list[str], limits: ValidationLimits, errors: list[str]) -> str | None:
    for name in shape.MESSAGE_KEYS:
        if name not in value:
            continue
        message = value[name]
        if message.__class__ is str and message.strip():
            n = len(message.encode())
            if n > limits.max_message_bytes:
                errors.append(f"{name}: {n} bytes exceeds the limit of {limits.max_message_bytes} bytes")
            chosen.append(name)
            return message
        if name == "message":
            errors.append("message: must be a non-empty string")
            return None
    errors.append(f"message: required, a non-empty string (as {', '.join(shape.MESSAGE_KEYS)})")
    return None


def validate_entry(
    entry: ParsedEntry,
    key: KeyContext,
    *,
    now: datetime,
    received_at: str,
    idempotency_key: str | None,
    limits: ValidationLimits,
    new_id: Callable[[], str] = new_ulid,
    seen_times: dict[str, str] | None = None,
) -> tuple[Envelope | None, list[str]]:
    """One entry → (envelope, []) or (None, errors): the one builder for events and raw lines.

    ``seen_times``: the batch's memo of accepted time strings (see ``_timestamp``).
    """
    return _entry(entry, key, now, received_at, idempotency_key, limits, new_id, seen_times)


_UNPLANNED: Any = object()
_LEVEL_MEMO: dict[str, str] = {}  # level string under "level" → canonical level; bounded below
_LEVEL_MEMO_MAX = 1024


def _entry(
    entry: ParsedEntry,
    key: KeyContext,
    now: datetime,
    received_at: str,
    idem: str | None,
    limits: ValidationLimits,
    new_id: Callable[[], str],
    seen_times: dict[str, str] | None,
) -> tuple[Envelope | None, list[str]]:
    """:func:`validate_entry`, positional, with the common spellings decided inline.

    Runs once per event, so the usual case — ``timestamp``/``level``/``message`` present and
    valid, no client metadata — takes no helper call; anything else goes through the same
    helpers as before, which remain the definition of the rules.
    """
    if entry.error:
        return None, [entry.error]
    value = entry.value
    if not isinstance(value, dict):
        return None, [f"entry: must be a JSON object, not {type(value).__name__}"]
    errors: list[str] = []
    if entry.size > limits.max_entry_bytes:
        errors.append(f"entry: {entry.size} bytes exceeds the limit of {limits.max_entry_bytes} bytes")
    # depth and field count before anything else reads the entry
    try:
        n = _entry_leaves(value, limits.max_depth)
    except _TooDeep:
        errors.append(f"entry: nested deeper than the limit of {limits.max_depth} levels")
        return None, errors
    if n > limits.max_fields:
        errors.append(f"entry: {n} fields exceeds the limit of {limits.max_fields} fields per event")
    # owner: tenant and source come from the key
    tenant = value.get("tenant")
    if tenant is not None and tenant != key.tenant:
        errors.append(f"tenant: this key writes for tenant {key.tenant!r} only; entries cannot name another tenant")
    chosen: list[str] = []
    for name in shape.SERVICE_KEYS:
        source = value.get(name)
        if source.__class__ is str:
            if source != key.source:
                errors.append(f"{name}: this key writes for source {key.source!r} only; create a key per source")
            chosen.append(name)
    if value.keys().isdisjoint(_META_INPUTS):  # the common case: nothing from the client
        meta: dict[str, Any] = {}
        if key.environment:
            meta["environment"] = key.environment
        if key.audit:
            meta["audit"] = True
    else:
        meta = _meta(value, key, errors)
    given = value.get("id")
    if given is not None and limits.trust_event_ids and isinstance(given, str) and _EVENT_ID_RE.match(given):
        event_id = given
    else:
        event_id = _event_id(value, entry.index, key, idem, limits, errors, new_id)

    host = None
    for name in shape.HOST_KEYS:
        item = value.get(name)
        if item.__class__ is str:
            if len(item) * 4 > MAX_HOST_BYTES and len(item.encode()) > MAX_HOST_BYTES:  # UTF-8: ≤ 4 B/char
                errors.append(f"{name}: must be a string of at most {MAX_HOST_BYTES} bytes")
            host = item
            chosen.append(name)
            break
        if item is not None and item.__class__ is not dict:
            errors.append(f"{name}: must be a string of at most {MAX_HOST_BYTES} bytes (or an ECS host object)")
            chosen.append(name)

    is_raw = "raw" in value
    if is_raw:
        ts_name, ts_value = "timestamp", value.get("timestamp")
    else:
        ts_name, ts_value = None, None
        for name in shape.TIME_KEYS:
            if name in value:
                ts_name, ts_value = name, value[name]
                break
    if ts_name:
        chosen.append(ts_name)
    timestamp = seen_times.get(ts_value) if seen_times is not None and ts_value.__class__ is str else None
    if timestamp is None:
        timestamp = _timestamp(ts_value, now, limits, errors, ts_name or "timestamp", not is_raw, seen_times)

    if is_raw:
        raw, fmt = value.get("raw"), value.get("format", "auto")
        if not isinstance(raw, str) or not raw:
            errors.append("raw: must be a non-empty string")
        if not isinstance(fmt, str) or fmt not in RAW_FORMATS:
            errors.append(f"format: {fmt!r} is not one of {', '.join(sorted(RAW_FORMATS))}")
        data = _event_data(value, chosen, errors)
        if errors:
            return None, errors
        return Envelope(
            id=event_id, tenant=key.tenant, source=key.source, received_at=received_at, key_id=key.key_id,
            host=host, raw=raw, format=fmt, timestamp=timestamp, fields=data, meta=meta,
        ), []

    raw_level = value.get("level")  # "level" is the first spelling: present, it decides
    level = _LEVEL_MEMO.get(raw_level) if raw_level.__class__ is str else None
    if level is None:
        level = _level(value, chosen, meta, errors)
        if raw_level.__class__ is str and len(_LEVEL_MEMO) < _LEVEL_MEMO_MAX and chosen[-1:] == ["level"]:
            _LEVEL_MEMO[raw_level] = level
    else:
        chosen.append("level")
        if raw_level != level:
            meta["level_original"] = raw_level
    message = value.get("message")  # likewise the first spelling of the message
    if message.__class__ is str and message.strip():
        if len(message) * 4 > limits.max_message_bytes and len(message.encode()) > limits.max_message_bytes:
            errors.append(f"message: {len(message.encode())} bytes exceeds the limit of "
                          f"{limits.max_message_bytes} bytes")
        chosen.append("message")
    else:
        message = _message(value, chosen, limits, errors)
    data = _event_data(value, chosen, errors)
    if errors:
        return None, errors
    # positional (id, tenant, source, received_at, key_id, timestamp, level, message, host, fields,
    # raw, format, meta): keyword arguments cost measurably at once per event
    return Envelope(
        event_id, key.tenant, key.source, received_at, key.key_id, timestamp, level, message, host, data, None, None,
        meta,
    ), []


# -- the common shape, decided once per key set ------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Plan:
    """What the key names alone decide for an entry: which key is the time, level, message and
    host, and which keys are event data. Entries of one shipper repeat the same keys, so this is
    worked out once per key set (``_plan``) and each entry then checks only its values."""

    time_name: str
    has_level: bool  # "level" present (the first level spelling): its value decides
    host_name: str | None
    has_fields: bool
    data_names: tuple[str, ...]  # top-level keys that are event data, in entry order


# key names that send an entry down the general path: owner and client metadata, ids, raw lines
_PLAN_EXCLUDED = frozenset({"tenant", "id", "raw", *shape.SERVICE_KEYS}) | _META_INPUTS
_OTHER_LEVEL_KEYS = frozenset(shape.LEVEL_KEYS) - {"level"}
_PLANS: dict[tuple[str, ...], _Plan | None] = {}
_PLANS_MAX = 4096
_DATA_NAMES: set[str] = set()  # names under "fields" seen to be no key-owned path (nor below one)
_DATA_NAMES_MAX = 65_536


def _plan(names: tuple[str, ...]) -> _Plan | None:
    """The plan for entries with these keys, or None: their shape needs the general path."""
    keys = frozenset(names)
    if not keys.isdisjoint(_PLAN_EXCLUDED) or "message" not in keys:
        return None
    time_name = next((n for n in shape.TIME_KEYS if n in keys), None)
    if time_name is None:
        return None
    has_level = "level" in keys
    if not has_level and not keys.isdisjoint(_OTHER_LEVEL_KEYS):
        return None  # whether "severity" is a level depends on its value
    host_name = next((n for n in shape.HOST_KEYS if n in keys), None)
    chosen = {time_name, "level", "message", host_name}
    data_names = tuple(n for n in names if n not in shape.ENVELOPE_KEYS and n not in chosen)
    if any(n in _KEY_ROOTS or n.startswith(_KEY_PREFIXES) for n in data_names):
        return None
    return _Plan(time_name, has_level, host_name, "fields" in keys, data_names)


def _planned(
    entry: ParsedEntry, value: dict[str, Any], plan: _Plan, key: KeyContext, received_at: str,
    idem: str | None, limits: ValidationLimits, new_id: Callable[[], str], seen_times: dict[str, str],
    key_meta: dict[str, Any], now: datetime, template: dict[str, Any],
) -> Envelope | None:
    """The envelope of a valid entry of a planned shape, built as its record dict; None when any
    check would fail or a value is not of the usual type — the caller then runs :func:`_entry`,
    which stays the definition of every rule and error message."""
    if entry.size > limits.max_entry_bytes:
        return None
    try:
        n = _entry_leaves(value, limits.max_depth)
    except _TooDeep:
        return None
    if n > limits.max_fields:
        return None
    ts_value = value[plan.time_name]
    timestamp = seen_times.get(ts_value) if ts_value.__class__ is str else None
    if timestamp is None:
        errors: list[str] = []
        timestamp = _timestamp(ts_value, now, limits, errors, plan.time_name, True, seen_times)
        if errors:
            return None
    meta = dict(key_meta) if key_meta else None
    if plan.has_level:
        raw_level = value["level"]
        level = _LEVEL_MEMO.get(raw_level) if raw_level.__class__ is str else None
        if level is None:
            return None
        if raw_level != level:
            if meta is None:
                meta = {}
            meta["level_original"] = raw_level
    else:
        level = "INFO"
    message = value["message"]
    if message.__class__ is not str or not message.strip():
        return None
    if len(message) * 4 > limits.max_message_bytes and len(message.encode()) > limits.max_message_bytes:
        return None
    host = None
    if plan.host_name is not None:
        host = value[plan.host_name]
        if host.__class__ is not str or (len(host) * 4 > MAX_HOST_BYTES and len(host.encode()) > MAX_HOST_BYTES):
            return None
    if plan.has_fields:
        wrapper = value["fields"]
        if wrapper.__class__ is not dict:
            return None
        if not _DATA_NAMES.issuperset(wrapper):  # one C-level pass for the names already cleared
            for name in wrapper:
                if name in _KEY_ROOTS or name.startswith(_KEY_PREFIXES):
                    return None
            if len(_DATA_NAMES) < _DATA_NAMES_MAX:
                _DATA_NAMES.update(wrapper)
        if plan.data_names:
            data = {**wrapper}
            for name in plan.data_names:
                data[name] = value[name]  # a top-level key wins over the same name under "fields"
        else:
            data = wrapper  # the parsed entry's own dict: nothing else holds it
    else:
        data = {name: value[name] for name in plan.data_names}
    event_id = stable_id(key.key_id, idem, entry.index) if idem else new_id()
    record = template.copy()  # id, tenant, source, received_at, key_id, timestamp, level, message
    record["id"] = event_id
    record["timestamp"] = timestamp
    record["level"] = level
    record["message"] = message
    if host is not None:
        record["host"] = host
    if data:
        record["fields"] = data
    if meta:
        record["meta"] = meta
    return WireEnvelope(record)


def validate_batch(
    entries: list[ParsedEntry],
    key: KeyContext,
    *,
    idempotency_key: str | None = None,
    limits: ValidationLimits,
    now: datetime | None = None,
) -> BatchResult:
    """Validate every entry; the caller decides strict vs partial from ``rejected``."""
    now = now or datetime.now(UTC)
    received_at = format_timestamp(now)
    new_id = UlidBatch(int(now.timestamp() * 1000))
    seen_times: dict[str, str] = {}
    result = BatchResult()
    envelopes = result.envelopes
    # the planned path puts the key's members into the record as they are; Envelope.to_bytes would
    # drop a None one, so a key with a member that is not a string takes the general path
    planning = key.key_id.__class__ is key.tenant.__class__ is key.source.__class__ is str
    key_meta: dict[str, Any] = {}
    if key.environment:
        key_meta["environment"] = key.environment
    if key.audit:
        key_meta["audit"] = True
    # the first members of every planned record, in wire order; the None ones are set per event
    template = {"id": None, "tenant": key.tenant, "source": key.source, "received_at": received_at,
                "key_id": key.key_id, "timestamp": None, "level": None, "message": None}
    for entry in entries:
        value = entry.value
        if planning and value.__class__ is dict and not entry.error:
            names = tuple(value)
            plan = _PLANS.get(names, _UNPLANNED)
            if plan is _UNPLANNED:
                if len(_PLANS) >= _PLANS_MAX:
                    _PLANS.clear()
                plan = _PLANS[names] = _plan(names)
            if plan is not None:
                env = _planned(entry, value, plan, key, received_at, idempotency_key, limits, new_id,
                               seen_times, key_meta, now, template)
                if env is not None:
                    envelopes.append(env)
                    continue
        env, errors = _entry(entry, key, now, received_at, idempotency_key, limits, new_id, seen_times)
        if env is None:
            result.rejected.append({"index": entry.index, "errors": errors})
        else:
            envelopes.append(env)
    return result
