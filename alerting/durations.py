"""Durations in rules (``"90s"``, ``"5m"``, ``"1h"``): a leaf both ``rules`` and ``schedule`` import.

Kept apart so the rule model can validate its schedule (``alerting.schedule.check_active``) while
the schedule reads rules, without an import cycle between the two.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float | int, what: str = "duration") -> float:
    """``"90s"``, ``"2m"``, ``"1h"`` → seconds. Numbers are seconds already."""
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"{what} must not be negative")
        return float(text)
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"{what} {text!r}: use a number and a unit (ms, s, m, h, d, w), e.g. '5m'")
    return float(m.group(1)) * _UNITS[m.group(2)]
