"""Bound AST → a per-event predicate, for live tail and streaming alerts.

The query is compiled once into nested closures (no AST walking per event); each event gets a
small cache so a message is tokenised at most once however many text clauses read it. The
semantics mirror dsl.py clause by clause — OpenSearch is the reference:

* fields may be nested dicts, flattened dotted keys, or a mix; arrays match if any element does
  (arrays of objects are flattened, like OpenSearch's default ``object`` mapping);
* text: the standard analyzer (analysis.py); phrases do not span array elements;
* keyword: exact, case-sensitive, numbers/booleans compared as their JSON text;
* numbers: numeric, numeric strings are coerced (OpenSearch's ``coerce``);
* dates: ``@timestamp`` parsed like ``strict_date_optional_time||epoch_millis``, millisecond precision;
* DYNAMIC fields: compared with the type of the value found in the event.

Why one module of ~400 lines: it mirrors the DSL compiler node for node, so the two can be
read side by side; each node kind is a small function.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from opensearch.query.analysis import tokenize
from opensearch.query.ast import (
    And,
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
    Suffix,
    Term,
    TextMatch,
)
from opensearch.query.calendar import in_calendar
from opensearch.query.fields import FieldKind
from opensearch.query.timeexpr import parse_event_timestamp, to_epoch_millis

Pred = Callable[[dict, dict], bool]
_MISSING = object()


# ---------------------------------------------------------------------------------------------
# field access


def _flatten_into(value: Any, out: list) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for v in value:
            _flatten_into(v, out)
    else:
        out.append(value)


def field_getter(field: str, with_subpaths: bool = False) -> Callable[[dict], list]:
    """A function returning every value of ``field`` in an event (nested, dotted or mixed keys).

    ``with_subpaths`` also returns values stored *below* the path under dotted keys (``{"a.b": 1}``
    for field ``a``), which is what an exists query on an object path sees.
    """
    parts = field.split(".")
    n = len(parts)
    if n == 1 and not with_subpaths:
        def get_flat(doc: dict) -> list:
            out: list = []
            _flatten_into(doc.get(field), out)
            return out
        return get_flat

    keys = {(i, j): ".".join(parts[i:j]) for i in range(n) for j in range(i + 1, n + 1)}
    below = {i: keys[(i, n)] + "." for i in range(n)}

    def collect(obj: Any, i: int, out: list) -> None:
        if isinstance(obj, list):
            for o in obj:
                collect(o, i, out)
            return
        if not isinstance(obj, dict):
            return
        for j in range(i + 1, n + 1):
            v = obj.get(keys[(i, j)], _MISSING)
            if v is _MISSING:
                continue
            if j == n:
                _flatten_into(v, out)
            else:
                collect(v, j, out)
        if with_subpaths:
            prefix = below[i]
            for k, v in obj.items():
                if k.startswith(prefix):
                    _flatten_into(v, out)

    def get(doc: dict) -> list:
        out: list = []
        collect(doc, 0, out)
        return out

    return get


def _has_leaf(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return any(_has_leaf(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_leaf(v) for v in value)
    return True


def _keyword_text(v: Any) -> str | None:
    """A scalar as OpenSearch indexes it in a keyword field (None for objects)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return str(v)
    return None


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v.strip())
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------------------------------------
# leaves


class _Text:
    """One text value of an event, lowercased eagerly and tokenised only when needed."""

    __slots__ = ("_tokens", "ascii", "lower", "raw")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.lower = raw.lower()
        # str.lower() is context-free only for ASCII (final sigma etc.), so the substring
        # shortcut is used for ASCII text only.
        self.ascii = raw.isascii()
        self._tokens: list[str] | None = None

    @property
    def tokens(self) -> list[str]:
        if self._tokens is None:
            self._tokens = tokenize(self.raw)
        return self._tokens


