"""Request parameters → typed, validated values (no HTTP, no OpenSearch).

Every ``/api/v1/logs/*`` endpoint shares the filter parameters ``q``, ``level``, ``source``,
``from``, ``to``; each parser here raises :class:`ui.errors.ApiError` (400) naming the
parameter and what was expected, so a client can fix its request from the message alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from logharbor import ecs, levels
from logharbor.levels import LEVELS, normalize_level
from opensearch.query import fields as query_fields
from ui.errors import ApiError, bad_request
from ui.settings import UISettings

FIELD_RE = re.compile(r"^[A-Za-z_@][A-Za-z0-9_.@-]{0,199}$")
_REL_RE = re.compile(r"^(?:now)?\s*-?\s*(\d+)\s*(s|m|h|d|w)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
INTERVAL_RE = re.compile(r"^(\d+)(s|m|h|d)$")
RELATED_FIELDS: dict[str, str] = {
    "request_id": ecs.SHORT_FIELDS["request_id"],
    "trace_id": ecs.TRACE_ID,
    "user_id": ecs.SHORT_FIELDS["user_id"],
}
METRICS: tuple[str, ...] = (
    "count", "avg", "sum", "min", "max", "stats", "stddev", "percentiles", "cardinality", "error_rate",
)
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", "json"),
    "ndjson": ("application/x-ndjson", "ndjson"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "text": ("text/plain; charset=utf-8", "log"),
}
DEFAULT_COLUMNS: tuple[str, ...] = (ecs.TIMESTAMP, ecs.LEVEL, ecs.SERVICE, ecs.HOST, ecs.MESSAGE)
_NICE_INTERVALS = ("1s", "5s", "10s", "30s", "1m", "5m", "10m", "30m", "1h", "3h", "6h", "12h", "1d", "7d")
ERROR_LEVELS: tuple[str, ...] = tuple(lv for lv in LEVELS if lv in levels.ERROR_LEVELS)  # logharbor.levels
# Time-range and interval limits (issue 16 item 6). Without them ``from=now-999999999d``
# overflowed datetime (HTTP 500 with a traceback) and ``interval=0s`` divided by zero.
# The ui settings ``max_time_range_days``, ``min_interval_s`` and ``max_interval_days`` override these.
MAX_TIME_RANGE_DAYS = int(UISettings.model_fields["max_time_range_days"].default)
MIN_INTERVAL_S = int(UISettings.model_fields["min_interval_s"].default)
MAX_INTERVAL_DAYS = int(UISettings.model_fields["max_interval_days"].default)


# ---------------------------------------------------------------- primitives


def resolve_field(name: str, param: str = "field") -> str:
    """The stored field for a parameter's field name: the query engine's one resolver."""
    try:
        return query_fields.resolve_field(name.strip())
    except query_fields.FieldNameError as exc:
        raise bad_request(f"{exc} in '{param}'", param=param) from None


def parse_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_int(query: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"'{name}' must be an integer, got {raw!r}", param=name) from None
    if not lo <= value <= hi:
        raise bad_request(f"'{name}' must be between {lo} and {hi}, got {value}", param=name)
    return value


def parse_time(value: str, now: datetime, param: str, max_range_days: int = MAX_TIME_RANGE_DAYS) -> datetime:
    """ISO 8601, epoch seconds/milliseconds, ``now``, ``now-15m``/``15m``, or the query engine's
    time expressions (``yesterday``, ``last monday``…) — always an aware UTC datetime.
    A relative offset longer than ``max_range_days`` is a 400 naming that limit."""
    text = value.strip()
    if not text:
        raise bad_request(f"'{param}' is empty", param=param)
    if text == "now":
        return now
    m = _REL_RE.match(text.lower())
    if m:
        seconds = int(m.group(1)) * _UNIT_S[m.group(2)]
        if seconds > max_range_days * 86400:
            raise bad_request(f"'{param}': {value!r} reaches back more than the limit of {max_range_days} days "
                              "(ui.max_time_range_days)", param=param, limit=max_range_days)
        return now - timedelta(seconds=seconds)
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        number = float(text)
        try:
            return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, UTC)
        except (OverflowError, OSError, ValueError):
            raise bad_request(f"'{param}': epoch time {value!r} is out of range", param=param) from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    from opensearch.query import parse_time_point

    try:
        point = parse_time_point(text, now=now)
    except OverflowError:
        raise bad_request(f"'{param}': {value!r} is out of the representable time range", param=param) from None
    except ValueError as exc:  # TimeExpressionError and QuerySyntaxError are ValueErrors
        raise bad_request(f"'{param}': cannot read {value!r} as a time: {exc}", param=param) from None
    return _as_datetime(point, param)


def _as_datetime(value: Any, param: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, tuple) and value and isinstance(value[0], datetime):
        return _as_datetime(value[0], param)
    raise bad_request(f"'{param}': not a point in time", param=param)


def time_bounds(time_range: Any) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a query's time range, whatever shape the query engine gives it."""
    if time_range is None:
        return None, None
    if isinstance(time_range, tuple | list) and len(time_range) == 2:
        return time_range[0], time_range[1]
    start = getattr(time_range, "start", None) or getattr(time_range, "gte", None)
    end = getattr(time_range, "end", None) or getattr(time_range, "lt", None)
    end = end or getattr(time_range, "lte", None)
    return start, end


