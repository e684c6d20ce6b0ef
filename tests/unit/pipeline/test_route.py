"""pipeline/route.py: the default retention-class routes, configurable rules, unknown classes refused."""

from __future__ import annotations

import pytest
from pipeline_testkit import make_event

from logharbor.config import ConfigError
from pipeline.route import RouteConfig, RouteStep


@pytest.mark.parametrize(
    ("level", "source", "meta", "expected"),
    [
        ("ERROR", "api", {}, "errors"),
        ("FATAL", "api", {}, "errors"),
        ("DEBUG", "api", {}, "debug"),
        ("INFO", "api", {}, "standard"),
        ("WARN", "api", {}, "standard"),
        (None, "api", {}, "standard"),
        ("ERROR", "audit", {}, "audit"),
        ("INFO", "iam-audit", {}, "audit"),
        ("INFO", "api", {"audit": True}, "audit"),
    ],
)
def test_default_routes(level, source, meta, expected) -> None:
    ev = make_event(None, message="m", level=level, source=source, meta=meta)
    assert RouteStep(RouteConfig()).process(ev).retention_class == expected


def test_route_rules_configurable() -> None:
    step = RouteStep(RouteConfig(rules=[{"retention_class": "audit", "field": "event.category", "equals": "iam"}]))
    ev = make_event(None, message="m", level="ERROR")
    ev.doc["event.category"] = "iam"
    assert step.process(ev).retention_class == "audit"


def test_route_unknown_class_fails_at_build() -> None:
    with pytest.raises(ConfigError, match="unknown retention class 'forever'"):
        RouteConfig(default_class="forever").build(None)  # type: ignore[arg-type]


def test_memoised_routes_follow_level_source_and_meta_flag() -> None:
    # One step, the inputs interleaved: the memo must never hand one event's class to another.
    step = RouteStep(RouteConfig())
    cases = [("INFO", "api", {}, "standard"), ("INFO", "api", {"audit": True}, "audit"),
             ("ERROR", "api", {}, "errors"), ("INFO", "db-audit", {}, "audit"), ("INFO", "api", {}, "standard"),
             ("INFO", "api", {"audit": 0}, "standard")]
    for level, source, meta, expected in cases * 2:
        ev = make_event(None, message="m", level=level, source=source, meta=meta)
        assert step.process(ev).retention_class == expected
    ev = make_event(None, message="m", level="INFO", source="api")
    ev.doc["service.name"] = "x-audit"  # a step renamed the service: its glob still decides
    assert step.process(ev).retention_class == "audit"
    # A field rule reads any value of the event: no memo.
    assert RouteStep(RouteConfig(rules=[{"retention_class": "audit", "field": "a", "equals": 1}]))._memo is None


def test_keep_original_false_drops_the_raw_line_in_that_class_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGHARBOR_STORAGE_KEEP_ORIGINAL", '{"debug": false, "errors": true}')
    step = RouteConfig().build(None)  # type: ignore[arg-type]
    events = {}
    for level in ("DEBUG", "ERROR", "INFO"):
        ev = make_event(None, message="parsed part", level=level)
        ev.doc["event.original"] = f"2026-12-02 {level} parsed part"
        events[level] = step.process(ev)
    assert events["DEBUG"].retention_class == "debug" and "event.original" not in events["DEBUG"].doc
    assert events["DEBUG"].doc["message"] == "parsed part"
    assert events["ERROR"].doc["event.original"] == "2026-12-02 ERROR parsed part"  # true: kept
    assert events["INFO"].doc["event.original"] == "2026-12-02 INFO parsed part"  # unset: kept


def test_keep_original_naming_an_unknown_class_fails_at_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGHARBOR_STORAGE_KEEP_ORIGINAL", '{"dbug": false}')
    with pytest.raises(ConfigError, match="unknown retention class 'dbug'"):
        RouteConfig().build(None)  # type: ignore[arg-type]
