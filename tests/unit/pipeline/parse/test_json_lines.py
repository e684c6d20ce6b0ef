"""pipeline/parse/json_lines.py: JSON objects normalised; non-objects refused."""

from __future__ import annotations

import pytest

from pipeline.parse import json_lines


def test_json_normalises_message_level_and_time() -> None:
    out = json_lines.parse('{"msg": "payment done", "severity": "warning", "ts": "2026-01-19T10:30:00Z", "order": 7}')
    assert out == {"message": "payment done", "log.level": "WARN", "@timestamp": "2026-01-19T10:30:00Z", "order": 7}
    out = json_lines.parse('{"message": "x", "lvl": "err", "time": 1768818600, "ctx": {"a": {"b": 1}}}')
    assert out["log.level"] == "ERROR" and out["ctx.a.b"] == 1 and out["@timestamp"] == 1768818600


@pytest.mark.parametrize("line", ["{not json", "[1, 2]", '"just a string"', "{}x"])
def test_json_rejects_non_objects(line: str) -> None:
    assert json_lines.parse(line) is None
