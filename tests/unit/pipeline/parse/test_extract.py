"""pipeline/parse/extract.py: extract rules scoped by source and level, stop, bad patterns refused."""

from __future__ import annotations

import pytest
from pipeline_testkit import make_event

from logharbor.config import ConfigError
from pipeline.parse.extract import ExtractConfig, ExtractStep
from pipeline.rules import parse_rules


def test_extract_rule_scoping_and_stop() -> None:
    step = ExtractStep(
        ExtractConfig(
            rules=[
                {"name": "only_billing", "source": "billing*", "pattern": r"amount=(?P<amount>\d+)"},
                {"name": "app_only", "format": "app", "pattern": r"took (?P<took_ms>\d+)ms", "stop": True},
                {"name": "after_stop", "pattern": r"(?P<never>took)"},
            ]
        )
    )
    ev = make_event(None, message="amount=5 took 12ms", source="web")
    ev.format = "app"
    doc = step.process(ev).doc
    assert "amount" not in doc and doc["took_ms"] == "12" and "never" not in doc
    ev2 = make_event(None, message="amount=5", source="billing-eu")
    assert step.process(ev2).doc["amount"] == "5"


@pytest.mark.parametrize(
    ("pattern", "error"),
    [(r"(?P<x>a+)+$", "nests quantifiers"), (r"no groups", "no named group"), (r"(?P<x>[a-", "does not compile")],
)
def test_extract_rejects_bad_patterns(pattern: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_rules(f"steps:\n  - type: extract\n    rules:\n      - name: r\n        pattern: '{pattern}'\n")