def parse_query(text: str | None, now: datetime) -> Any | None:
    """Parse ``q`` with the shared grammar; a syntax error becomes 400 with its column."""
    if text is None or not text.strip():
        return None
    from opensearch.query import QuerySyntaxError, parse

    try:
        return parse(text, now=now)
    except QuerySyntaxError as exc:
        raise query_error(exc) from None
    except (OverflowError, RecursionError):  # belt and braces: a client error, not a 500
        raise bad_request("query 'q' is out of range (too deep or a time too far away)", param="q") from None


def query_error(exc: Exception) -> ApiError:
    """A QuerySyntaxError as the API's 400: message, 1-based column and what was expected."""
    expected = getattr(exc, "expected", None)
    if isinstance(expected, set | frozenset | tuple | list):
        expected = sorted(str(e) for e in expected)
    return bad_request(str(exc), position=getattr(exc, "position", None), expected=expected)


def parse_levels(value: str | None) -> list[str]:
    """``level=error,warn`` → canonical levels; ``level=WARN+`` means WARN and above."""
    out: list[str] = []
    for part in parse_list(value):
        at_least = part.endswith("+")
        level = normalize_level(part.rstrip("+"))
        if level is None:
            raise bad_request(f"unknown level {part!r}; known: {', '.join(LEVELS)}", param="level")
        if at_least:
            out.extend(LEVELS[LEVELS.index(level):])
        else:
            out.append(level)
    return list(dict.fromkeys(out))


def parse_sort(value: str | None) -> list[tuple[str, str]]:
    """``sort=@timestamp:desc,level:asc`` (default newest first); ``-field`` means descending;
    ``sort=_score`` ranks by relevance (most relevant first, then newest)."""
    if not value:
        return [(ecs.TIMESTAMP, "desc")]
    out: list[tuple[str, str]] = []
    for part in parse_list(value):
        order = "desc" if part == "_score" else "asc"  # relevance: most relevant first
        if part.startswith("-"):
            part, order = part[1:], "desc"
        elif ":" in part:
            part, _, order = part.rpartition(":")
            order = order.lower()
            if order not in ("asc", "desc"):
                raise bad_request(f"sort order must be asc or desc, got {order!r}", param="sort")
        elif part in ("asc", "desc"):
            part, order = ecs.TIMESTAMP, part
        out.append(("_score", order) if part == "_score" else (resolve_field(part, "sort"), order))
    return out


# ---------------------------------------------------------------- endpoint parameter sets


