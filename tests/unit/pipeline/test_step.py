"""pipeline/step.py: the chain — a failing fail-open step (an enricher) never blocks the event."""

from __future__ import annotations

from pipeline_testkit import make_event
from prometheus_client import REGISTRY

from pipeline.step import Chain, Step


class Exploding(Step):
    name = "exploding"
    fail_open = True

    def process(self, event):
        raise RuntimeError("lookup service down")


def test_failing_enricher_never_blocks_the_event() -> None:
    before = REGISTRY.get_sample_value("logharbor_pipeline_enrich_failures_total", {"step": "exploding"}) or 0
    result = Chain([Exploding()]).run([make_event(None, message="m")])
    assert len(result.kept) == 1 and not result.failed
    assert "enrich_failure" in result.kept[0].tags
    assert REGISTRY.get_sample_value("logharbor_pipeline_enrich_failures_total", {"step": "exploding"}) == before + 1
