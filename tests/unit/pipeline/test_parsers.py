"""Parsers: each format on real-looking lines, malformed lines, auto-detection, time zones."""

from __future__ import annotations

import time

import pytest
from pipeline_testkit import make_event

from pipeline.parse import access_log, app_log, json_lines, logfmt, syslog
from pipeline.parse.detect import detect
from pipeline.parse.step import ParseConfig, ParseStep
from pipeline.settings import PipelineSettings

NGINX = '192.168.1.1 - - [19/Jan/2026:10:30:00 +0000] "GET /api/users HTTP/1.1" 200 1234 "-" "Mozilla/5.0"'
APP = "2026-01-19 10:30:00 ERROR [DatabaseService] Connection timeout after 30s"
SYSLOG_3164 = "<34>Jan 19 10:30:00 web-server app[1234]: User login failed"
SYSLOG_5424 = (
    "<165>1 2026-01-19T10:30:00.003Z mymachine.example.com evntslog 1234 ID47 "
    '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event'
)


def parse_step(**cfg) -> ParseStep:
    return ParseStep(ParseConfig(**cfg), PipelineSettings())


def test_json_normalises_message_level_and_time() -> None:
    out = json_lines.parse('{"msg": "payment done", "severity": "warning", "ts": "2026-01-19T10:30:00Z", "order": 7}')
    assert out == {"message": "payment done", "log.level": "WARN", "@timestamp": "2026-01-19T10:30:00Z", "order": 7}
    out = json_lines.parse('{"message": "x", "lvl": "err", "time": 1768818600, "ctx": {"a": {"b": 1}}}')
    assert out["log.level"] == "ERROR" and out["ctx.a.b"] == 1 and out["@timestamp"] == 1768818600


@pytest.mark.parametrize("line", ["{not json", "[1, 2]", '"just a string"', "{}x"])
def test_json_rejects_non_objects(line: str) -> None:
    assert json_lines.parse(line) is None


def test_nginx_combined() -> None:
    out = access_log.parse(NGINX)
    assert out is not None
    assert out["client.ip"] == "192.168.1.1"
    assert out["http.request.method"] == "GET"
    assert out["url.path"] == "/api/users"
    assert out["http.version"] == "1.1"
    assert out["http.response.status_code"] == 200
    assert out["http.response.body.bytes"] == 1234
    assert out["user_agent.original"] == "Mozilla/5.0"
    assert "http.request.referrer" not in out  # "-" means none
    assert out["@timestamp"].isoformat() == "2026-01-19T10:30:00+00:00"


def test_apache_common_with_user_query_and_dash_bytes() -> None:
    line = '10.0.0.7 - frank [10/Oct/2025:13:55:36 -0700] "POST /login?next=%2Fhome HTTP/1.0" 503 - '
    out = access_log.parse(line.strip())
    assert out is not None
    assert out["user.name"] == "frank"
    assert out["url.path"] == "/login" and out["url.query"] == "next=%2Fhome"
    assert out["http.response.status_code"] == 503 and out["log.level"] == "ERROR"
    assert "http.response.body.bytes" not in out
    assert out["@timestamp"].utcoffset().total_seconds() == -7 * 3600


def test_access_log_escaped_quotes_in_agent_and_referrer() -> None:
    line = (
        '2001:db8::1 - - [19/Jan/2026:10:30:00 +0000] "GET / HTTP/2.0" 404 0 '
        '"https://ex.com/?q=\\"x\\"" "curl/8.5.0 \\"quoted\\""'
    )
    out = access_log.parse(line)
    assert out is not None and out["client.ip"] == "2001:db8::1"
    assert out["http.request.referrer"] == 'https://ex.com/?q=\\"x\\"'
    assert out["log.level"] == "WARN"


def test_app_log_line() -> None:
    out = app_log.parse(APP)
    assert out == {
        "@timestamp": "2026-01-19 10:30:00",
        "log.level": "ERROR",
        "message": "Connection timeout after 30s",
        "log.logger": "DatabaseService",
        "service.component": "DatabaseService",
    }
    out = app_log.parse("2026-01-19T10:30:00,123+01:00 [WARN] cache almost full")
    assert out is not None and out["log.level"] == "WARN" and out["@timestamp"] == "2026-01-19T10:30:00.123+01:00"
    assert app_log.parse("2026-01-19 10:30:00 BANANA [x] not a level") is None


def test_syslog_3164() -> None:
    out = syslog.parse(SYSLOG_3164)
    assert out is not None
    assert out["log.syslog.facility.code"] == 4 and out["log.syslog.severity.code"] == 2
    assert out["log.level"] == "FATAL"  # severity 2 = critical
    assert out["host.name"] == "web-server" and out["process.name"] == "app" and out["process.pid"] == 1234
    assert out["message"] == "User login failed"


def test_syslog_5424_with_structured_data() -> None:
    out = syslog.parse(SYSLOG_5424)
    assert out is not None
    assert out["log.syslog.facility.code"] == 20 and out["log.syslog.severity.code"] == 5
    assert out["host.name"] == "mymachine.example.com" and out["process.name"] == "evntslog"
    assert out["process.pid"] == 1234 and out["log.syslog.msgid"] == "ID47"
    assert out["log.syslog.structured_data"] == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}
    }
    assert out["message"] == "An application event"
    nil = syslog.parse("<13>1 2026-01-19T10:30:00Z - - - - - ")
    assert nil is not None and "host.name" not in nil and nil["message"] == ""