@dataclass(slots=True)
class Filters:
    """The filter parameters shared by search, aggregate, export, fields."""

    q: str | None = None
    query: Any | None = None
    levels: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    classes: list[str] = field(default_factory=list)


def parse_filters(query: Mapping[str, str], now: datetime, settings: UISettings | None = None) -> Filters:
    max_days = settings.max_time_range_days if settings is not None else MAX_TIME_RANGE_DAYS
    f = Filters(q=query.get("q") or None)
    f.query = parse_query(f.q, now)
    f.levels = parse_levels(query.get("level"))
    f.sources = parse_list(query.get("source"))
    start = parse_time(query["from"], now, "from", max_days) if query.get("from") else None
    end = parse_time(query["to"], now, "to", max_days) if query.get("to") else None
    q_start, q_end = time_bounds(getattr(f.query, "time_range", None))
    # Both the parameters and a time expression in q apply: keep the intersection.
    f.start = max((t for t in (start, q_start) if t is not None), default=None)
    f.end = min((t for t in (end, q_end) if t is not None), default=None)
    if f.start and f.end and f.start > f.end:
        raise bad_request("'from' is after 'to'", param="from")
    check_time_range(f.start, f.end, now, max_days)
    if f.query is not None and (start is not None or end is not None):
        # The query engine applies its range and calendar filters (weekdays, business hours)
        # within the time range it knows; give it the caller's from/to too.
        f.query = f.query.within(start, end)
    f.classes = parse_list(query.get("class"))
    for cls in f.classes:
        if not re.fullmatch(r"[a-z0-9_]+", cls):
            raise bad_request(f"invalid retention class {cls!r}", param="class")
    return f


def check_time_range(start: datetime | None, end: datetime | None, now: datetime, max_days: int) -> None:
    """400 when the searched range spans more than ``max_days`` (``ui.max_time_range_days``)."""
    if start is None:
        return
    try:
        span = (end or max(now, start)) - start
    except OverflowError:
        span = timedelta.max
    if span > timedelta(days=max_days):
        raise bad_request(f"time range of {span.days} days exceeds the limit of {max_days} days "
                          "(ui.max_time_range_days)", param="from", limit=max_days)


@dataclass(slots=True)
class SearchParams:
    filters: Filters
    limit: int
    offset: int
    sort: list[tuple[str, str]]
    cursor: str | None
    fields: list[str] = field(default_factory=list)


def parse_search(query: Mapping[str, str], settings: UISettings, now: datetime) -> SearchParams:
    cursor = query.get("cursor") or None
    limit = parse_int(query, "limit", settings.default_limit, 1, settings.max_limit)
    offset = parse_int(query, "offset", 0, 0, 1 << 31)
    if cursor is None and offset + limit > settings.max_offset:
        raise bad_request(
            f"offset+limit may not exceed {settings.max_offset}; follow the 'next' cursor of the "
            "previous page for deeper results",
            param="offset",
        )
    filters = parse_filters(query, now, settings) if cursor is None else Filters()
    fields = [resolve_field(f, "fields") for f in parse_list(query.get("fields"))]
    return SearchParams(filters, limit, offset, parse_sort(query.get("sort")), cursor, fields)


@dataclass(slots=True)
class DetailParams:
    context: int
    related: list[tuple[str, str]]


def parse_detail(query: Mapping[str, str], settings: UISettings) -> DetailParams:
    context = parse_int(query, "context", 0, 0, settings.context_max)
    related = []
    for name in parse_list(query.get("related")):
        if name not in RELATED_FIELDS:
            raise bad_request(
                f"related must be one of {', '.join(RELATED_FIELDS)}, got {name!r}", param="related"
            )
        related.append((name, RELATED_FIELDS[name]))
    return DetailParams(context, related)


@dataclass(slots=True)
class AggregateParams:
    filters: Filters
    metric: str
    field: str | None
    group_by: list[str]
    size: int
    interval: str | None
    percents: list[float]


