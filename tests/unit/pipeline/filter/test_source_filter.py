"""pipeline/filter/source_filter.py: drop and keep lists of source globs."""

from __future__ import annotations

from pipeline_testkit import make_event

from pipeline.filter.source_filter import SourceFilterConfig, SourceFilterStep


def test_source_filter_drop_and_keep() -> None:
    drop = SourceFilterStep(SourceFilterConfig(drop=["noisy-*"]))
    assert drop.process(make_event(None, message="m", source="noisy-cron")) is None
    assert drop.process(make_event(None, message="m", source="api")) is not None
    keep = SourceFilterStep(SourceFilterConfig(keep=["api", "web-*"]))
    assert keep.process(make_event(None, message="m", source="web-1")) is not None
    assert keep.process(make_event(None, message="m", source="batch")) is None
