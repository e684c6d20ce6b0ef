"""logfmt / key=value lines: ``ts=2026-01-19T10:30:00Z level=warn msg="disk low" free=3%``.

A line counts as logfmt only if it is made of pairs from start to end (bare words are allowed
only as flags, e.g. ``debug``), so prose that happens to contain ``a=b`` is not claimed.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.parse.json_lines import normalise

PAIR_RE = re.compile(r'\s*+([^\s="]++)(?:=("(?:[^"\\]|\\.)*+"|[^\s"]*+))?+')


def parse(line: str) -> dict[str, Any] | None:
    """Fields of a logfmt line, or None."""
    pairs: dict[str, Any] = {}
    pos, end, with_value = 0, len(line.rstrip()), 0
    while pos < end:
        m = PAIR_RE.match(line, pos)
        if m is None or m.end() == pos:
            return None
        key, value = m.group(1), m.group(2)
        if value is None:
            pairs[key] = True
        else:
            with_value += 1
            if value.startswith('"'):
                value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            pairs[key] = value
        pos = m.end()
    # Mostly pairs: at least two, and bare words a minority.
    if with_value < 2 or with_value * 2 < len(pairs):
        return None
    return normalise(pairs)
