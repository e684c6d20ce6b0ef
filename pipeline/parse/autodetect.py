"""Auto-detection that scales: the families that parsed a source's recent lines are tried first.

The cache key is (tenant, source, header shape): the shape is the line's first 24 characters
with digits as ``9``, lower-case letters as ``a`` and capitals as ``A``
(``2026-01-19 10:30:00 [INFO]`` → ``9999-99-99 99:99:99 [AAA``), one C-level ``str.translate``.
One application writes one format, and a source that mixes formats (a container's stdout)
still gives each format its own shape, so after the first line of each kind detection costs one
regex attempt. The shape reaches past the timestamp and keeps case because families share
timestamp layouts: an nginx error line (``2016/10/25 14:49:34 [error] 54053#0: ...``) and a Go
``log`` line (``2021/05/27 10:46:32 [INFO] ...``) must not share a cache entry, or the family
cached first would take the other's lines (Go's pattern accepts any text after the date).
A miss walks the library's candidates for the line's
first character (priority order), then the code parsers kept from before the library
(nginx/Apache access, the product spec's app line, logfmt, JSON), then the generic fallback.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from pipeline.parse import access_log, app_log, fallback, json_lines, logfmt
from pipeline.parse.library import Library, first_class

Fields = dict[str, Any]
# Code parsers: (name, first-character classes or None for any, parse)
LEGACY: tuple[tuple[str, frozenset[str] | None, Callable[[str], Fields | None]], ...] = (
    ("nginx", None, access_log.parse),
    ("app", frozenset({"digit"}), app_log.parse),
    ("json", frozenset({"{"}), json_lines.parse),
    ("logfmt", None, logfmt.parse),
)
LEGACY_BY_NAME = {name: fn for name, _, fn in LEGACY}
SHAPE_CHARS = 24
_SHAPE = str.maketrans(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", "9" * 10 + "a" * 26 + "A" * 26
)


def _legacy(fn: Callable[[str], Fields | None]) -> Callable[[str, tzinfo, datetime | None], Fields | None]:
    return lambda line, tz, now: fn(line)


def shape(line: str) -> str:
    """The header shape of a line: digits → 9, letters → a / A, punctuation and spaces kept."""
    return line[:SHAPE_CHARS].translate(_SHAPE)


class Detector:
    """Per-(tenant, source) cached detection over a :class:`Library`."""

    def __init__(self, library: Library, cache_size: int = 20_000, generic: bool = True) -> None:
        self.library = library
        self.cache_size = cache_size
        self.generic = generic
        self._cache: OrderedDict[tuple[str, str, str] | str, list[str]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        # name → parse(line, tz, now), decided once: the cache hit path is one dict lookup and
        # one call (issue 13). A family shadows a code parser of its name, as in the walk.
        self._parsers: dict[str, Callable[[str, tzinfo, datetime | None], Fields | None]] = {
            fallback.NAME: fallback.parse,
            **{name: _legacy(fn) for name, fn in LEGACY_BY_NAME.items()},
            **{name: fam.parse for name, fam in library.families.items()},
        }

    def parse_as(self, name: str, line: str, tz: tzinfo, now: datetime | None = None) -> Fields | None:
        """Fields of ``line`` in family/format ``name`` only, or None."""
        parse = self._parsers.get(name)
        return None if parse is None else parse(line, tz, now)

    def detect(
        self, line: str, key: tuple[str, str] | None = None, tz: tzinfo = UTC, now: datetime | None = None
    ) -> tuple[str, Fields] | None:
        """(family, fields) for ``line``, trying the families recently seen for ``key`` first."""
        head = line[:SHAPE_CHARS].translate(_SHAPE)
        ckey = (key[0], key[1], head) if key is not None else head
        recent = self._cache.get(ckey)
        if recent is not None:
            parsers = self._parsers
            for name in recent:
                parse = parsers.get(name)
                out = None if parse is None else parse(line, tz, now)
                if out is not None:
                    self.hits += 1
                    return name, out
        self.misses += 1
        found = self._walk(line, tz, now, skip=recent)
        if found is not None and found[0] != fallback.NAME:
            if recent is None:
                recent = self._cache[ckey] = []
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            recent.insert(0, found[0])
            del recent[3:]
        return found

    def _walk(
        self, line: str, tz: tzinfo, now: datetime | None, skip: list[str] | None
    ) -> tuple[str, Fields] | None:
        if not line:
            return None
        skip = skip or []
        for fam in self.library.candidates(line):
            if fam.name in skip:
                continue
            out = fam.parse(line, tz, now)
            if out is not None:
                return fam.name, out
        cls = first_class(line)
        for name, classes, fn in LEGACY:
            if name in skip or (classes is not None and cls not in classes):
                continue
            out = fn(line)
            if out is not None:
                return name, out
        if self.generic:
            out = fallback.parse(line, tz, now)
            if out is not None:
                return fallback.NAME, out
        return None
