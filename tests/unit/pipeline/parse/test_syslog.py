"""pipeline/parse/syslog.py: RFC 3164 and RFC 5424 lines, malformed lines refused."""

from __future__ import annotations

import pytest

from pipeline.parse import syslog

from .samples import SYSLOG_3164, SYSLOG_5424


def test_syslog_3164() -> None:
    out = syslog.parse(SYSLOG_3164)
    assert out is not None
    assert out["log.syslog.facility.code"] == 4 and out["log.syslog.severity.code"] == 2
    assert out["log.level"] == "FATAL"  # severity 2 = critical
    assert out["host.name"] == "web-server" and out["process.name"] == "app" and out["process.pid"] == 1234
    assert out["message"] == "User login failed"


def test_syslog_5424_with_structured_data() -> None:
    out = syslog.parse(SYSLOG_5424)
    assert out is not None
    assert out["log.syslog.facility.code"] == 20 and out["log.syslog.severity.code"] == 5
    assert out["host.name"] == "mymachine.example.com" and out["process.name"] == "evntslog"
    assert out["process.pid"] == 1234 and out["log.syslog.msgid"] == "ID47"
    assert out["log.syslog.structured_data"] == {
        "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}
    }
    assert out["message"] == "An application event"
    nil = syslog.parse("<13>1 2026-01-19T10:30:00Z - - - - - ")
    assert nil is not None and "host.name" not in nil and nil["message"] == ""


@pytest.mark.parametrize("line", ["<34 Jan 19 bad", "<165>1 2026-01-19T10:30:00Z h a p m [unterminated sd"])
def test_syslog_malformed(line: str) -> None:
    assert syslog.parse(line) is None
