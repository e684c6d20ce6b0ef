"""Application logs: ``2026-01-19 10:30:00 ERROR [DatabaseService] Connection timeout after 30s``.

Timestamp, level, optional ``[component]`` (also ``component:``-less forms such as log4j's
``[thread]``), then the message. The level must be a known level, which is what keeps this
parser from claiming arbitrary lines that start with a date.
"""

from __future__ import annotations

import re
from typing import Any

from logharbor import ecs
from logharbor.levels import normalize_level

APP_RE = re.compile(
    r"(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?+(?:Z|[+-]\d{2}:?\d{2})?+)"
    r"\s++\[?(?P<level>[A-Za-z]{3,11})\]?:?\s++"
    r"(?:\[(?P<component>[^\]]{0,200})\]:?\s*+)?+"
    r"(?P<msg>.*)",
    re.DOTALL,
)


def parse(line: str) -> dict[str, Any] | None:
    """Fields of an application log line, or None."""
    m = APP_RE.match(line)
    if m is None:
        return None
    level = normalize_level(m["level"])
    if level is None:
        return None
    out: dict[str, Any] = {
        ecs.TIMESTAMP: m["ts"].replace(",", "."),
        ecs.LEVEL: level,
        ecs.MESSAGE: m["msg"],
    }
    component = m["component"]
    if component:
        out["log.logger"] = component
        out["service.component"] = component
    return out
