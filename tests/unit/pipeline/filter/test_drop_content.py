"""pipeline/filter/drop_content.py: phrases, patterns and levels; catastrophic patterns refused."""

from __future__ import annotations

import pytest
from pipeline_testkit import make_event

from pipeline.filter.drop_content import DropContentConfig, DropContentStep


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
