"""Filter rule kinds, and the five contract examples through the default rules."""

from __future__ import annotations

import pytest
from pipeline_testkit import make_event
from prometheus_client import REGISTRY

from pipeline.filter.drop_content import DropContentConfig, DropContentStep
from pipeline.filter.level_floor import LevelFloorConfig, LevelFloorStep
from pipeline.filter.sample import SampleConfig, SampleStep
from pipeline.filter.source_filter import SourceFilterConfig, SourceFilterStep
from pipeline.step import Chain


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"logharbor_pipeline_{name}_total", labels) or 0.0


PROD = {"environment": "production"}


def run(chain, event):
    result = chain.run([event])
    assert not result.failed, result.failed
    return result.kept[0] if result.kept else None


# --- the five examples from the issue, through the built-in rules -----------------------------


def test_debug_dropped_in_production(default_chain) -> None:
    before = counter("dropped_events", rule="production_min_level")
    ev = make_event("2026-01-19 10:30:00 DEBUG [Cache] warming keys", meta=PROD)
    assert run(default_chain, ev) is None
    assert counter("dropped_events", rule="production_min_level") == before + 1
    # the same line outside production is kept
    assert run(default_chain, make_event("2026-01-19 10:30:00 DEBUG [Cache] warming keys")) is not None


def test_healthcheck_dropped(default_chain) -> None:
    before = counter("dropped_events", rule="health_checks")
    line = '10.0.0.2 - - [19/Jan/2026:10:30:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"'
    assert run(default_chain, make_event(line)) is None
    assert counter("dropped_events", rule="health_checks") == before + 1


def test_failing_healthcheck_is_kept(default_chain) -> None:
    line = '10.0.0.2 - - [19/Jan/2026:10:30:00 +0000] "GET /health HTTP/1.1" 503 2 "-" "kube-probe/1.29"'
    assert run(default_chain, make_event(line)) is not None


def test_error_kept_in_production(default_chain) -> None:
    ev = run(
        default_chain, make_event("2026-01-19 10:30:00 ERROR [DatabaseService] Connection timeout after 30s", meta=PROD)
    )
    assert ev is not None and ev.doc["log.level"] == "ERROR" and ev.retention_class == "errors"


def test_password_redacted(default_chain) -> None:
    before = counter("redactions", rule="secret_kv")
    ev = run(default_chain, make_event("2026-01-19 10:30:00 WARN [Auth] login attempt user=bob password=hunter2"))
    assert ev.doc["message"] == "login attempt user=bob password=[REDACTED]"
    assert "hunter2" not in ev.doc["event.original"]
    assert counter("redactions", rule="secret_kv") >= before + 2


def test_card_masked(default_chain) -> None:
    ev = run(default_chain, make_event("2026-01-19 10:30:00 INFO [Billing] charge card=4532-1111-2222-3333 ok"))
    assert ev.doc["message"] == "charge card=****-****-****-3333 ok"


# --- each rule kind ----------------------------------------------------------------------------


def test_level_floor_first_matching_rule_wins() -> None:
    step = LevelFloorStep(
        LevelFloorConfig(
            rules=[
                {"environment": "production", "service": "payments", "min_level": "ERROR"},
                {"environment": "prod*", "min_level": "WARN"},
            ]
        )
    )

    def ev(level, service):
        e = make_event(None, message="m", level=level, source=service)
        e.doc["labels.environment"] = "production"
        return e

    assert step.process(ev("WARN", "payments")) is None
    assert step.process(ev("ERROR", "payments")) is not None
    assert step.process(ev("WARN", "web")) is not None
    assert step.process(ev("INFO", "web")) is None
    no_level = make_event(None, message="m")
    no_level.doc["labels.environment"] = "staging"
    assert step.process(no_level) is not None


def test_level_floor_rejects_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown level"):
        LevelFloorConfig(rules=[{"min_level": "LOUD"}])


def test_drop_content_phrases_patterns_and_levels() -> None:
    step = DropContentStep(
        DropContentConfig(name="noise", contains=["Heartbeat"], patterns=[r"^ping \d+$"], levels=["INFO"])
    )
    assert step.process(make_event(None, message="worker heartbeat ok", level="info")) is None
    assert step.process(make_event(None, message="ping 42", level="info")) is None
    assert step.process(make_event(None, message="heartbeat missed!", level="error")) is not None
    assert step.process(make_event(None, message="real work", level="info")) is not None


def test_drop_content_refuses_catastrophic_pattern() -> None:
    with pytest.raises(ValueError, match="nests quantifiers"):
        DropContentStep(DropContentConfig(patterns=[r"(a+)+$"]))


def test_source_filter_drop_and_keep() -> None:
    drop = SourceFilterStep(SourceFilterConfig(drop=["noisy-*"]))
    assert drop.process(make_event(None, message="m", source="noisy-cron")) is None
    assert drop.process(make_event(None, message="m", source="api")) is not None
    keep = SourceFilterStep(SourceFilterConfig(keep=["api", "web-*"]))
    assert keep.process(make_event(None, message="m", source="web-1")) is not None
    assert keep.process(make_event(None, message="m", source="batch")) is None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sampling_folds_repeats_and_records_counts() -> None:
    clock = Clock()
    step = SampleStep(SampleConfig(name="repeats", threshold=5, keep=2, window_s=60), clock=clock)
    chain = Chain([step])
    events = [
        make_event(None, message=f"timeout calling svc after {i}ms id=af{i:04x}", level="warn") for i in range(50)
    ]
    before = counter("sampled_folded_events", rule="repeats")
    kept = chain.run(events).kept
    assert len(kept) == 5 + 2  # threshold passes, then `keep` samples
    assert counter("sampled_folded_events", rule="repeats") == before + 43
    assert counter("dropped_events", rule="repeats") >= 43
    # a different message is not affected
    assert chain.run([make_event(None, message="other thing", level="warn")]).kept
    # next window: the first kept event carries how many were folded since the last sample
    clock.now += 60
    nxt = chain.run([make_event(None, message="timeout calling svc after 1ms id=ff01", level="warn")]).kept
    assert nxt[0].doc["event.sampled_count"] == 43
    assert sum(e.doc.get("event.sampled_count", 0) for e in kept + nxt) + len(kept) + len(nxt) == 51


def test_sampling_spreads_samples_using_previous_rate() -> None:
    clock = Clock()
    step = SampleStep(SampleConfig(threshold=0, keep=4, window_s=60), clock=clock)
    mk = lambda: make_event(None, message="same", level="info")  # noqa: E731
    for _ in range(100):
        step.process(mk())
    clock.now += 60
    passed = [i for i in range(100) if step.process(mk()) is not None]
    assert passed == [0, 25, 50, 75]  # spread over the window, not the first four