def _text_pred(node: TextMatch) -> Pred:
    getters = [(f, field_getter(f)) for f in node.fields]
    tokens = node.tokens
    mode = node.mode

    def field_texts(doc: dict, cache: dict, field: str, get: Callable[[dict], list]) -> list[_Text]:
        key = ("text", field)
        texts = cache.get(key)
        if texts is None:
            # numbers and booleans in a text field are indexed as their JSON text
            texts = [_Text(s) for v in get(doc) if (s := _keyword_text(v)) is not None]
            cache[key] = texts
        return texts

    if mode == "phrase" and len(tokens) == 1:
        tok = tokens[0]

        def test(toks: list[str]) -> bool:
            return tok in toks
    elif mode == "phrase":
        first, k = tokens[0], len(tokens)
        seq = list(tokens)

        def test(toks: list[str]) -> bool:
            for i, t in enumerate(toks):
                if t == first and toks[i:i + k] == seq:
                    return True
            return False
    elif mode == "prefix":
        p = tokens[0]

        def test(toks: list[str]) -> bool:
            return any(t.startswith(p) for t in toks)
    else:
        s = tokens[0]

        def test(toks: list[str]) -> bool:
            return any(t.endswith(s) for t in toks)

    def pred(doc: dict, cache: dict) -> bool:
        for field, get in getters:
            for text in field_texts(doc, cache, field, get):
                # Cheap necessary condition first: every query token occurs in the lowercased
                # text. Most events in a live tail fail here without being tokenised.
                if text.ascii and not all(t in text.lower for t in tokens):
                    continue
                if test(text.tokens):
                    return True
        return False

    return pred


def _term_pred(node: Term) -> Pred:
    get = field_getter(node.field)
    kind = node.kind
    if kind is FieldKind.NUMBER:
        wanted_n = {float(v) for v in node.values}  # type: ignore[arg-type]
        return lambda doc, cache: any(_as_number(v) in wanted_n for v in get(doc))
    if kind is FieldKind.IP:
        nets = [ipaddress.ip_network(str(v), strict=False) for v in node.values]

        def ip_pred(doc: dict, cache: dict) -> bool:
            for v in get(doc):
                try:
                    addr = ipaddress.ip_address(str(v))
                except ValueError:
                    continue
                if any(addr in net for net in nets):
                    return True
            return False
        return ip_pred
    if kind is FieldKind.DYNAMIC:
        wanted_s = {_keyword_text(v) for v in node.values}
        numbers = set()
        for v, text in zip(node.values, node.texts, strict=True):
            n = _as_number(v) if not isinstance(v, str) else _as_number(text)
            if n is not None:
                numbers.add(n)

        def dyn_pred(doc: dict, cache: dict) -> bool:
            for v in get(doc):
                if isinstance(v, bool):
                    if ("true" if v else "false") in wanted_s:
                        return True
                elif isinstance(v, int | float):
                    if float(v) in numbers:
                        return True
                elif isinstance(v, str) and v in wanted_s:
                    return True
            return False
        return dyn_pred
    wanted = {_keyword_text(v) for v in node.values}
    return lambda doc, cache: any(_keyword_text(v) in wanted for v in get(doc))


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b,
}


