"""Text → :class:`Query`: the lark grammar, error positions, and binding to fields and values.

Binding happens here, once, so the DSL compiler and the in-memory matcher read the same
decisions: which ECS field a name means, what kind it is, how a value is normalised, whether a
wildcard can run safely with ``search.allow_expensive_queries=false``.

Why one module of ~700 lines: the grammar's transformer and the binding of names to fields are
one pass over the tree; split, each half would need the other's private state.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from datetime import UTC, datetime
from functools import lru_cache
from importlib.resources import files

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from logharbor import ecs
from logharbor.levels import LEVEL_RANK, LEVELS, normalize_level
from opensearch.query.analysis import is_single_token, tokenize
from opensearch.query.ast import (
    And,
    CalendarFilter,
    Exists,
    MatchAll,
    MatchNone,
    Node,
    Not,
    Or,
    Pattern,
    Prefix,
    Query,
    Range,
    Scalar,
    Suffix,
    Term,
    TextMatch,
    TimeRange,
)
from opensearch.query.errors import QuerySyntaxError
from opensearch.query.fields import (
    DEFAULT_FIELD_SPECS,
    FieldKind,
    FieldNameError,
    FieldSpec,
    field_spec,
    resolve_field,
)
from opensearch.query.limits import check_nesting
from opensearch.query.settings import QuerySettings
from opensearch.query.timeexpr import (
    TimeExpressionError,
    intersect,
    parse_time_point,
    parse_time_range,
    to_epoch_millis,
)

_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_CMP_OPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = files("opensearch.query").joinpath("grammar.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False)


@lru_cache(maxsize=1)
def default_settings() -> QuerySettings:
    """Settings from env/YAML, read once per process."""
    return QuerySettings()


# ---------------------------------------------------------------------------------------------
# syntax errors


def _describe_expected(expected: set[str]) -> str | None:
    parts: list[str] = []
    if {"VALUE_WORD", "SIGNED_NUMBER"} & expected:
        parts.append("a value")
    elif "WORD" in expected:
        parts.append("a search term")
    elif "STRING" in expected:
        parts.append('a quoted "pattern"')
    if "COMMA" in expected:
        parts.append("','")
    if "RPAR" in expected:
        parts.append("')'")
    if "$END" in expected and "RPAR" not in expected:
        parts.append("end of query")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _syntax_error(err: UnexpectedInput, text: str) -> QuerySyntaxError:
    if isinstance(err, UnexpectedToken):
        token = err.token
        if token.type == "$END":
            return QuerySyntaxError("unexpected end of query", len(text) + 1,
                                    _describe_expected(set(err.expected)), text)
        return QuerySyntaxError(f"unexpected '{token.value}'", (token.start_pos or 0) + 1,
                                _describe_expected(set(err.expected)), text)
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        char = text[pos] if pos < len(text) else ""
        if char == '"' and '"' not in text[pos + 1:]:
            return QuerySyntaxError("unterminated quoted phrase", pos + 1, 'a closing "', text)
        return QuerySyntaxError(f"unexpected '{char}'", pos + 1, _describe_expected(set(err.allowed or ())), text)
    return QuerySyntaxError(str(err).splitlines()[0], 1, None, text)  # pragma: no cover - lark internals


# ---------------------------------------------------------------------------------------------
# values and helpers


class _Value:
    """A value as written: its text (unquoted), whether it was quoted, and its column."""

    __slots__ = ("pos", "quoted", "text", "type")

    def __init__(self, text: str, quoted: bool, type_: str, pos: int) -> None:
        self.text, self.quoted, self.type, self.pos = text, quoted, type_, pos


class _TimeClause:
    """A time clause before it is lifted out of the AST into Query.time_range/calendar."""

    __slots__ = ("calendar", "pos", "range")

    def __init__(self, pos: int, range_: TimeRange | None = None, calendar: CalendarFilter | None = None) -> None:
        self.pos, self.range, self.calendar = pos, range_, calendar


def _unquote(raw: str) -> str:
    body = raw[1:-1]
    return re.sub(r'\\(["\\])', r"\1", body) if "\\" in body else body


def _number(text: str) -> int | float | None:
    if not _NUMBER.match(text):
        return None
    return float(text) if "." in text else int(text)


def _pos(tok: Token) -> int:
    return (tok.start_pos or 0) + 1


_LIKE_TOKEN = re.compile(r"\\(.)|(%)|(_)|([^\\%_]+)", re.DOTALL)
_ANY_ONE = object()  # LIKE's "_" in a parts list (an object, so no literal can be mistaken for it)
LikePart = str | None | object


def _like_parts(pattern: str) -> list[LikePart]:
    """Split a LIKE pattern into literal strings and wildcards (None = ``%``, ``_ANY_ONE`` = ``_``)."""
    parts: list[LikePart] = []
    for esc, pct, under, lit in _LIKE_TOKEN.findall(pattern):
        if pct:
            parts.append(None)
        elif under:
            parts.append(_ANY_ONE)
        else:
            chunk = esc or lit
            if parts and isinstance(parts[-1], str):
                parts[-1] = parts[-1] + chunk
            else:
                parts.append(chunk)
    return parts


def _like_to_glob(parts: list[LikePart]) -> str:
    """The LIKE pattern as a Lucene wildcard pattern (``*``/``?``, literals escaped)."""
    out = []
    for p in parts:
        if p is None:
            out.append("*")
        elif p is _ANY_ONE:
            out.append("?")
        else:
            out.append(re.sub(r"([*?\\])", r"\\\1", str(p)))
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# binding


class _Binder(Transformer):
    """Builds bound AST nodes from the lark tree (one instance per parse: it holds the context)."""

    def __init__(self, settings: QuerySettings, now: datetime, text: str) -> None:
        super().__init__()
        self.settings = settings
        self.now = now
        self.text = text
        self.zone = settings.zone
        self.aliases = {**ecs.SHORT_FIELDS, **settings.field_aliases}
        self.specs: dict[str, FieldSpec] = DEFAULT_FIELD_SPECS
        self.free_fields = tuple(settings.free_text_fields)

    def error(self, reason: str, pos: int, expected: str | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(reason, pos, expected, self.text)

    # -- structure ------------------------------------------------------------------------

    def start(self, items: list) -> object:
        return items[0] if items else MatchAll()

    def or_expr(self, items: list) -> object:
        if len(items) == 1:
            return items[0]
        flat: list = []
        for it in items:
            flat.extend(it.items if isinstance(it, Or) else [it])
        return Or(tuple(flat))

    def and_expr(self, items: list) -> object:
        if len(items) == 1:
            return items[0]
        flat: list = []
        for it in items:
            flat.extend(it.items if isinstance(it, And) else [it])
        return And(tuple(flat))

    def not_(self, items: list) -> object:
        item = items[-1]
        pos = _pos(items[0]) if isinstance(items[0], Token) else getattr(item, "pos", 0)
        if isinstance(item, _TimeClause):
            raise self.error("a time clause cannot be negated", item.pos)
        return Not(item, pos)

    def group(self, items: list) -> object:
        return items[1]

    # -- free text ------------------------------------------------------------------------

    def word(self, items: list) -> Node:
        tok = items[0]
        return self._text_value(self.free_fields, str(tok), _pos(tok), allow_wildcards=True)

    def phrase(self, items: list) -> Node:
        tok = items[0]
        return self._text_value(self.free_fields, _unquote(str(tok)), _pos(tok), allow_wildcards=False)

    def _text_value(self, fields: tuple[str, ...], text: str, pos: int, allow_wildcards: bool) -> Node:
        if allow_wildcards and "*" in text:
            if text.strip("*") == "":
                return MatchAll(pos) if fields == self.free_fields else Or(tuple(Exists(f, pos) for f in fields))
            core = text.strip("*")
            if text.count("*") == 1 and text.endswith("*"):
                return self._text_affix(fields, core, "prefix", pos)
            if text.count("*") == 1 and text.startswith("*"):
                return self._text_affix(fields, core, "suffix", pos)
            raise self.error(f"wildcard '{text}' is not supported on text: use 'word*', '*word' "
                             "or a quoted phrase", pos)
        tokens = tuple(tokenize(text))
        if not tokens:
            return MatchNone(pos)
        return TextMatch(fields, "phrase", text, tokens, fields, pos)

    def _text_affix(self, fields: tuple[str, ...], core: str, mode: str, pos: int) -> Node:
        if not is_single_token(core):
            raise self.error(f"'{core}' is not a single word; wildcards apply to one word "
                             "(letters, digits, '_')", pos)
        if len(core) > self.settings.max_prefix_chars:
            raise self.error(f"wildcard word '{core}' is longer than {self.settings.max_prefix_chars} "
                             "characters; shorten it", pos)
        query_fields = []
        for f in fields:
            spec = field_spec(f, self.specs)
            sub = spec.prefix_field if mode == "prefix" else spec.suffix_field
            if sub is None:
                raise self.error(f"field '{f}' has no {'prefix' if mode == 'prefix' else 'reversed'} "
                                 "index, so it does not support this wildcard", pos)
            query_fields.append(sub)
        return TextMatch(fields, mode, core, (core.lower(),), tuple(query_fields), pos)  # type: ignore[arg-type]

    # -- time -----------------------------------------------------------------------------

    def time_clause(self, items: list) -> _TimeClause:
        tok = items[0]
        pos, text = _pos(tok), " ".join(str(tok).split())
        if tok.type == "BUSINESS_HOURS":
            start = self.settings.business_hours_start
            end = self.settings.business_hours_end
            hours = (start.hour * 60 + start.minute, end.hour * 60 + end.minute)
            return _TimeClause(pos, calendar=CalendarFilter(None, hours, self.settings.timezone, pos))
        if tok.type in ("WEEKDAYS", "WEEKENDS"):
            days = frozenset(range(5)) if tok.type == "WEEKDAYS" else frozenset({5, 6})
            return _TimeClause(pos, calendar=CalendarFilter(days, None, self.settings.timezone, pos))
        try:
            return _TimeClause(pos, range_=parse_time_range(text, self.now, self.zone))
        except TimeExpressionError as exc:
            raise self.error(str(exc), pos) from None

    # -- field comparisons ----------------------------------------------------------------

    def value(self, items: list) -> _Value:
        tok = items[0]
        if tok.type == "STRING":
            return _Value(_unquote(str(tok)), True, "STRING", _pos(tok))
        return _Value(" ".join(str(tok).split()), False, tok.type, _pos(tok))

    def value_list(self, items: list) -> list[_Value]:
        values = [v for v in items if isinstance(v, _Value)]
        if len(values) > self.settings.max_in_values:
            raise self.error(f"too many values in IN list ({len(values)}; the limit is "
                             f"{self.settings.max_in_values})", values[0].pos)
        return values

    def _field(self, tok: Token) -> tuple[str, FieldSpec, int]:
        pos = _pos(tok)
        try:
            name = resolve_field(str(tok), self.aliases)
        except FieldNameError as exc:
            raise self.error(str(exc), pos) from None
        return name, field_spec(name, self.specs), pos

    def field_colon(self, items: list) -> Node:
        field, spec, pos = self._field(items[0])
        return self._equals(field, spec, items[2], pos, wildcards=True)

    def field_colon_any(self, items: list) -> Node:
        """``level:(ERROR OR WARN)``: any of the values, each read as in ``field:value``."""
        field, spec, pos = self._field(items[0])
        values = [v for v in items if isinstance(v, _Value)]
        if len(values) > self.settings.max_in_values:
            raise self.error(f"too many values ({len(values)}; the limit is {self.settings.max_in_values})", pos)
        nodes = [self._equals(field, spec, v, pos, wildcards=True) for v in values]
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes), pos)

    def field_cmp(self, items: list) -> Node:
        field, spec, pos = self._field(items[0])
        op, value = str(items[1]), items[2]
        if op == "=":
            return self._equals(field, spec, value, pos, wildcards=False)
        if op == "!=":
            return And((Exists(field, pos), Not(self._equals(field, spec, value, pos, wildcards=False), pos)), pos)
        return self._compare(field, spec, _CMP_OPS[op], value, pos)

    def field_in(self, items: list) -> Node:
        field, spec, pos = self._field(items[0])
        return self._in(field, spec, items[2], pos)

    def field_not_in(self, items: list) -> Node:
        field, spec, pos = self._field(items[0])
        return And((Exists(field, pos), Not(self._in(field, spec, items[2], pos), pos)), pos)

    def field_like(self, items: list) -> Node:
        field, spec, pos = self._field(items[0])
        return self._like(field, spec, _unquote(str(items[2])), pos)

    def field_not_like(self, items: list) -> Node:
        field, spec, pos = self._field(items[0])
        return And((Exists(field, pos), Not(self._like(field, spec, _unquote(str(items[2])), pos), pos)), pos)

    def field_is_null(self, items: list) -> Node:
        field, _spec, pos = self._field(items[0])
        return Not(Exists(field, pos), pos)

    def field_exists(self, items: list) -> Node:
        field, _spec, pos = self._field(items[0])
        return Exists(field, pos)

    # -- per kind -------------------------------------------------------------------------

    def _equals(self, field: str, spec: FieldSpec, v: _Value, pos: int, wildcards: bool) -> Node:
        kind = spec.kind
        wild = wildcards and not v.quoted and "*" in v.text
        if kind is FieldKind.TEXT:
            return self._text_value((field,), v.text, v.pos, allow_wildcards=wild)
        if kind is FieldKind.LEVEL:
            if wild:
                return self._level_glob(field, v.text, pos)
            return Term(field, kind, (self._level(v),), (v.text,), pos)
        if kind is FieldKind.NUMBER:
            n = self._require_number(field, v)
            return Term(field, kind, (n,), (v.text,), pos)
        if kind is FieldKind.DATE:
            start, end = self._date_range(v)
            if end is None:  # an instant: equal to the millisecond
                ms = to_epoch_millis(start)
                return And((Range(field, kind, "gte", ms, v.text, pos),
                            Range(field, kind, "lte", ms, v.text, pos)), pos)
            return And((Range(field, kind, "gte", to_epoch_millis(start), v.text, pos),
                        Range(field, kind, "lt", to_epoch_millis(end), v.text, pos)), pos)
        if kind is FieldKind.IP:
            return Term(field, kind, (self._ip(v),), (v.text,), pos)
        if wild:
            return self._keyword_glob(field, spec, v.text, pos)
        return Term(field, kind, (self._scalar(kind, v),), (v.text,), pos)

    def _scalar(self, kind: FieldKind, v: _Value) -> Scalar:
        if kind is FieldKind.DYNAMIC and not v.quoted:
            n = _number(v.text)
            if n is not None:
                return n
        return v.text

    def _compare(self, field: str, spec: FieldSpec, op: str, v: _Value, pos: int) -> Node:
        kind = spec.kind
        if kind is FieldKind.TEXT:
            raise self.error(f"'{field}' is a text field; it can be searched for words, not compared", pos)
        if kind is FieldKind.LEVEL:
            rank = LEVEL_RANK[self._level(v, strict=True)]
            keep = {"gt": lambda r: r > rank, "gte": lambda r: r >= rank,
                    "lt": lambda r: r < rank, "lte": lambda r: r <= rank}[op]
            chosen = tuple(lv for lv in LEVELS if keep(LEVEL_RANK[lv]))
            return Term(field, kind, chosen, chosen, pos) if chosen else MatchNone(pos)
        if kind is FieldKind.NUMBER:
            return Range(field, kind, op, self._require_number(field, v), v.text, pos)  # type: ignore[arg-type]
        if kind is FieldKind.DATE:
            try:
                point = parse_time_point(v.text, self.now, self.zone)
            except TimeExpressionError as exc:
                raise self.error(str(exc), v.pos) from None
            return Range(field, kind, op, to_epoch_millis(point), v.text, pos)  # type: ignore[arg-type]
        if kind is FieldKind.IP:
            return Range(field, kind, op, self._ip(v, allow_cidr=False), v.text, pos)  # type: ignore[arg-type]
        if kind is FieldKind.DYNAMIC and not v.quoted and _number(v.text) is not None:
            return Range(field, kind, op, _number(v.text), v.text, pos)  # type: ignore[arg-type]
        if not self.settings.allow_expensive_queries:
            raise self.error(f"comparing the keyword field '{field}' with '{v.text}' needs a range query "
                             "on strings, which this cluster does not allow (search.allow_expensive_queries)",
                             v.pos)
        return Range(field, kind, op, v.text, v.text, pos)  # type: ignore[arg-type]

    def _in(self, field: str, spec: FieldSpec, values: list[_Value], pos: int) -> Node:
        kind = spec.kind
        if kind is FieldKind.TEXT:
            return Or(tuple(self._text_value((field,), v.text, v.pos, allow_wildcards=False) for v in values), pos)
        if kind is FieldKind.DATE:
            return Or(tuple(self._equals(field, spec, v, pos, wildcards=False) for v in values), pos)
        if kind is FieldKind.LEVEL:
            scalars: list[Scalar] = [self._level(v) for v in values]
        elif kind is FieldKind.NUMBER:
            scalars = [self._require_number(field, v) for v in values]
        elif kind is FieldKind.IP:
            scalars = [self._ip(v) for v in values]
        else:
            scalars = [self._scalar(kind, v) for v in values]
        return Term(field, kind, tuple(scalars), tuple(v.text for v in values), pos)

    def _like(self, field: str, spec: FieldSpec, pattern: str, pos: int) -> Node:
        parts = _like_parts(pattern)
        if len(pattern) > self.settings.max_wildcard_pattern_length:
            raise self.error(f"LIKE pattern is longer than {self.settings.max_wildcard_pattern_length} "
                             "characters", pos)
        literals = [p for p in parts if isinstance(p, str)]
        has_under = _ANY_ONE in parts
        shape = tuple("%" if p is None else ("_" if p is _ANY_ONE else "x") for p in parts)
        kind = spec.kind
        if kind is FieldKind.TEXT:
            # Contains-style LIKE on analysed text means "contains these words in this order"
            # (match_phrase); a substring inside a word is not searchable without an ngram index.
            if has_under:
                raise self.error("'_' in LIKE is not supported on text fields", pos)
            if shape in (("x",), ("%", "x", "%")):
                return self._text_value((field,), literals[0], pos, allow_wildcards=False)
            if shape == ("x", "%"):
                return self._text_affix((field,), literals[0], "prefix", pos)
            if shape == ("%", "x"):
                return self._text_affix((field,), literals[0], "suffix", pos)
            raise self.error("on text fields LIKE supports 'words', '%words%', 'word%' and '%word'", pos)
        if kind is FieldKind.LEVEL:
            return self._level_glob(field, _like_to_glob(parts), pos)
        if kind in (FieldKind.NUMBER, FieldKind.DATE, FieldKind.IP):
            raise self.error(f"LIKE needs a string field; '{field}' is a {kind.value} field", pos)
        if shape == ("x",):
            return Term(field, kind, (literals[0],), (literals[0],), pos)
        if all(s == "%" for s in shape):
            return Exists(field, pos)
        if shape == ("x", "%"):
            return self._prefix(field, spec, literals[0], pos)
        if shape == ("%", "x"):
            return self._suffix(field, spec, literals[0], pos)
        return self._pattern(field, _like_to_glob(parts), pos)

    # -- keyword wildcards ----------------------------------------------------------------

    def _keyword_glob(self, field: str, spec: FieldSpec, text: str, pos: int) -> Node:
        core = text.strip("*")
        if core == "":
            return Exists(field, pos)
        if text.count("*") == 1 and text.endswith("*"):
            return self._prefix(field, spec, core, pos)
        if text.count("*") == 1 and text.startswith("*"):
            return self._suffix(field, spec, core, pos)
        return self._pattern(field, re.sub(r"([?\\])", r"\\\1", text), pos)

    def _check_affix(self, field: str, value: str, pos: int) -> None:
        if len(value) > self.settings.max_prefix_chars:
            raise self.error(f"wildcard value '{value}' on '{field}' is longer than "
                             f"{self.settings.max_prefix_chars} characters; shorten it", pos)

    def _prefix(self, field: str, spec: FieldSpec, value: str, pos: int) -> Node:
        if spec.prefix_field is None:
            if not self.settings.allow_expensive_queries:
                raise self._no_wildcards(field, pos)
            return Prefix(field, value, field, pos)
        self._check_affix(field, value, pos)
        return Prefix(field, value, spec.prefix_field, pos)

    def _suffix(self, field: str, spec: FieldSpec, value: str, pos: int) -> Node:
        if spec.suffix_field is None:
            if not self.settings.allow_expensive_queries:
                raise self._no_wildcards(field, pos)
            return Pattern(field, "*" + re.sub(r"([*?\\])", r"\\\1", value), pos)
        self._check_affix(field, value, pos)
        return Suffix(field, value, spec.suffix_field, pos)

    def _pattern(self, field: str, glob: str, pos: int) -> Node:
        if not self.settings.allow_expensive_queries:
            raise self.error(f"this wildcard on '{field}' would need a wildcard query, which this cluster "
                             "does not allow; use 'value*' or '*value'", pos)
        if len(glob) > self.settings.max_wildcard_pattern_length:
            raise self.error(f"wildcard pattern is longer than {self.settings.max_wildcard_pattern_length} "
                             "characters", pos)
        return Pattern(field, glob, pos)

    def _no_wildcards(self, field: str, pos: int) -> QuerySyntaxError:
        return self.error(f"field '{field}' has no prefix/reversed index, so wildcards on it are not "
                          "supported (see docs/QUERY.md, mapping requirements)", pos)

    # -- value normalisation --------------------------------------------------------------

    def _level(self, v: _Value, strict: bool = False) -> str:
        level = normalize_level(v.text)
        if level is None:
            if strict:
                raise self.error(f"unknown level '{v.text}'", v.pos, ", ".join(LEVELS))
            return v.text.upper()
        return level

    def _level_glob(self, field: str, glob: str, pos: int) -> Node:
        # Levels are a closed set, so a level wildcard expands here instead of in OpenSearch.
        chosen = tuple(lv for lv in LEVELS if fnmatch.fnmatchcase(lv, glob.upper()))
        return Term(field, FieldKind.LEVEL, chosen, chosen, pos) if chosen else MatchNone(pos)

    def _require_number(self, field: str, v: _Value) -> int | float:
        n = _number(v.text.strip())
        if n is None:
            raise self.error(f"'{field}' is numeric but '{v.text}' is not a number", v.pos, "a number")
        return n

    def _date_range(self, v: _Value) -> tuple[datetime, datetime | None]:
        try:
            return parse_time_range(v.text, self.now, self.zone)
        except TimeExpressionError as exc:
            raise self.error(str(exc), v.pos) from None

    def _ip(self, v: _Value, allow_cidr: bool = True) -> str:
        try:
            if allow_cidr and "/" in v.text:
                return str(ipaddress.ip_network(v.text, strict=False))
            return str(ipaddress.ip_address(v.text))
        except ValueError:
            raise self.error(f"'{v.text}' is not an IP address{' or CIDR range' if allow_cidr else ''}",
                             v.pos, "an IP address") from None


# ---------------------------------------------------------------------------------------------
# time clauses are lifted to the top


def _contains_time(node: object) -> _TimeClause | None:
    if isinstance(node, _TimeClause):
        return node
    if isinstance(node, And | Or):
        for it in node.items:
            found = _contains_time(it)
            if found:
                return found
    if isinstance(node, Not):
        return _contains_time(node.item)
    return None


def _strip_time(node: object, found: list[_TimeClause], text: str) -> Node:
    """``node`` without its time clauses (collected in ``found``).

    Time clauses qualify the whole query wherever they are written (``a OR b last 1h`` means
    "(a OR b) in the last hour"), so they are lifted out of AND groups at any depth. As an OR
    alternative or under NOT they would mean something else, so those are errors.
    """
    if isinstance(node, And):
        kept: list[Node] = []
        for it in node.items:
            if isinstance(it, _TimeClause):
                found.append(it)
            else:
                kept.append(_strip_time(it, found, text))
        if not kept:
            return MatchAll(node.pos)
        return kept[0] if len(kept) == 1 else And(tuple(kept), node.pos)
    if isinstance(node, Or):
        for it in node.items:
            if isinstance(it, _TimeClause):
                raise QuerySyntaxError("a time clause cannot be an OR alternative; it applies to the whole "
                                       "query", it.pos, None, text)
        return Or(tuple(_strip_time(it, found, text) for it in node.items), node.pos)
    if isinstance(node, Not):
        nested = _contains_time(node.item)
        if nested is not None:
            raise QuerySyntaxError("a time clause cannot be negated", nested.pos, None, text)
        return node
    return node  # type: ignore[return-value]


def _lift_time(root: object, text: str) -> tuple[Node, TimeRange | None, CalendarFilter | None]:
    found: list[_TimeClause] = []
    if isinstance(root, _TimeClause):
        found.append(root)
        ast: Node = MatchAll()
    else:
        ast = _strip_time(root, found, text)
    time_range: TimeRange | None = None
    calendar: CalendarFilter | None = None
    for c in found:
        if c.range is not None:
            time_range = c.range if time_range is None else intersect(time_range, c.range)
        if c.calendar is not None:
            calendar = c.calendar if calendar is None else _merge_calendar(calendar, c.calendar)
    return ast, time_range, calendar


def _merge_calendar(a: CalendarFilter, b: CalendarFilter) -> CalendarFilter:
    if a.days is None:
        days = b.days
    else:
        days = a.days if b.days is None else a.days & b.days
    if a.hours is None:
        hours = b.hours
    elif b.hours is None:
        hours = a.hours
    else:
        hours = (max(a.hours[0], b.hours[0]), min(a.hours[1], b.hours[1]))
    return CalendarFilter(days, hours, a.zone, a.pos)


def _count_leaves(node: Node) -> int:
    if isinstance(node, And | Or):
        return sum(_count_leaves(i) for i in node.items)
    if isinstance(node, Not):
        return _count_leaves(node.item)
    if isinstance(node, TextMatch):
        return len(node.fields)
    return 1


def parse(text: str, *, now: datetime | None = None, settings: QuerySettings | None = None) -> Query:
    """Parse LogHarbor search syntax into a bound :class:`Query`.

    ``now`` anchors relative time clauses (default: the current time); ``settings`` gives the
    zone, business hours and safety caps (default: QuerySettings from env/YAML). Raises
    :class:`QuerySyntaxError` with the 1-based column of the problem.
    """
    settings = settings or default_settings()
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=settings.zone)
    if len(text) > settings.max_query_length:
        raise QuerySyntaxError(f"query is longer than {settings.max_query_length} characters",
                               settings.max_query_length + 1, None, text)
    if not text.strip():
        return Query(text, MatchAll(), now=now)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    check_nesting(tree, text, settings.max_depth)
    try:
        root = _Binder(settings, now, text).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QuerySyntaxError):
            raise exc.orig_exc from None
        if isinstance(exc.orig_exc, OverflowError):  # "last 999999999 days": before year 1
            raise QuerySyntaxError(f"time range out of range ({exc.orig_exc})", 1, None, text) from None
        raise
    if isinstance(root, Token):  # pragma: no cover - grammar always yields nodes
        raise QuerySyntaxError(f"unexpected '{root}'", 1, None, text)
    ast, time_range, calendar = _lift_time(root, text)
    clauses = _count_leaves(ast)
    if clauses > settings.max_clauses:
        raise QuerySyntaxError(f"query has {clauses} clauses; the limit is {settings.max_clauses}", 1, None, text)
    return Query(text, ast, time_range, calendar, now)
