"""Parameter parsing: every bad value is a 400 naming the parameter; good values become typed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ui.errors import ApiError
from ui.params import (
    DEFAULT_COLUMNS,
    choose_interval,
    parse_aggregate,
    parse_detail,
    parse_export,
    parse_filters,
    parse_levels,
    parse_search,
    parse_sort,
    parse_time,
    resolve_field,
)
from ui.settings import UISettings

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
S = UISettings()


def bad(fn, *args):
    with pytest.raises(ApiError) as info:
        fn(*args)
    assert info.value.status == 400
    return info.value


def test_resolve_field_maps_short_names_and_rejects_junk():
    assert resolve_field("source") == "service.name"
    assert resolve_field("level") == "log.level"
    assert resolve_field("labels.team") == "labels.team"
    assert resolve_field("status_code") == "http.response.status_code"  # the query engine's resolver
    assert resolve_field("query_type") == "fields.query_type"
    assert "not a valid field name" in bad(resolve_field, "a b").message
    assert "cannot be queried" in bad(resolve_field, "x*").message
    assert "cannot be queried" in bad(resolve_field, "_index", "group_by").message  # one rule everywhere


@pytest.mark.parametrize("text,expected", [
    ("now", NOW),
    ("now-15m", NOW - timedelta(minutes=15)),
    ("15m", NOW - timedelta(minutes=15)),
    ("2h", NOW - timedelta(hours=2)),
    ("2026-11-29T10:00:00Z", datetime(2026, 11, 29, 10, tzinfo=UTC)),
    ("2026-11-29T10:00:00", datetime(2026, 11, 29, 10, tzinfo=UTC)),
    ("1796032800000", datetime(2026, 11, 30, 10, tzinfo=UTC)),
    ("1796032800", datetime(2026, 11, 30, 10, tzinfo=UTC)),
])
def test_parse_time_forms(text, expected):
    assert parse_time(text, NOW, "from") == expected


def test_parse_time_falls_back_to_time_expressions_and_reports_garbage():
    assert parse_time("yesterday", NOW, "from") == datetime(2026, 11, 28, tzinfo=UTC)
    err = bad(parse_time, "the day after never", NOW, "to")
    assert err.extra["param"] == "to" and "'to'" in err.message


def test_levels_aliases_and_at_least():
    assert parse_levels("error,warning") == ["ERROR", "WARN"]
    assert parse_levels("WARN+") == ["WARN", "ERROR", "FATAL"]
    assert "unknown level" in bad(parse_levels, "loud").message


def test_sort_forms():
    assert parse_sort(None) == [("@timestamp", "desc")]
    assert parse_sort("asc") == [("@timestamp", "asc")]
    assert parse_sort("-status,level:asc") == [("http.response.status_code", "desc"), ("log.level", "asc")]
    bad(parse_sort, "level:up")


def test_search_limits_and_offset_window():
    p = parse_search({}, S, NOW)
    assert (p.limit, p.offset, p.cursor) == (S.default_limit, 0, None)
    assert parse_search({"limit": "1000", "offset": "9000"}, S, NOW).offset == 9000
    assert "cursor" in bad(parse_search, {"limit": "1000", "offset": "9001"}, S, NOW).message
    bad(parse_search, {"limit": str(S.max_limit + 1)}, S, NOW)
    bad(parse_search, {"limit": "ten"}, S, NOW)
    # A cursor carries its own filters: the others are not re-parsed.
    assert parse_search({"cursor": "abc", "q": "((("}, S, NOW).cursor == "abc"


def test_filters_intersect_params_with_query_time_range():
    f = parse_filters({"q": "level:error last 1 hour", "from": "now-3h", "to": "now-30m"}, NOW)
    assert f.start == NOW - timedelta(hours=1) and f.end == NOW - timedelta(minutes=30)
    assert "after" in bad(parse_filters, {"from": "now", "to": "now-1h"}, NOW).message


def test_bad_query_carries_position_and_expected():
    err = bad(parse_filters, {"q": "level:error AND (service:api OR"}, NOW)
    body = err.body()
    assert isinstance(body["position"], int) and body["position"] > 0
    assert "column" in body["error"] and "expected" in body


def test_aggregate_validation_and_defaults():
    p = parse_aggregate({"metric": "error_rate", "group_by": "service,host", "interval": "1h"}, S, NOW)
    assert p.group_by == ["service.name", "host.name"] and p.field is None
    assert p.filters.end == NOW and p.filters.start == NOW - timedelta(hours=24)
    assert "needs a 'field'" in bad(parse_aggregate, {"metric": "avg"}, S, NOW).message
    bad(parse_aggregate, {"metric": "median"}, S, NOW)
    bad(parse_aggregate, {"interval": "hourly"}, S, NOW)
    bad(parse_aggregate, {"group_by": "a,b,c,d"}, S, NOW)
    bad(parse_aggregate, {"metric": "percentiles", "field": "duration", "percents": "50,101"}, S, NOW)
    assert parse_aggregate({"metric": "percentiles", "field": "duration", "percents": "50,99.9"},
                           S, NOW).percents == [50.0, 99.9]


def test_choose_interval_keeps_bucket_count_bounded():
    assert choose_interval(NOW - timedelta(hours=1), NOW, 60) == "1m"
    assert choose_interval(NOW - timedelta(days=1), NOW, 60) == "30m"
    assert choose_interval(NOW - timedelta(days=365), NOW, 60) == "7d"


def test_export_and_detail_params():
    p = parse_export({"format": "CSV", "columns": "id,source"}, S, NOW)
    assert p.format == "csv" and p.columns == ["event.id", "service.name"]
    assert parse_export({}, S, NOW).columns == list(DEFAULT_COLUMNS)
    bad(parse_export, {"format": "xml"}, S, NOW)
    d = parse_detail({"context": "5", "related": "trace_id,user_id"}, S)
    assert d.context == 5 and d.related == [("trace_id", "trace.id"), ("user_id", "user.id")]
    bad(parse_detail, {"related": "session_id"}, S)
    bad(parse_detail, {"context": str(S.context_max + 1)}, S)


def test_series_gives_calendar_queries_a_range():
    from opensearch.search import build_query

    p = parse_aggregate({"q": "level:error AND weekdays", "interval": "1h"}, S, NOW)
    assert p.filters.query.time_range == (NOW - timedelta(hours=24), NOW)
    build_query(p.filters.query)  # compiles: the calendar filter has a range to expand in


def test_sort_by_relevance_is_accepted_and_most_relevant_first():
    from opensearch.search import build_sort

    assert parse_sort("_score") == [("_score", "desc")]
    assert build_sort(parse_sort("_score"))[:2] == [
        {"_score": {"order": "desc"}},
        {"@timestamp": {"order": "desc", "unmapped_type": "date", "missing": "_last"}},
    ]
    assert parse_sort(None) == [("@timestamp", "desc")]  # newest first stays the default
