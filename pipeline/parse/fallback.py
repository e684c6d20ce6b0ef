"""The generic fallback: a line no family claims, read as "timestamp, level, who, message".

Finds a leading timestamp in any common layout (optionally inside ``[...]`` or after a syslog
``<PRI>``), then looks at the next few tokens for a level word (bare, ``[WARN]``, ``<E>``,
``INFO:``), a ``[thread]``, a pid and a ``logger:``; the rest is the message. Every step is a
prefix test or one anchored regex, so the cost is linear in the line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any

from logharbor import ecs
from logharbor.levels import normalize_level
from pipeline.parse.library import _finish_message
from pipeline.timeparse import layout_regex, parse_layout

NAME = "generic"
# Order matters only where two layouts share a prefix (iso before compact, md_dash after iso).
_ORDER = ("iso", "iso_dotted", "ymd_compact_ms", "ymd_slash", "clf", "ctime", "bsd", "dmy_name", "dmy_dash",
          "jul", "compact", "md_dash", "md_dot", "epoch", "hms")
_TS = [(name, re.compile(layout_regex(name))) for name in _ORDER]
_SINGLE = {"I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL", "D": "DEBUG", "V": "DEBUG", "T": "DEBUG"}
_PRI = re.compile(r"<\d{1,3}>")


def _level_word(token: str) -> str | None:
    word = token.strip("[]<>():|,")
    if not word or len(word) > 11:
        return None
    if len(word) == 1:
        return _SINGLE.get(word) if token != word else None  # single letters only when bracketed
    if not word.isalpha():
        return None
    return normalize_level(word)


def parse(line: str, tz: tzinfo = UTC, now: datetime | None = None) -> dict[str, Any] | None:
    """Fields of a line that starts with a timestamp, or None."""
    pos = 0
    m = _PRI.match(line)
    if m is not None:
        pos = m.end()
    bracket = line.startswith("[", pos)
    if bracket:
        pos += 1
    c = line[pos : pos + 1]
    if not c or not (c.isdigit() or c.isalpha()):
        return None
    for name, rx in _TS:
        tm = rx.match(line, pos)
        if tm is None:
            continue
        end = tm.end()
        after = line[end : end + 1]
        if after and after not in " \t,]|:-T":
            continue
        ts = parse_layout(name, tm.group(), tz, now)
        if ts is None:
            continue
        break
    else:
        return None
    out: dict[str, Any] = {ecs.TIMESTAMP: ts}
    if bracket:
        close = line.find("]", end, end + 40)
        if close >= 0:
            end = close + 1
    rest = line[end:].lstrip(" \t,|:-")
    # Up to four header tokens: level, [thread], pid, logger:
    for _ in range(4):
        if not rest:
            break
        token, _, tail = rest.partition(" ")
        if ecs.LEVEL not in out:
            level = _level_word(token)
            if level is not None:
                out[ecs.LEVEL] = level
                rest = tail.lstrip(" -:|")
                continue
        if (token.startswith("[") and "]" in token) or (token.startswith("[") and "]" in tail[:80]):
            close = rest.find("]")
            if 0 < close <= 120:
                inner = rest[1:close]
                if inner.isdigit():
                    out.setdefault("process.pid", int(inner))
                elif ecs.LEVEL not in out and _level_word(f"[{inner}]"):
                    out[ecs.LEVEL] = _level_word(f"[{inner}]")
                else:
                    out.setdefault("process.thread.name", inner)
                rest = rest[close + 1 :].lstrip(" -:|")
                continue
        if token.isdigit() and "process.pid" not in out and len(token) <= 10:
            out["process.pid"] = int(token)
            rest = tail.lstrip()
            continue
        if token.endswith(":") and len(token) > 1 and ecs.LEVEL in out and "log.logger" not in out:
            out["log.logger"] = token[:-1]
            rest = tail.lstrip()
        break
    out[ecs.MESSAGE] = rest
    _finish_message(out)
    return out
