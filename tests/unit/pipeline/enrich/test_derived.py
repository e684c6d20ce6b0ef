"""pipeline/enrich/derived.py: durations, error flag, hour/day and business hours in a zone."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline_testkit import make_event

from pipeline.enrich.derived import DerivedConfig, DerivedStep, duration_ms
from pipeline.timeparse import zone


def test_duration_parsing() -> None:
    assert duration_ms("duration_ms", 250) == 250
    assert duration_ms("duration", "1.5s") == 1500
    assert duration_ms("request_time", "0.25") == 250
    assert duration_ms("took", "soon") is None


def _derived(**cfg) -> DerivedStep:
    config = DerivedConfig(**cfg)
    return DerivedStep(config, zone(config.timezone or "UTC"))


def test_derived_fields() -> None:
    ev = make_event(None, message="m", level="error", fields={"duration_ms": 1800})
    ev.ts = datetime(2026, 1, 19, 10, 30, tzinfo=UTC)  # Monday
    doc = _derived(slow_threshold_ms=1000).process(ev).doc
    assert doc["event.duration_ms"] == 1800 and doc["event.duration"] == 1_800_000_000
    assert doc["event.duration_category"] == "slow"
    assert doc["event.is_error"] is True
    assert doc["event.hour_of_day"] == 10 and doc["event.day_of_week"] == 1
    assert doc["event.business_hours"] is True


def test_derived_in_a_zone_and_status_errors() -> None:
    ev = make_event(None, message="m", level="info", fields={"response_time": 20})
    ev.doc["http.response.status_code"] = 502
    ev.ts = datetime(2026, 1, 18, 23, 30, tzinfo=UTC)  # Sunday 23:30 UTC = Monday 08:30 Tokyo
    doc = _derived(timezone="Asia/Tokyo").process(ev).doc
    assert doc["event.duration_category"] == "normal" and doc["event.is_error"] is True
    assert doc["event.hour_of_day"] == 8 and doc["event.day_of_week"] == 1
    assert doc["event.business_hours"] is False  # 08:30 is before 09:00
