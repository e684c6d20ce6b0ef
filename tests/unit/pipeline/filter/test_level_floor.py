"""pipeline/filter/level_floor.py: the first matching rule sets the floor; unknown levels refused."""

from __future__ import annotations

import pytest
from pipeline_testkit import make_event

from pipeline.filter.level_floor import LevelFloorConfig, LevelFloorStep


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
