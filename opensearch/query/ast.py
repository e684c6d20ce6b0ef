"""The one AST both back ends read (dsl.py compiles it, matcher.py evaluates it).

Nodes are already *bound*: field names are resolved to ECS names, each leaf carries the field
kind, values are normalised (levels canonical, numbers parsed, dates as epoch millis) and
wildcards are classified. So the back ends make no decisions of their own and cannot drift
apart; every meaning is decided once in parser.py.

``pos`` is the 1-based column in the query text a node came from (0 if synthetic), for
errors raised after parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Union

from opensearch.query.fields import FieldKind

Scalar = Union[str, int, float]  # noqa: UP007 - a runtime alias used in isinstance-free annotations


@dataclass(frozen=True, slots=True)
class MatchAll:
    pos: int = 0


@dataclass(frozen=True, slots=True)
class MatchNone:
    pos: int = 0


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Not:
    item: Node
    pos: int = 0


@dataclass(frozen=True, slots=True)
class TextMatch:
    """Token search on analysed text fields (any of ``fields`` matches).

    mode ``phrase``: the tokens of ``text`` appear consecutively (a single word is a one-token
    phrase); ``prefix``/``suffix``: some token starts/ends with ``tokens[0]``.
    ``query_fields`` are the fields the DSL queries (the reversed twins for suffixes).
    """

    fields: tuple[str, ...]
    mode: Literal["phrase", "prefix", "suffix"]
    text: str
    tokens: tuple[str, ...]
    query_fields: tuple[str, ...]
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Term:
    """Field equals any of ``values`` (``texts`` keeps each value as written, for DYNAMIC fields)."""

    field: str
    kind: FieldKind
    values: tuple[Scalar, ...]
    texts: tuple[str, ...]
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Range:
    """Field compared with one bound; ``op`` is gt/gte/lt/lte. DATE values are epoch millis."""

    field: str
    kind: FieldKind
    op: Literal["gt", "gte", "lt", "lte"]
    value: Scalar
    text: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Prefix:
    """A keyword value starting with ``value`` (DSL: prefix on ``query_field``, an index_prefixes subfield)."""

    field: str
    value: str
    query_field: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Suffix:
    """A keyword value ending with ``value`` (DSL: prefix of the reversed value on ``query_field``)."""

    field: str
    value: str
    query_field: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Pattern:
    """A keyword value matching a ``*``/``?`` pattern: only when expensive queries are allowed."""

    field: str
    pattern: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Exists:
    """The field has at least one non-null value (an object path: any value below it)."""

    field: str
    pos: int = 0


Node = Union[MatchAll, MatchNone, And, Or, Not, TextMatch, Term, Range, Prefix, Suffix, Pattern, Exists]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class CalendarFilter:
    """Recurring windows: ``weekdays`` (Mon–Fri), ``weekends`` and/or a local time-of-day window."""

    days: frozenset[int] | None  # datetime.weekday() numbers, None = every day
    hours: tuple[int, int] | None  # minutes after local midnight [start, end), None = all day
    zone: str = "UTC"
    pos: int = 0


TimeRange = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class Query:
    """A parsed query: the AST plus the time range and calendar filter taken from time clauses.

    ``time_range`` is ``(start, end)`` with None for an open side, or None when the query has no
    time clause. Both back ends apply it to ``@timestamp``; the caller's from/to parameters can
    be added with :meth:`within`.
    """

    text: str
    ast: Node
    time_range: TimeRange | None = None
    calendar: CalendarFilter | None = None
    now: datetime | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def within(self, start: datetime | None, end: datetime | None) -> Query:
        """This query restricted to ``[start, end)`` as well (e.g. the API's from/to parameters)."""
        from opensearch.query.timeexpr import intersect

        current = self.time_range or (None, None)
        return replace(self, time_range=intersect(current, (start, end)), _cache={})