def _range_pred(node: Range) -> Pred:
    get = field_getter(node.field)
    op = _OPS[node.op]
    bound = node.value
    if node.kind is FieldKind.DATE:
        return lambda doc, cache: any(
            (ms := parse_event_timestamp(v)) is not None and op(ms, bound) for v in get(doc))
    if node.kind is FieldKind.IP:
        ip_bound = ipaddress.ip_address(str(bound))

        def ip_pred(doc: dict, cache: dict) -> bool:
            for v in get(doc):
                try:
                    addr = ipaddress.ip_address(str(v))
                except ValueError:
                    continue
                if addr.version == ip_bound.version and op(addr, ip_bound):
                    return True
            return False
        return ip_pred
    if isinstance(bound, str):  # keyword range (expensive mode only)
        return lambda doc, cache: any(
            (s := _keyword_text(v)) is not None and op(s, bound) for v in get(doc))
    fb = float(bound)
    return lambda doc, cache: any((n := _as_number(v)) is not None and op(n, fb) for v in get(doc))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _compile(node: Node) -> Pred:
    if isinstance(node, MatchAll):
        return lambda doc, cache: True
    if isinstance(node, MatchNone):
        return lambda doc, cache: False
    if isinstance(node, And):
        preds = [_compile(i) for i in node.items]
        return lambda doc, cache: all(p(doc, cache) for p in preds)
    if isinstance(node, Or):
        preds = [_compile(i) for i in node.items]
        return lambda doc, cache: any(p(doc, cache) for p in preds)
    if isinstance(node, Not):
        inner = _compile(node.item)
        return lambda doc, cache: not inner(doc, cache)
    if isinstance(node, TextMatch):
        return _text_pred(node)
    if isinstance(node, Term):
        return _term_pred(node)
    if isinstance(node, Range):
        return _range_pred(node)
    if isinstance(node, Prefix):
        get, p = field_getter(node.field), node.value
        return lambda doc, cache: any((s := _keyword_text(v)) is not None and s.startswith(p) for v in get(doc))
    if isinstance(node, Suffix):
        get, sfx = field_getter(node.field), node.value
        return lambda doc, cache: any((s := _keyword_text(v)) is not None and s.endswith(sfx) for v in get(doc))
    if isinstance(node, Pattern):
        get, rx = field_getter(node.field), _glob_regex(node.pattern)
        return lambda doc, cache: any(
            (s := _keyword_text(v)) is not None and rx.fullmatch(s) is not None for v in get(doc))
    if isinstance(node, Exists):
        get = field_getter(node.field, with_subpaths=True)
        return lambda doc, cache: any(_has_leaf(v) for v in get(doc))
    raise TypeError(f"unknown AST node {node!r}")  # pragma: no cover - exhaustive


def _time_pred(q: Query) -> Pred | None:
    start, end = q.time_range or (None, None)
    cal = q.calendar
    if start is None and end is None and cal is None:
        return None
    lo = to_epoch_millis(start) if start is not None else None
    hi = to_epoch_millis(end) if end is not None else None
    zone = ZoneInfo(cal.zone) if cal is not None else None
    get = field_getter("@timestamp")

    def pred(doc: dict, cache: dict) -> bool:
        values = get(doc)
        if not values:
            return False
        for v in values:
            ms = parse_event_timestamp(v)
            if ms is None:
                continue
            if lo is not None and ms < lo:
                continue
            if hi is not None and ms >= hi:
                continue
            if cal is not None and not in_calendar(cal, zone, ms):  # type: ignore[arg-type]
                continue
            return True
        return False

    return pred


def compile_matcher(q: Query) -> Callable[[dict], bool]:
    """A fast ``event -> bool`` for ``q``; build it once and call it on every event."""
    body = _compile(q.ast)
    time_pred = _time_pred(q)
    if time_pred is None:
        return lambda doc: body(doc, {})

    def match(doc: dict) -> bool:
        cache: dict = {}
        return time_pred(doc, cache) and body(doc, cache)

    return match


def compile_shared_matcher(q: Query) -> Callable[[dict, dict], bool]:
    """Like :func:`compile_matcher`, but the caller passes the per-event cache: many queries
    judged on one event (streaming alert rules) then tokenise each text field once between them.
    The cache is keyed by field and holds only what the event itself determines."""
    body = _compile(q.ast)
    time_pred = _time_pred(q)
    if time_pred is None:
        return body
    return lambda doc, cache: time_pred(doc, cache) and body(doc, cache)


def matches(q: Query, doc: dict) -> bool:
    """Whether the event ``doc`` (indexed shape: ECS nested and/or dotted keys) satisfies ``q``."""
    fn = q._cache.get("matcher")
    if fn is None:
        fn = q._cache["matcher"] = compile_matcher(q)
    return fn(doc)