@pytest.mark.parametrize("line", ["<34 Jan 19 bad", "<165>1 2026-01-19T10:30:00Z h a p m [unterminated sd"])
def test_syslog_malformed(line: str) -> None:
    assert syslog.parse(line) is None


def test_logfmt() -> None:
    out = logfmt.parse('ts=2026-01-19T10:30:00Z level=warn msg="disk \\"root\\" low" free=3% trace_id=ab12')
    assert out == {
        "@timestamp": "2026-01-19T10:30:00Z",
        "log.level": "WARN",
        "message": 'disk "root" low',
        "free": "3%",
        "trace_id": "ab12",
    }
    assert logfmt.parse("user bob logged in with a=b") is None  # prose is not logfmt


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        (NGINX, "nginx"),
        (APP, "app"),
        (SYSLOG_3164, "syslog"),
        (SYSLOG_5424, "syslog"),
        ('{"msg": "x"}', "json"),
        ("a=1 b=2 msg=hi", "logfmt"),
        ("Jan 19 10:30:00 host sshd[1]: hi", "syslog"),
    ],
)
def test_detect(line: str, fmt: str) -> None:
    found = detect(line)
    assert found is not None and found[0] == fmt


@pytest.mark.parametrize("line", ["", "what is this", "12345", "{broken json", "<<<>>>"])
def test_unparseable_line_is_kept_and_tagged(line: str) -> None:
    ev = parse_step().process(make_event(line))
    assert ev.doc["message"] == line
    assert "parse_failure" in ev.tags
    assert ev.doc["@timestamp"] == "2026-01-19T10:31:00.000Z"  # received_at stands in


def test_explicit_hint_falls_back_to_detection() -> None:
    ev = parse_step().process(make_event(APP, fmt="nginx"))
    assert ev.format == "app" and "parse_failure" not in ev.tags


def test_text_hint_is_not_a_failure() -> None:
    ev = parse_step().process(make_event("free prose", fmt="text"))
    assert ev.tags == [] and ev.doc["message"] == "free prose"


def test_zone_less_timestamps_use_the_source_zone() -> None:
    step = parse_step(timezones={"legacy-*": "Europe/Berlin"})
    berlin = step.process(make_event(APP, source="legacy-billing"))
    utc = step.process(make_event(APP, source="web"))
    assert berlin.doc["@timestamp"] == "2026-01-19T09:30:00.000Z"  # CET = UTC+1 in January
    assert utc.doc["@timestamp"] == "2026-01-19T10:30:00.000Z"
    # An explicit offset in the line wins over the source zone.
    nginx = step.process(make_event(NGINX, source="legacy-billing"))
    assert nginx.doc["@timestamp"] == "2026-01-19T10:30:00.000Z"


def test_default_zone_setting() -> None:
    step = ParseStep(ParseConfig(), PipelineSettings(default_timezone="America/New_York"))
    assert step.process(make_event(APP)).doc["@timestamp"] == "2026-01-19T15:30:00.000Z"


def test_unknown_zone_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        ParseConfig(timezones={"x": "Mars/Olympus"})


def test_structured_event_keeps_its_fields_and_time() -> None:
    ev = make_event(
        None,
        message="hello",
        level="warning",
        timestamp="2026-01-19T10:30:00+02:00",
        fields={"user": {"id": "u1"}, "order_id": 5},
    )
    ev = parse_step().process(ev)
    assert ev.doc["message"] == "hello" and ev.doc["log.level"] == "WARN"
    assert ev.doc["@timestamp"] == "2026-01-19T08:30:00.000Z"
    assert ev.doc["user.id"] == "u1" and ev.doc["order_id"] == 5


def test_envelope_level_wins_over_line_level() -> None:
    ev = parse_step().process(make_event(APP, level="info"))
    assert ev.doc["log.level"] == "INFO"


@pytest.mark.parametrize(
    "parser",
    [access_log.parse, app_log.parse, syslog.parse, logfmt.parse, json_lines.parse, detect],
)
def test_no_catastrophic_backtracking(parser) -> None:
    # Adversarial near-misses of every pattern; each must fail fast (linear time).
    evil = [
        "1" * 20000 + " - - [" + "x" * 20000,
        '1.1.1.1 - - [19/Jan/2026:10:30:00 +0000] "' + "\\" * 30000,
        "2026-01-19 10:30:00 " + "[" * 30000,
        "<1>1 " + "a " * 15000,
        "<13>1 2026-01-19T10:30:00Z h a p m " + "[x " + 'k="v" ' * 5000,
        "a=" + '"' + "\\x" * 15000,
        "Jan 19 10:30:00 " + "h" * 30000,
    ]
    started = time.perf_counter()
    for line in evil:
        parser(line)
    assert time.perf_counter() - started < 1.0


def test_parsed_and_failures_counted_by_format() -> None:
    from prometheus_client import REGISTRY

    from pipeline.step import Chain

    def value(name: str, fmt: str) -> float:
        return REGISTRY.get_sample_value(f"logharbor_pipeline_{name}_total", {"format": fmt}) or 0.0

    failed, parsed = value("parse_failures", "nginx"), value("parsed_lines", "app")
    Chain([parse_step()]).run(
        [make_event("garbage", fmt="nginx"), make_event("more garbage", fmt="nginx"), make_event(APP)]
    )
    assert value("parse_failures", "nginx") == failed + 2
    assert value("parsed_lines", "app") == parsed + 1
