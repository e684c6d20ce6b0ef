"""Bound AST → OpenSearch ``query`` clause.

Everything runs in filter context (``bool.filter``/``should``/``must_not``): log search sorts by
time, scores are meaningless and filters are cacheable. Only cheap query types are emitted —
``term(s)`` (a wildcard word is a term on an edge-gram subfield), ``range`` on numbers/dates/IPs,
``exists``, ``match_phrase``, and — for older backing indices — ``prefix`` on subfields with
``index_prefixes`` and a term on the pre-issue-13 ``_index_prefix`` field (single term lookups,
no expansion; see fields.py) — so the output runs with
``search.allow_expensive_queries=false``. ``wildcard`` and keyword ``range`` appear only when
the settings explicitly allow expensive queries. The compiler never names an index: the
caller picks the tenant's indices.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from opensearch.query.calendar import local_windows
from opensearch.query.errors import QuerySyntaxError
from opensearch.query.fields import LEGACY_PREFIX, OLDER_PREFIX, OLDER_SUFFIX, FieldKind
from opensearch.query.parser import default_settings
from opensearch.query.settings import QuerySettings
from opensearch.query.timeexpr import to_epoch_millis

TIMESTAMP = "@timestamp"
MATCH_ALL: dict[str, Any] = {"match_all": {}}
MATCH_NONE: dict[str, Any] = {"match_none": {}}


def _any(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _compile(node: Node) -> dict[str, Any]:
    if isinstance(node, MatchAll):
        return dict(MATCH_ALL)
    if isinstance(node, MatchNone):
        return dict(MATCH_NONE)
    if isinstance(node, And):
        return {"bool": {"filter": [_compile(i) for i in node.items]}}
    if isinstance(node, Or):
        return _any([_compile(i) for i in node.items])
    if isinstance(node, Not):
        return {"bool": {"must_not": [_compile(node.item)]}}
    if isinstance(node, TextMatch):
        if node.mode == "phrase":
            return _any([{"match_phrase": {f: {"query": node.text}}} for f in node.query_fields])
        prefix = node.mode == "prefix"
        value = node.tokens[0] if prefix else node.tokens[0][::-1]
        # the edge-gram subfields (current template), then older backing indices' forms (fields.py)
        clauses = [{"term": {f: {"value": value}}} for f in node.query_fields]
        clauses += [{"prefix": {f + (OLDER_PREFIX if prefix else OLDER_SUFFIX): {"value": value}}}
                    for f in node.fields]
        if prefix:
            clauses += [{"term": {f + LEGACY_PREFIX: {"value": value}}} for f in node.fields]
        return _any(clauses)
    if isinstance(node, Term):
        values = list(node.values)
        if len(values) == 1:
            return {"term": {node.field: {"value": values[0]}}}
        return {"terms": {node.field: values}}
    if isinstance(node, Range):
        body: dict[str, Any] = {node.op: node.value}
        if node.kind is FieldKind.DATE:
            body["format"] = "epoch_millis"
        return {"range": {node.field: body}}
    if isinstance(node, Prefix | Suffix):
        value = node.value if isinstance(node, Prefix) else node.value[::-1]
        if node.query_field == node.field:  # no subfields: expensive mode's plain prefix query
            return {"prefix": {node.field: {"value": value}}}
        older = node.field + (OLDER_PREFIX if isinstance(node, Prefix) else OLDER_SUFFIX)
        return _any([{"term": {node.query_field: {"value": value}}}, {"prefix": {older: {"value": value}}}])
    if isinstance(node, Pattern):
        return {"wildcard": {node.field: {"value": node.pattern}}}
    if isinstance(node, Exists):
        return {"exists": {"field": node.field}}
    raise TypeError(f"unknown AST node {node!r}")  # pragma: no cover - exhaustive


def _time_clauses(q: Query, settings: QuerySettings) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    start, end = q.time_range or (None, None)
    if start is not None or end is not None:
        body: dict[str, Any] = {"format": "epoch_millis"}
        if start is not None:
            body["gte"] = to_epoch_millis(start)
        if end is not None:
            body["lt"] = to_epoch_millis(end)
        clauses.append({"range": {TIMESTAMP: body}})
    cal = q.calendar
    if cal is not None:
        if start is None:
            raise QuerySyntaxError("'weekdays'/'business hours' need a time range (add e.g. 'last 7 days' "
                                   "or pass from/to)", cal.pos or 1, None, q.text)
        if end is None:
            # Open-ended: expand through the local day that contains `now` (events later than
            # that are not selected by a calendar filter; the matcher has no such horizon).
            zone = ZoneInfo(cal.zone)
            ref = (q.now or start).astimezone(zone).date() + timedelta(days=1)
            end = datetime.combine(ref, time(0), tzinfo=zone)
        try:
            windows = local_windows(cal, start, end, settings.max_calendar_days)
        except ValueError as exc:
            raise QuerySyntaxError(f"business hours/weekdays: {exc}", cal.pos or 1, None, q.text) from None
        if not windows:
            clauses.append(dict(MATCH_NONE))
        else:
            clauses.append(_any([
                {"range": {TIMESTAMP: {"gte": to_epoch_millis(a), "lt": to_epoch_millis(b),
                                       "format": "epoch_millis"}}}
                for a, b in windows
            ]))
    return clauses


def compile_query(q: Query, settings: QuerySettings | None = None) -> dict[str, Any]:
    """The OpenSearch ``query`` clause for ``q`` (AST, time range on ``@timestamp``, calendar).

    Raises QuerySyntaxError when a calendar filter has no time range to expand in.
    """
    settings = settings or default_settings()
    body = _compile(q.ast)
    time_clauses = _time_clauses(q, settings)
    if not time_clauses:
        return body
    if body == MATCH_ALL:
        return time_clauses[0] if len(time_clauses) == 1 else {"bool": {"filter": time_clauses}}
    return {"bool": {"filter": [body, *time_clauses]}}
