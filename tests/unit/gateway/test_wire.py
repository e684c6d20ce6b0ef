"""Issue 13: validation's planned path (records built as dicts, ``WireEnvelope``) must give exactly the
envelopes, bytes and rejects of the general path (``validate._entry``), which defines the rules."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import orjson

from gateway import validate as V
from gateway.validate import KeyContext, ParsedEntry, UlidBatch, ValidationLimits, validate_batch
from gateway.wire import WireEnvelope
from logharbor.envelope import Envelope

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
LIMITS = ValidationLimits(max_message_bytes=64, max_fields=6, max_depth=3)
KEYS = [
    KeyContext(key_id="k1", tenant="acme", source="web"),
    KeyContext(key_id="k2", tenant="acme", source="web", environment="prod", audit=True),
]


def _entries() -> list[ParsedEntry]:
    times = [
        ("timestamp", "2026-05-01T11:00:00.123Z"),
        ("time", "2026-05-01T11:00:00.123456+00:00"),
        ("@timestamp", 1777633200),
        ("timestamp", "2026-05-01T12:30:00Z"),
        ("timestamp", None),
        ("ts", "nonsense"),
    ]
    levels = [None, "info", "warning", 30, "bogus", ""]
    hosts = [None, ("host", "h1"), ("host", {"name": "h"}), ("hostname", "h2"), ("host", "x" * 300), ("host", 5)]
    messages = [
        ("message", "GET / 200"),
        ("message", " "),
        ("message", "m" * 70),
        ("msg", "pino"),
        ("message", 7),
        None,
    ]
    extras = [
        {},
        {"fields": {"a": 1, "b": {"c": [1, 2]}}},
        {"fields": {"a": 1}, "a": 2, "z": True},
        {"fields": {"labels.tenant": "evil"}},
        {"fields": {"event": {"id": "x"}}},
        {"fields": [1]},
        {"service": {"name": "x"}},
        {"severity": "high"},
        {"environment": "dev"},
        {"id": "client-id-0001"},
        {"fields": {"deep": {"a": {"b": {"c": 1}}}}},
        {"fields": {"n": list(range(9))}},
        {"format": "nginx"},
        {"event.id": "e"},
        {"labels": {"team": "x"}},
        {"tenant": "other"},
        {"source": "web"},
    ]
    out = []
    for (t, h, m, x), lv in itertools.product(itertools.product(times, hosts, messages, extras), levels):
        value: dict = {}
        value[t[0]] = t[1]
        if lv is not None:
            value["level"] = lv
        if h is not None:
            value[h[0]] = h[1]
        if m is not None:
            value[m[0]] = m[1]
        value.update(x)
        out.append(ParsedEntry(len(out), value, len(orjson.dumps(value))))
    out.append(ParsedEntry(len(out), None, 0, "entry: invalid JSON (x)"))
    out.append(ParsedEntry(len(out), ["not", "an", "object"], 14))
    out.append(ParsedEntry(len(out), {"timestamp": "2026-05-01T11:00:00.123Z", "message": "big"}, 10**6))
    return out


def test_planned_path_matches_the_general_path() -> None:
    entries = _entries()
    planned = 0
    for key in KEYS:
        got = validate_batch(entries, key, idempotency_key="idem-1", limits=LIMITS, now=NOW)
        received_at = V.format_timestamp(NOW)
        want_envs, want_rejects = [], []
        for e in entries:
            env, errors = V._entry(e, key, NOW, received_at, "idem-1", LIMITS, UlidBatch(), None)
            if env is None:
                want_rejects.append({"index": e.index, "errors": errors})
            else:
                want_envs.append(env)
        assert got.rejected == want_rejects
        assert [e.to_bytes() for e in got.envelopes] == [e.to_bytes() for e in want_envs]
        assert got.envelopes == want_envs
        planned += sum(isinstance(e, WireEnvelope) for e in got.envelopes)
    assert planned > 100  # the planned path did run, for both keys


def test_minted_ids_on_the_planned_path() -> None:
    value = {"timestamp": "2026-05-01T11:00:00.123Z", "level": "info", "message": "m"}
    got = validate_batch([ParsedEntry(i, dict(value), 60) for i in range(3)], KEYS[0], limits=LIMITS, now=NOW)
    ids = [e.id for e in got.envelopes]
    assert all(isinstance(e, WireEnvelope) for e in got.envelopes)
    assert len(set(ids)) == 3 and all(len(i) == 26 for i in ids)


def test_wire_envelope_behaves_as_the_dataclass() -> None:
    record = {
        "id": "01J0000000000000000000000",
        "tenant": "t",
        "source": "s",
        "received_at": "2026-01-01T00:00:00.000000Z",
        "key_id": "k",
        "level": "INFO",
        "message": "m",
        "fields": {"a": 1},
    }
    wire = WireEnvelope(dict(record))
    plain = Envelope(**{k: v for k, v in record.items()})
    assert isinstance(wire, Envelope)
    assert wire == plain and plain == wire
    assert wire.to_bytes() == plain.to_bytes()
    assert wire.host is None and wire.raw is None and wire.meta == {}
    wire.id = plain.id = "01J0000000000000000000001"  # the resend re-stamp in gateway/app.py
    wire.host = plain.host = "h"
    assert wire.to_bytes() == plain.to_bytes()
    assert Envelope.from_bytes(wire.to_bytes()) == wire
    # members handed out may change afterwards, as on the dataclass
    wire.meta["environment"] = "prod"
    plain.meta["environment"] = "prod"
    wire.fields.clear()
    plain.fields.clear()
    assert wire.to_bytes() == plain.to_bytes()
    assert b'"fields"' not in wire.to_bytes()


def test_array_entries_sized_by_window_keep_the_exact_limit_error() -> None:
    """_parse_array bounds a window's entries by one serialisation; an entry over the limit is still
    measured on its own, so its error quotes its exact size."""
    limits = ValidationLimits(max_entry_bytes=2000)
    small = {"timestamp": "2026-05-01T11:00:00.123Z", "message": "m"}
    big = {"timestamp": "2026-05-01T11:00:00.123Z", "message": "é" * 1500}
    items = [small] * 150 + [big] + [small] * 10
    entries = V.parse_batch(orjson.dumps(items), "json", limits)
    assert [e.index for e in entries] == list(range(len(items)))
    assert all(e.size >= len(orjson.dumps(e.value)) for e in entries)
    assert entries[150].size == len(orjson.dumps(big)) > 2000
    got = validate_batch(entries, KEYS[0], limits=limits, now=NOW)
    assert got.rejected == [
        {"index": 150, "errors": [f"entry: {len(orjson.dumps(big))} bytes exceeds the limit of 2000 bytes"]}
    ]
    assert len(got.envelopes) == len(items) - 1
