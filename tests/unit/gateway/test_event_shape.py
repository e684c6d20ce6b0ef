"""Events as JSON loggers emit them: any keys, reserved concepts under their common spellings,
the one envelope builder for events and raw lines, depth/field limits and key-owned paths."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from gateway.validate import KeyContext, ValidationLimits, parse_batch, validate_batch
from logharbor.levels import normalize_level

NOW = datetime(2026, 1, 19, 10, 35, 0, tzinfo=UTC)
KEY = KeyContext(key_id="abcdefgh2345", tenant="acme", source="web", environment="prod")
AUDIT_KEY = KeyContext(key_id="abcdefgh2346", tenant="acme", source="web", audit=True)
LIM = ValidationLimits(max_depth=8, max_fields=50)


def run(*events: object, key: KeyContext = KEY, limits: ValidationLimits = LIM, kind: str = "ndjson"):
    body = orjson.dumps(list(events)) if kind == "json" else b"\n".join(orjson.dumps(e) for e in events)
    return validate_batch(parse_batch(body, kind, limits), key, limits=limits, now=NOW)


def one(event: dict, **kw):
    r = run(event, **kw)
    assert not r.rejected, r.rejected
    return r.envelopes[0]


def test_spec_event_sent_flat_is_accepted_with_extra_fields_as_data() -> None:
    env = one({"timestamp": "2026-01-19T10:30:00Z", "level": "WARN", "message": "Database query took 5 seconds",
               "response_time": 5000, "request": {"headers": {"authorization": "Bearer x"}}})
    assert (env.timestamp, env.level, env.message) == ("2026-01-19T10:30:00.000000Z", "WARN",
                                                       "Database query took 5 seconds")
    assert env.fields == {"response_time": 5000, "request": {"headers": {"authorization": "Bearer x"}}}


@pytest.mark.parametrize(
    "event",
    [
        # python-json-logger (JsonFormatter with "%(asctime)s %(levelname)s %(name)s %(message)s")
        {"asctime": "x", "levelname": "WARNING", "name": "app.db", "message": "slow", "time": "2026-01-19T10:30:00Z"},
        # structlog JSONRenderer with TimeStamper(fmt="iso") and add_log_level
        {"event": "slow", "level": "warning", "timestamp": "2026-01-19T10:30:00Z"},
        # pino
        {"level": 40, "time": 1768818600000, "pid": 7, "hostname": "h1", "msg": "slow"},
        # bunyan
        {"name": "app", "hostname": "h1", "pid": 7, "level": 40, "msg": "slow", "time": "2026-01-19T10:30:00.000Z",
         "v": 0},
        # OpenTelemetry-ish
        {"severity_number": 13, "severity_text": "WARN", "ts": 1768818600000000000, "text": "slow"},
        # GELF
        {"short_message": "slow", "level": 4, "timestamp": 1768818600.0, "host": "h1"},
    ],
)
def test_json_logger_shapes(event: dict) -> None:
    env = one(event)
    assert env.level == "WARN"
    assert env.message == "slow"
    assert env.timestamp == "2026-01-19T10:30:00.000000Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1768818600, "10:30:00.000000"), (1768818600123, "10:30:00.123000"), (1768818600123456, "10:30:00.123456"),
     (1768818600123456789, "10:30:00.123456"), ("1768818600123", "10:30:00.123000"),
     ("2026-01-19T10:30:00", "10:30:00.000000"), ("2026-01-19T11:30:00+01:00", "10:30:00.000000")],
)
def test_epoch_units_and_zones(value: object, expected: str) -> None:
    assert one({"ts": value, "msg": "m"}).timestamp == f"2026-01-19T{expected}Z"


@pytest.mark.parametrize(
    ("value", "scheme", "expected"),
    [(3, None, "ERROR"), (6, None, "INFO"), (30, None, "INFO"), (50, None, "ERROR"), (60, None, "FATAL"),
     (17, "otel", "ERROR"), (3, "otel", "DEBUG"), (21, "otel", "FATAL"), (30, "python", "WARN"), ("50", None, "ERROR"),
     (99, None, None)],
)
def test_numeric_levels(value: object, scheme: str | None, expected: str | None) -> None:
    assert normalize_level(value, scheme) == expected


def test_unknown_severity_is_data_but_unknown_level_is_an_error() -> None:
    env = one({"ts": 1768818600, "msg": "m", "severity": "high"})
    assert env.level == "INFO" and env.fields == {"severity": "high"}
    r = run({"ts": 1768818600, "msg": "m", "level": "loud"})
    assert r.rejected[0]["errors"][0].startswith("level: 'loud' is not one of")


def test_host_and_service_spellings() -> None:
    env = one({"ts": 1768818600, "msg": "m", "hostname": "h9", "service": "web"})
    assert env.host == "h9" and env.fields is None
    r = run({"ts": 1768818600, "msg": "m", "service": "db"})
    assert r.rejected[0]["errors"][0].startswith("service: this key writes for source 'web' only")


def test_depth_limit_named_before_anything_else() -> None:
    deep = '{"a":' * 300 + "1" + "}" * 300  # deeper than orjson serialises: the old 503 trigger
    ok = b'{"ts": 1768818600, "msg": "ok"}'
    bad = b'{"ts": 1768818600, "msg": "m", "fields": ' + deep.encode() + b"}"
    for kind, body in (("json", b"[" + ok + b"," + bad + b"]"), ("ndjson", ok + b"\n" + bad)):
        r = validate_batch(parse_batch(body, kind, LIM), KEY, limits=LIM, now=NOW)
        assert len(r.envelopes) == 1
        assert r.rejected[0]["errors"] == ["entry: nested deeper than the limit of 8 levels"]


def test_field_count_limit_named() -> None:
    r = run({"ts": 1768818600, "msg": "m", **{f"k{i}": i for i in range(60)}})
    assert "entry: 62 fields exceeds the limit of 50 fields per event" in r.rejected[0]["errors"]


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({"labels": {"tenant": "other"}}, "labels.tenant"),
        ({"fields": {"labels": {"tenant": {"x": 1}}}}, "labels.tenant"),
        ({"labels.tenant": "other"}, "labels.tenant"),
        ({"service": {"name": {"hide": 1}}}, "service.name"),
        ({"service.name": "other"}, "service.name"),
        ({"fields": {"service": {"name.x": 1}}}, "service.name"),
        ({"labels": {"key_id": "forged"}}, "labels.key_id"),
        ({"meta": {"audit": True}}, "meta.audit"),
        ({"meta": {"key_id": "x"}}, "meta.key_id"),
    ],
)
def test_key_owned_paths_are_refused(event: dict, path: str) -> None:
    r = run({"ts": 1768818600, "msg": "m", **event})
    assert r.rejected and r.rejected[0]["errors"][0].startswith(f"{path}: set by the API key"), r.rejected


def test_key_values_applied_last_never_merged() -> None:
    assert one({"ts": 1768818600, "msg": "m"}, key=AUDIT_KEY).meta["audit"] is True
    r = run({"ts": 1768818600, "msg": "m", "meta": {"audit": False}}, key=AUDIT_KEY)
    assert r.rejected[0]["errors"][0].startswith("meta.audit: set by the API key")
    r = run({"ts": 1768818600, "msg": "m", "meta": {"environment": "dev"}})
    assert r.rejected[0]["errors"] == ["environment: this key is for environment 'prod'"]
    assert one({"ts": 1768818600, "msg": "m", "meta": {"environment": "prod"}}).meta["environment"] == "prod"


def test_raw_lines_go_through_the_same_builder() -> None:
    """The raw-line branch used to skip the future-skew check and stop at the first timestamp error."""
    r = run({"raw": "x", "timestamp": "2026-01-20T10:30:00Z"}, {"raw": "", "timestamp": "nope", "format": "zzz"})
    assert r.rejected[0]["errors"] == ["timestamp: in the future by 23 hours (allowed skew 300 s)"]
    errors = r.rejected[1]["errors"]
    assert any(e.startswith("timestamp:") for e in errors)
    assert "raw: must be a non-empty string" in errors
    assert any(e.startswith("format:") for e in errors)
    env = one({"raw": "GET /", "format": "nginx", "source_name": "access", "fields": {"log.offset": 3}})
    assert env.fields == {"log.offset": 3, "source_name": "access"}
