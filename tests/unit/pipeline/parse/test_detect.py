"""pipeline/parse/detect.py: auto-detection of the format, and every parser in linear time."""

from __future__ import annotations

import time

import pytest

from pipeline.parse import access_log, app_log, json_lines, logfmt, syslog
from pipeline.parse.detect import detect

from .samples import APP, NGINX, SYSLOG_3164, SYSLOG_5424


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        (NGINX, "nginx"),
        (APP, "app"),
        (SYSLOG_3164, "syslog"),
        (SYSLOG_5424, "syslog"),
        ('{"msg": "x"}', "json"),
        ("a=1 b=2 msg=hi", "logfmt"),
        ("Jan 19 10:30:00 host sshd[1]: hi", "syslog"),
    ],
)
def test_detect(line: str, fmt: str) -> None:
    found = detect(line)
    assert found is not None and found[0] == fmt


@pytest.mark.parametrize(
    "parser",
    [access_log.parse, app_log.parse, syslog.parse, logfmt.parse, json_lines.parse, detect],
)
def test_no_catastrophic_backtracking(parser) -> None:
    # Adversarial near-misses of every pattern; each must fail fast (linear time).
    evil = [
        "1" * 20000 + " - - [" + "x" * 20000,
        '1.1.1.1 - - [19/Jan/2026:10:30:00 +0000] "' + "\\" * 30000,
        "2026-01-19 10:30:00 " + "[" * 30000,
        "<1>1 " + "a " * 15000,
        "<13>1 2026-01-19T10:30:00Z h a p m " + "[x " + 'k="v" ' * 5000,
        "a=" + '"' + "\\x" * 15000,
        "Jan 19 10:30:00 " + "h" * 30000,
    ]
    started = time.perf_counter()
    for line in evil:
        parser(line)
    assert time.perf_counter() - started < 1.0
