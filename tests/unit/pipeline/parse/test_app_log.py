"""pipeline/parse/app_log.py: "<time> <LEVEL> [component] message" application lines."""

from __future__ import annotations

from pipeline.parse import app_log

from .samples import APP


def test_app_log_line() -> None:
    out = app_log.parse(APP)
    assert out == {
        "@timestamp": "2026-01-19 10:30:00",
        "log.level": "ERROR",
        "message": "Connection timeout after 30s",
        "log.logger": "DatabaseService",
        "service.component": "DatabaseService",
    }
    out = app_log.parse("2026-01-19T10:30:00,123+01:00 [WARN] cache almost full")
    assert out is not None and out["log.level"] == "WARN" and out["@timestamp"] == "2026-01-19T10:30:00.123+01:00"
    assert app_log.parse("2026-01-19 10:30:00 BANANA [x] not a level") is None