def parse_aggregate(query: Mapping[str, str], settings: UISettings, now: datetime) -> AggregateParams:
    metric = (query.get("metric") or "count").lower()
    if metric not in METRICS:
        raise bad_request(f"metric must be one of {', '.join(METRICS)}, got {metric!r}", param="metric")
    fld = resolve_field(query["field"]) if query.get("field") else None
    if metric not in ("count", "error_rate") and fld is None:
        raise bad_request(f"metric '{metric}' needs a 'field'", param="field")
    group_by = [resolve_field(g, "group_by") for g in parse_list(query.get("group_by"))]
    if len(group_by) > 3:
        raise bad_request("group_by takes at most 3 fields", param="group_by")
    size = parse_int(query, "size", settings.default_group_size, 1, settings.max_group_size)
    interval = query.get("interval") or None
    if interval is not None and interval != "auto" and not INTERVAL_RE.match(interval):
        raise bad_request(f"interval must be like 1m, 1h, 1d or 'auto', got {interval!r}", param="interval")
    if interval is not None and interval != "auto":
        check_interval(interval, settings)
    percents = settings.percentiles
    if query.get("percents"):
        try:
            percents = [float(p) for p in parse_list(query["percents"])]
        except ValueError:
            raise bad_request("percents must be numbers, e.g. 50,95,99", param="percents") from None
        if not all(0 <= p <= 100 for p in percents):
            raise bad_request("percents must be between 0 and 100", param="percents")
    filters = parse_filters(query, now, settings)
    if interval is not None:
        filters.end = filters.end or now
        if filters.start is None:
            filters.start = filters.end - timedelta(hours=24)
        if filters.query is not None:
            # A series has a range even when the caller gave none; calendar filters in q
            # (weekdays, business hours) expand within it.
            filters.query = filters.query.within(filters.start, filters.end)
    return AggregateParams(filters, metric, fld, group_by, size, interval, percents)


def check_interval(interval: str, settings: UISettings) -> None:
    """400 for an interval below ``ui.min_interval_s`` (``0s`` divided by zero) or above
    ``ui.max_interval_days``."""
    seconds = interval_seconds(interval)
    if seconds < settings.min_interval_s:
        raise bad_request(f"interval {interval!r} is below the minimum of {settings.min_interval_s}s "
                          "(ui.min_interval_s)", param="interval", limit=settings.min_interval_s)
    if seconds > settings.max_interval_days * 86400:
        raise bad_request(f"interval {interval!r} exceeds the maximum of {settings.max_interval_days} days "
                          "(ui.max_interval_days)", param="interval", limit=settings.max_interval_days)


def interval_seconds(interval: str) -> int:
    m = INTERVAL_RE.match(interval)
    if not m:
        raise bad_request(f"invalid interval {interval!r}", param="interval")
    return int(m.group(1)) * _UNIT_S[m.group(2)]


def choose_interval(start: datetime, end: datetime, target_buckets: int) -> str:
    """The smallest 'nice' interval giving at most ``target_buckets`` buckets over the range."""
    span = max((end - start).total_seconds(), 1.0)
    for candidate in _NICE_INTERVALS:
        if span / interval_seconds(candidate) <= target_buckets:
            return candidate
    return "30d"


@dataclass(slots=True)
class ExportParams:
    filters: Filters
    format: str
    columns: list[str]
    limit: int
    sort: list[tuple[str, str]]


def parse_export(query: Mapping[str, str], settings: UISettings, now: datetime) -> ExportParams:
    fmt = (query.get("format") or "ndjson").lower()
    if fmt not in EXPORT_FORMATS:
        raise bad_request(f"format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}", param="format")
    columns = [resolve_field(c, "columns") for c in parse_list(query.get("columns"))] or list(DEFAULT_COLUMNS)
    limit = parse_int(query, "limit", settings.export_max_rows, 1, settings.export_max_rows)
    return ExportParams(parse_filters(query, now, settings), fmt, columns, limit, parse_sort(query.get("sort")))
