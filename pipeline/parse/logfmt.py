"""logfmt / key=value lines: ``ts=2026-01-19T10:30:00Z level=warn msg="disk low" free=3%``.

A line counts as logfmt only if it is made of pairs from start to end (bare words are allowed
only as flags, e.g. ``debug``), so prose that happens to contain ``a=b`` is not claimed.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.parse.json_lines import normalise

PAIR_RE = re.compile(r'([^\s="]++)(?:=("[^"\\]*+(?:\\.[^"\\]*+)*+"|[^\s"]*+))?+\s*+')


def parse(line: str) -> dict[str, Any] | None:
    """Fields of a logfmt line, or None."""
    if "=" not in line:
        return None
    text = line.strip()
    pairs: dict[str, Any] = {}
    covered, with_value = 0, 0
    for m in PAIR_RE.finditer(text):
        if m.start() != covered:
            return None  # something between pairs that is not a pair: not logfmt
        covered = m.end()
        key, value = m.group(1), m.group(2)
        if value is None:
            pairs[key] = True
            continue
        with_value += 1
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        pairs[key] = value
    if covered != len(text):
        return None
    # Mostly pairs: at least two, and bare words a minority.
    if with_value < 2 or with_value * 2 < len(pairs):
        return None
    return normalise(pairs)
