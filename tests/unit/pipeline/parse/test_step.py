"""pipeline/parse/step.py: the parse step — failures kept and tagged, hints, time zones, structured events, counters."""

from __future__ import annotations

import pytest
from pipeline_testkit import make_event

from pipeline.parse.step import ParseConfig, ParseStep
from pipeline.settings import PipelineSettings

from .samples import APP, NGINX


def parse_step(**cfg) -> ParseStep:
    return ParseStep(ParseConfig(**cfg), PipelineSettings())


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
