"""Validation rules of the ingest contract: each error names the field and the limit."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.validate import (
    BatchError,
    KeyContext,
    ValidationLimits,
    check_content_type,
    human_duration,
    parse_batch,
    parse_timestamp,
    validate_batch,
)
from logharbor.envelope import Envelope
from logharbor.ids import stable_id

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
KEY = KeyContext(key_id="abcdefgh2345", tenant="acme", source="web", environment="prod")
LIM = ValidationLimits(max_message_bytes=100, max_entry_bytes=400, max_events=50, future_skew_s=300)


def run(body: bytes, kind: str = "auto", idem: str | None = None, limits: ValidationLimits = LIM):
    return validate_batch(parse_batch(body, kind, limits), KEY, idempotency_key=idem, limits=limits, now=NOW)


def ev(**kw) -> dict:
    base = {"timestamp": "2026-05-01T11:59:00Z", "level": "info", "message": "hello"}
    base.update(kw)
    return base


def nd(*events) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events)


def test_array_and_ndjson_give_the_same_envelopes() -> None:
    events = [ev(message="a"), ev(message="b", host="h1", fields={"x": 1})]
    a = run(orjson.dumps(events), "json", idem="k")
    b = run(nd(*events), "ndjson", idem="k")
    assert [e.as_dict() for e in a.envelopes] == [e.as_dict() for e in b.envelopes]
    assert a.envelopes[1].fields == {"x": 1} and a.envelopes[1].host == "h1"


def test_tenant_source_environment_come_from_the_key() -> None:
    env = run(nd(ev())).envelopes[0]
    assert (env.tenant, env.source, env.key_id, env.meta["environment"]) == ("acme", "web", KEY.key_id, "prod")
    # the envelope survives the Kafka round trip unchanged
    assert Envelope.from_bytes(env.to_bytes()) == env


def test_other_tenant_or_source_in_body_rejects_that_entry_only() -> None:
    r = run(nd(ev(), ev(tenant="other"), ev(source="db"), ev(tenant="acme", source="web")))
    assert len(r.envelopes) == 2
    assert [x["index"] for x in r.rejected] == [1, 2]
    assert "tenant: this key writes for tenant 'acme' only" in r.rejected[0]["errors"][0]
    assert r.rejected[1]["errors"][0].startswith("source:")


def test_future_timestamp_message_names_skew() -> None:
    r = run(nd(ev(timestamp="2026-05-04T12:00:00Z")))
    assert r.rejected[0]["errors"] == ["timestamp: in the future by 3 days (allowed skew 300 s)"]
    assert not run(nd(ev(timestamp="2026-05-01T12:04:00Z"))).rejected  # inside the skew


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-05-01T10:00:00Z", "2026-05-01T10:00:00"),
        ("2026-05-01T12:00:00+02:00", "2026-05-01T10:00:00"),
        ("2026-05-01T10:00:00.123456789Z", "2026-05-01T10:00:00.123456"),
        ("2026-05-01 10:00:00", "2026-05-01T10:00:00"),
        (1777629600, "2026-05-01T10:00:00"),
        (1777629600000, "2026-05-01T10:00:00"),
        (1777629600.5, "2026-05-01T10:00:00.5"),
        ("1777629600", "2026-05-01T10:00:00"),
    ],
)
def test_timestamp_forms(value, expected: str) -> None:
    assert parse_timestamp(value).astimezone(UTC).isoformat().startswith(expected)


@pytest.mark.parametrize("value", ["yesterday", "", True, None, [1], float("nan"), 1e300])
def test_bad_timestamps_are_named(value) -> None:
    r = run(orjson.dumps([ev(timestamp=value)]) if value == value else nd(ev(timestamp="x")))
    errors = r.rejected[0]["errors"]
    assert errors[0].startswith("timestamp:")


def test_missing_timestamp_and_message() -> None:
    r = run(nd({"level": "info"}))
    errors = r.rejected[0]["errors"]
    assert any(e.startswith("timestamp: required (as timestamp, @timestamp, time") for e in errors), errors
    assert any(e.startswith("message: required, a non-empty string") for e in errors), errors
    assert "message: must be a non-empty string" in run(nd(ev(message="   "))).rejected[0]["errors"]


def test_levels_normalised_and_original_kept() -> None:
    r = run(nd(ev(level="warning"), ev(level="ERROR"), ev(level=3), ev(level="bogus")))
    assert [e.level for e in r.envelopes] == ["WARN", "ERROR", "ERROR"]
    assert r.envelopes[0].meta["level_original"] == "warning"
    assert "level_original" not in r.envelopes[1].meta
    assert r.rejected[0]["errors"][0].startswith("level: 'bogus' is not one of DEBUG, INFO, WARN, ERROR, FATAL")


def test_absent_level_defaults_to_info() -> None:
    e = dict(ev())
    del e["level"]
    assert run(nd(e)).envelopes[0].level == "INFO"


def test_message_and_entry_limits_name_the_limit() -> None:
    r = run(nd(ev(message="x" * 101)))
    assert r.rejected[0]["errors"] == ["message: 101 bytes exceeds the limit of 100 bytes"]
    r = run(nd(ev(fields={"blob": "y" * 500})))
    assert r.rejected[0]["errors"][0].startswith("entry: ")
    assert "exceeds the limit of 400 bytes" in r.rejected[0]["errors"][0]
    r = run(orjson.dumps([ev(fields={"blob": "y" * 500})]), "json")
    assert "exceeds the limit of 400 bytes" in r.rejected[0]["errors"][0]


def test_extra_top_level_fields_are_event_data() -> None:
    r = run(nd(ev(colour="red", fields={"size": 3})))
    assert not r.rejected
    assert r.envelopes[0].fields == {"colour": "red", "size": 3}


def test_raw_lines_skip_field_validation_but_not_size() -> None:
    r = run(
        nd(
            {"raw": "127.0.0.1 - - [x] GET / 200", "format": "nginx"},
            {"raw": "z" * 500},
            {"raw": ""},
            {"raw": "a", "format": "cobol"},
        )
    )
    assert len(r.envelopes) == 1 and r.envelopes[0].format == "nginx" and r.envelopes[0].timestamp is None
    assert [x["index"] for x in r.rejected] == [1, 2, 3]
    assert r.rejected[2]["errors"][0].startswith("format: 'cobol' is not one of")
    assert run(nd({"raw": "line"})).envelopes[0].format == "auto"


def test_ids_idempotency_key_is_stable_per_position() -> None:
    a = run(nd(ev(), ev()), idem="batch-1")
    b = run(nd(ev(), ev()), idem="batch-1")
    assert [e.id for e in a.envelopes] == [e.id for e in b.envelopes]
    assert a.envelopes[0].id == stable_id(KEY.key_id, "batch-1", 0)
    assert a.envelopes[0].id != a.envelopes[1].id
    fresh = run(nd(ev(), ev()))
    assert len({e.id for e in fresh.envelopes} | {e.id for e in a.envelopes}) == 4
    assert len(fresh.envelopes[0].id) == 26  # ULID


def test_shipper_ids_are_honoured_when_valid() -> None:
    r = run(nd(ev(id="host1:/var/log/x:123:456"), ev(id="short"), ev(id=5)), idem="k")
    assert r.envelopes[0].id == "host1:/var/log/x:123:456"
    assert [x["index"] for x in r.rejected] == [1, 2]
    no_trust = ValidationLimits(trust_event_ids=False)
    env = run(nd(ev(id="host1:/var/log/x:123:456")), idem="k", limits=no_trust).envelopes[0]
    assert env.id == stable_id(KEY.key_id, "k", 0)


def test_ndjson_bad_line_does_not_sink_neighbours() -> None:
    r = run(nd(ev()) + b"\n{broken\n\n" + nd(ev()))
    assert len(r.envelopes) == 2
    assert r.rejected[0]["index"] == 1 and r.rejected[0]["errors"][0].startswith("entry: invalid JSON")


def test_batch_level_errors() -> None:
    with pytest.raises(BatchError, match="empty"):
        run(b"  \n ")
    with pytest.raises(BatchError, match="invalid JSON"):
        run(b"[{]", "json")
    with pytest.raises(BatchError, match="the JSON array is empty"):
        run(b"[]", "json")
    with pytest.raises(BatchError, match="exceeds the limit of 50") as exc:
        run(orjson.dumps([ev()] * 51), "json")
    assert exc.value.status == 413
    r = run(orjson.dumps([1, "x", None]), "json")
    assert [e["errors"][0] for e in r.rejected] == [
        "entry: must be a JSON object, not int",
        "entry: must be a JSON object, not str",
        "entry: must be a JSON object, not NoneType",
    ]


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (None, "auto"),
        ("application/json", "json"),
        ("application/json; charset=utf-8", "json"),
        ("application/x-ndjson", "ndjson"),
        ("Application/NDJSON", "ndjson"),
        ("text/plain", "ndjson"),
    ],
)
def test_content_types(header, kind) -> None:
    assert check_content_type(header) == kind


@pytest.mark.parametrize("header", ["text/html", "application/xml", "multipart/form-data; boundary=x"])
def test_unknown_content_type_is_415(header: str) -> None:
    with pytest.raises(BatchError) as exc:
        check_content_type(header)
    assert exc.value.status == 415 and "Content-Type" in str(exc.value)


def test_human_duration() -> None:
    assert human_duration(3 * 86400 + 5) == "3 days"
    assert human_duration(3600) == "1 hour"
    assert human_duration(59) == "59 s"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                ["timestamp", "level", "message", "host", "fields", "raw", "format", "id", "tenant", "source", "x"]
            ),
            json_values,
        ),
        min_size=1,
        max_size=10,
    )
)
def test_any_json_entries_are_accepted_or_rejected_never_crash(entries) -> None:
    r = run(orjson.dumps(entries), "json")
    assert len(r.envelopes) + len(r.rejected) == len(entries)
    for e in r.envelopes:
        assert e.tenant == "acme" and e.source == "web"
        Envelope.from_bytes(e.to_bytes())
    for rej in r.rejected:
        assert rej["errors"] and all(":" in m for m in rej["errors"])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=500))
def test_any_bytes_parse_or_raise_batch_error(body: bytes) -> None:
    try:
        r = run(body)
    except BatchError as exc:
        assert exc.status in (400, 413)
        return
    assert r.envelopes or r.rejected


def test_batch_ulids_match_the_shared_format_and_are_unique() -> None:
    import re

    from gateway.validate import UlidBatch
    from logharbor.ids import new_ulid

    ms = 1_777_629_600_123
    ids = UlidBatch(ms)
    made = [ids() for _ in range(2000)]
    assert len(set(made)) == 2000
    crockford = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
    assert all(crockford.match(i) for i in made)
    assert made[0][:10] == new_ulid(ms)[:10]  # same time encoding as logharbor.ids
    later = UlidBatch(ms + 1)()
    assert later > max(made)  # ULIDs sort by time


def test_shipper_raw_lines_with_id_and_fields_are_accepted_as_sent() -> None:
    """The exact shape shipper/event.py encode_event() sends."""
    line = orjson.dumps(
        {
            "id": "0123456789abcdef0123456789abcdef",
            "raw": "GET / 200",
            "format": "nginx",
            "host": "web-1",
            "timestamp": "2026-05-01T11:59:00.123Z",
            "fields": {"log": {"file": {"path": "/var/log/nginx/access.log"}}},
        }
    )
    r = run(line, "ndjson", idem="batch-x")
    assert not r.rejected
    env = r.envelopes[0]
    assert env.id == "0123456789abcdef0123456789abcdef"
    assert env.fields == {"log": {"file": {"path": "/var/log/nginx/access.log"}}}
    assert (env.raw, env.format, env.host, env.timestamp) == (
        "GET / 200",
        "nginx",
        "web-1",
        "2026-05-01T11:59:00.123000Z",
    )
    assert run(orjson.dumps({"raw": "x", "fields": [1]}), "ndjson").rejected[0]["errors"] == [
        "fields: must be a JSON object"
    ]


def test_audit_keys_mark_their_events_for_the_audit_route() -> None:
    audit_key = KeyContext(key_id="abcdefgh2345", tenant="acme", source="web", audit=True)
    entries = parse_batch(nd(ev(), {"raw": "x"}), "ndjson", LIM)
    r = validate_batch(entries, audit_key, limits=LIM, now=NOW)
    assert [e.meta.get("audit") for e in r.envelopes] == [True, True]
    assert "audit" not in run(nd(ev())).envelopes[0].meta


def test_pretty_printed_single_object_and_mislabelled_ndjson() -> None:
    pretty = orjson.dumps(ev(message="pretty"), option=orjson.OPT_INDENT_2)
    assert b"\n" in pretty
    r = run(pretty, "json")
    assert [e.message for e in r.envelopes] == ["pretty"]
    r = run(nd(ev(message="a"), ev(message="b")), "json")  # NDJSON sent as application/json
    assert [e.message for e in r.envelopes] == ["a", "b"]
    assert [e.message for e in run(orjson.dumps(ev(message="one")), "json").envelopes] == ["one"]


def _time_forms(d: datetime) -> list[str]:
    from datetime import timedelta, timezone

    return [
        d.isoformat(), d.isoformat().replace("+00:00", "Z"),
        d.isoformat(timespec="milliseconds").replace("+00:00", "Z"), d.isoformat(timespec="milliseconds"),
        d.replace(tzinfo=None).isoformat(), d.isoformat(sep=" "), d.isoformat(timespec="seconds"),
        d.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(), d.strftime("%Y-%m-%dT%H:%M:%S,%fZ"),
        d.isoformat() + " ", d.strftime("%Y%m%dT%H%M%SZ"), str(int(d.timestamp() * 1000)), d.isoformat()[:-6] + "z",
    ]


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31)))
def test_the_gateways_timestamp_fast_paths_agree_with_the_shared_rules(naive: datetime) -> None:
    """validate.py reads fromisoformat's common forms and writes the wire form without
    logharbor.timestamps (issue 13, CPU per event); the answer must be that module's, or the same error."""
    from gateway.validate import ValidationLimits, _timestamp
    from logharbor.timestamps import format_wire, parse_event_time

    now = datetime(9999, 1, 1, tzinfo=UTC)  # the future-skew rule is not under test here
    for value in _time_forms(naive.replace(tzinfo=UTC)):
        errors: list[str] = []
        got = _timestamp(value, now, ValidationLimits(), errors, "timestamp", True, {})
        try:
            want = format_wire(parse_event_time(value))
        except ValueError as exc:
            assert got is None and errors == [f"timestamp: {exc}"], value
        else:
            assert got == want and not errors, value
