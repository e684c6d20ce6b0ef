"""logfmt / key=value lines: ``ts=2026-01-19T10:30:00Z level=warn msg="disk low" free=3%``.

A line counts as logfmt only if it is made of pairs from start to end (bare words are allowed
only as flags, e.g. ``debug``), so prose that happens to contain ``a=b`` is not claimed.
"""

from __future__ import annotations

import re
from typing import Any

from pipeline.parse.json_lines import normalise

# One pair, for findall (in C): (the whole pair, key, "=value" or "" for a bare flag).
PAIR_RE = re.compile(r'(([^\s="]++)((?:=(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"|[^\s"]*+))?+)\s*+)')


def parse(line: str) -> dict[str, Any] | None:
    """Fields of a logfmt line, or None."""
    if "=" not in line:
        return None
    text = line.strip()
    found = PAIR_RE.findall(text)
    # Matches never overlap, so they cover the line (no text between or around pairs) exactly
    # when their lengths add up to it: one sum instead of a position check per pair.
    if sum(len(whole) for whole, _, _ in found) != len(text):
        return None
    pairs: dict[str, Any] = {}
    with_value = 0
    for _, key, value in found:
        if not value:
            pairs[key] = True
            continue
        with_value += 1
        value = value[1:]
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        pairs[key] = value
    # Mostly pairs: at least two, and bare words a minority.
    if with_value < 2 or with_value * 2 < len(pairs):
        return None
    return normalise(pairs)
