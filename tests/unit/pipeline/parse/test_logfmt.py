"""pipeline/parse/logfmt.py: key=value lines; prose is not logfmt."""

from __future__ import annotations

from pipeline.parse import logfmt


def test_logfmt() -> None:
    out = logfmt.parse('ts=2026-01-19T10:30:00Z level=warn msg="disk \\"root\\" low" free=3% trace_id=ab12')
    assert out == {
        "@timestamp": "2026-01-19T10:30:00Z",
        "log.level": "WARN",
        "message": 'disk "root" low',
        "free": "3%",
        "trace_id": "ab12",
    }
    assert logfmt.parse("user bob logged in with a=b") is None  # prose is not logfmt
