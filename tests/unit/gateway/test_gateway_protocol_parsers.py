"""OTLP mapping v1, GELF decoding and chunk reassembly, syslog parsing and TCP framing (pure functions)."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from gateway import gelf, otlp, syslog_parse


def _otlp_json(records: list[dict], resource: list[dict] | None = None) -> bytes:
    return orjson.dumps({"resourceLogs": [{"resource": {"attributes": resource or []},
                                           "scopeLogs": [{"scope": {"name": "s", "version": "1"},
                                                          "logRecords": records}]}]})


def test_otlp_json_mapping_v1() -> None:
    body = _otlp_json(
        [{"timeUnixNano": "1768816800123456789", "observedTimeUnixNano": 1768816801000000000, "severityNumber": 17,
          "severityText": "", "body": {"kvlistValue": {"values": [{"key": "msg", "value": {"stringValue": "hi"}},
                                                                 {"key": "n", "value": {"intValue": "3"}}]}},
          "attributes": [{"key": "exception.message", "value": {"stringValue": "boom"}},
                         {"key": "order.id", "value": {"stringValue": "o1"}}],
          "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "eee19b7ec3c1b174"}],
        resource=[{"key": "service.name", "value": {"stringValue": "svc"}},
                  {"key": "host.name", "value": {"stringValue": "h1"}}])
    [rec] = otlp.decode_json(body)
    [event] = otlp.to_events([rec], received_at="now", tenant="t", source="s")
    f = event["fields"]
    assert event["timestamp"] == "2026-01-19T10:00:00.123456789Z" and event["level"] == "ERROR"
    assert event["message"] == "hi" and event["host"] == "h1" and f["n"] == 3
    assert f["error"]["message"] == "boom" and f["order"]["id"] == "o1"
    assert f["trace"]["id"] == "5b8efff798038103d269b633813fc60c" and f["span"]["id"] == "eee19b7ec3c1b174"
    assert f["resource"]["attributes"]["service"]["name"] == "svc" and f["log"]["logger"] == "s"
    assert f["otel"]["time_unix_nano"] == 1768816800123456789 and f["otel"]["mapping_version"] == "1"
    assert f["event"]["created"].startswith("2026-01-19T10:00:01")


def test_otlp_ids_are_stable_and_distinct_for_repeated_records() -> None:
    same = {"timeUnixNano": "1", "body": {"stringValue": "x"}}
    recs = otlp.decode_json(_otlp_json([same, same]))
    a = [e["id"] for e in otlp.to_events(recs, received_at="n", tenant="t", source="s")]
    b = [e["id"] for e in otlp.to_events(otlp.decode_json(_otlp_json([same, same])), received_at="n", tenant="t",
                                         source="s")]
    assert a == b and a[0] != a[1]


def test_otlp_protobuf_and_severity_text() -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

    req = ExportLogsServiceRequest()
    req.resource_logs.add().scope_logs.add().log_records.append(
        LogRecord(severity_number=9, severity_text="warning", body=AnyValue(string_value="w")))
    [event] = otlp.to_events(otlp.decode_protobuf(req.SerializeToString()), received_at="arrival", tenant="t",
                             source="s")
    assert event["level"] == "warning" and event["timestamp"] == "arrival"  # text wins when it names a level
    with pytest.raises(otlp.OtlpDecodeError):
        otlp.decode_protobuf(b"\x0a\xff\xff")
    with pytest.raises(otlp.OtlpDecodeError):
        otlp.decode_json(b'{"resourceLogs": 3}')


def test_gelf_message_to_event() -> None:
    msg = {"version": "1.1", "host": "h", "short_message": "s", "timestamp": 1768816800.5, "level": 3,
           "full_message": "Traceback (most recent call last):\n  x", "_user_id": 7, "_id": "drop", "facility": "app"}
    event = gelf.to_event(msg, received_at="now")
    assert event["timestamp"] == "2026-01-19T10:00:00.500000+00:00" and event["level"] == "ERROR"
    assert event["fields"]["user_id"] == 7 and "id" not in event["fields"]
    assert event["fields"]["error"]["stack_trace"].startswith("Traceback")
    assert event["fields"]["log"]["syslog"]["facility"]["name"] == "app"
    for bad, field in (({"host": "h", "short_message": "s"}, "version"), ({"version": "1.1", "short_message": "s"},
                       "host"), ({"version": "1.1", "host": "h"}, "short_message"),
                       ({"version": "1.1", "host": "h", "short_message": "s", "level": 9}, "level")):
        with pytest.raises(gelf.GelfError, match=field):
            gelf.to_event(bad, received_at="now")


def test_gelf_inflate_by_magic_and_cap() -> None:
    raw = b'{"version":"1.1","host":"h","short_message":"s"}'
    assert gelf.inflate(gzip.compress(raw), 1000) == raw == gelf.inflate(zlib.compress(raw), 1000)
    assert gelf.inflate(raw, 1000) == raw
    with pytest.raises(gelf.GelfError, match="limit"):
        gelf.inflate(zlib.compress(b"{" + b" " * 10_000 + b"}"), 1000)


def _chunks(msg_id: bytes, payload: bytes, n: int) -> list[bytes]:
    size = -(-len(payload) // n)
    return [gelf.CHUNK_MAGIC + msg_id + bytes([i, n]) + payload[i * size:(i + 1) * size] for i in range(n)]


def test_chunk_reassembly_out_of_order_expiry_and_caps() -> None:
    a = gelf.ChunkAssembler(timeout_s=5, max_bytes=10_000)
    parts = _chunks(b"12345678", b"abcdefghij" * 10, 4)
    assert [a.feed("p", c, now=0) for c in (parts[2], parts[0], parts[3])] == [None, None, None]
    assert a.feed("other-sender", parts[1], now=1) is None  # keyed by sender too
    assert a.feed("p", parts[1], now=1) == b"abcdefghij" * 10 and a.bytes == 25
    assert a.feed("p", _chunks(b"aaaaaaaa", b"xy", 2)[0], now=2) is None
    a.expire(now=8)
    assert a.dropped["chunk_timeout"] == 2 and a.bytes == 0 and not a.pending
    too_many = gelf.CHUNK_MAGIC + b"bbbbbbbb" + bytes([0, 129]) + b"x"
    assert a.feed("p", too_many, now=9) is None and a.dropped["too_many_chunks"] == 1
    small = gelf.ChunkAssembler(max_bytes=30)
    small.feed("p", _chunks(b"cccccccc", b"z" * 40, 2)[0], now=0)
    small.feed("q", _chunks(b"dddddddd", b"z" * 40, 2)[0], now=0)
    assert small.dropped["memory_cap"] == 1 and small.bytes <= 30
    assert a.feed("p", b"plain", now=10) == b"plain"


def test_syslog_5424_with_structured_data_and_3164_in_zone() -> None:
    now = datetime(2026, 1, 19, 12, 0, tzinfo=UTC)
    e = syslog_parse.parse('<165>1 2026-01-19T10:00:00.5Z host app 42 ID7 [a@1 k="v\\"q" x="]"][b y="z"] \ufeffhello',
                           now=now)
    sd = e["fields"]["log"]["syslog"]["structured_data"]
    assert sd == {"a@1": {"k": 'v"q', "x": "]"}, "b": {"y": "z"}} and e["message"] == "hello"
    assert e["level"] == "INFO" and e["host"] == "host" and e["fields"]["process"] == {"name": "app", "pid": 42}
    e = syslog_parse.parse("<11>Jan 19 11:30:00 web nginx[7]: upstream down", tz=ZoneInfo("Europe/Berlin"), now=now)
    assert datetime.fromisoformat(e["timestamp"]).astimezone(UTC) == datetime(2026, 1, 19, 10, 30, tzinfo=UTC)
    assert e["level"] == "ERROR" and e["message"] == "upstream down"
    assert e["fields"]["log"]["syslog"]["appname"] == "nginx"
    e = syslog_parse.parse("<11>Dec 31 23:59:00 web app: late", now=now)  # a year ago, not in eleven months
    assert e["timestamp"].startswith("2025-12-31")
    assert syslog_parse.parse("no pri at all", now=now)["fields"]["log"]["syslog"]["priority"] == 13
    with pytest.raises(syslog_parse.SyslogError):
        syslog_parse.parse("<13>1 - - - - - -", now=now)


def test_framing_octet_counted_and_delimited() -> None:
    f = syslog_parse.Framer(100)
    assert f.feed(b"5 hel") == [] and f.feed(b"lo3 abc") == [b"hello", b"abc"]
    with pytest.raises(syslog_parse.FrameError):
        syslog_parse.Framer(10).feed(b"50 x")
    d = syslog_parse.Framer(10)
    assert d.feed(b"<1>a\n<2>b\x00<3>" + b"x" * 20) == [b"<1>a", b"<2>b"]
    assert d.feed(b"y\n<4>c") == [] and d.finish() == [b"<4>c"] and d.oversize == 1


def test_every_protocol_setting_is_documented_with_its_default() -> None:
    import re
    from pathlib import Path

    from gateway.protocol_settings import ListenerSettings, ProtocolSettings

    doc = (Path(__file__).resolve().parents[3] / "docs" / "INTEGRATIONS.md").read_text()
    table = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", doc, flags=re.M))
    for name, field in ProtocolSettings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = table[name].strip()
        assert shown == ("none" if default in (None, []) else str(default).lower() if isinstance(default, bool)
                         else str(default)), name
    for name in ListenerSettings.model_fields:
        assert f"`{name}`" in doc, f"listener setting {name} is not in docs/INTEGRATIONS.md"
