"""Format detection for ``format: auto``: dispatch on the first character, then try in order.

Looking at one character first keeps the common case to a single regex attempt per line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.parse import access_log, app_log, json_lines, logfmt, syslog

Parser = Callable[[str], "dict[str, Any] | None"]

PARSERS: dict[str, Parser] = {
    "json": json_lines.parse,
    "docker": json_lines.parse,
    "nginx": access_log.parse,
    "apache": access_log.parse,
    "access": access_log.parse,
    "syslog": syslog.parse,
    "app": app_log.parse,
    "logfmt": logfmt.parse,
    "kv": logfmt.parse,
}

_BY_FIRST: dict[str, tuple[tuple[str, Parser], ...]] = {
    "{": (("json", json_lines.parse),),
    "<": (("syslog", syslog.parse),),
}
_DIGIT_ORDER = (("app", app_log.parse), ("nginx", access_log.parse), ("logfmt", logfmt.parse))
_OTHER_ORDER = (
    ("nginx", access_log.parse),  # IPv6 / hostnames as client
    ("syslog", syslog.parse),  # RFC 3164 without PRI: "Jan 19 ..."
    ("logfmt", logfmt.parse),
)


def detect(line: str) -> tuple[str, dict[str, Any]] | None:
    """(format, fields) for ``line``: the format library first, then the code parsers below.

    Uncached; the parse step uses :class:`pipeline.parse.autodetect.Detector` with its
    per-source cache instead.
    """
    from pipeline.parse.autodetect import Detector
    from pipeline.parse.library import load_library

    global _DETECTOR
    if _DETECTOR is None:
        _DETECTOR = Detector(load_library())
    return _DETECTOR.detect(line)


_DETECTOR: Any = None


def detect_legacy(line: str) -> tuple[str, dict[str, Any]] | None:
    """(format, fields) for the first of the original code parsers that understands ``line``."""
    first = line[:1]
    if not first:
        return None
    if first.isdigit():
        candidates = _DIGIT_ORDER
    else:
        candidates = _BY_FIRST.get(first, _OTHER_ORDER)
    for name, parser in candidates:
        fields = parser(line)
        if fields is not None:
            return name, fields
    return None
