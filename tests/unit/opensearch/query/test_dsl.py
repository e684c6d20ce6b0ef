"""The OpenSearch DSL compiler: shapes for each example, and safety properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from opensearch.query import QuerySettings, compile_query
from opensearch.query.timeexpr import to_epoch_millis


def ms(*args: int) -> int:
    return to_epoch_millis(datetime(*args, tzinfo=UTC))


def both(clause_for) -> dict:
    return {"bool": {"should": [clause_for("message"), clause_for("event.original")], "minimum_should_match": 1}}


def test_empty_is_match_all(q):
    assert compile_query(q("")) == {"match_all": {}}


def test_free_text_is_match_phrase_on_message_fields(q):
    assert compile_query(q("database")) == both(lambda f: {"match_phrase": {f: {"query": "database"}}})
    assert compile_query(q('"connection refused"')) == both(
        lambda f: {"match_phrase": {f: {"query": "connection refused"}}})


def test_boolean_structure_is_filter_context(q):
    dsl = compile_query(q("a AND NOT b OR c"))
    assert set(dsl["bool"]) == {"should", "minimum_should_match"}
    left = dsl["bool"]["should"][0]
    assert list(left["bool"]) == ["filter"]
    assert "must_not" in left["bool"]["filter"][1]["bool"]


def test_prefix_and_suffix_wildcards_compile_to_index_prefix_lookups(q):
    # edge-gram .prefixes (current template) OR the .prefix subfield (lean mapping of 2026-12-01)
    # OR the field's own _index_prefix (before issue 13): each is unmapped on the other indices
    assert compile_query(q("Data*")) == {"bool": {"should": [
        {"term": {"message.prefixes": {"value": "data"}}}, {"term": {"event.original.prefixes": {"value": "data"}}},
        {"prefix": {"message.prefix": {"value": "data"}}}, {"prefix": {"event.original.prefix": {"value": "data"}}},
        {"term": {"message._index_prefix": {"value": "data"}}},
        {"term": {"event.original._index_prefix": {"value": "data"}}}], "minimum_should_match": 1}}
    assert compile_query(q('message LIKE "time%"')) == {"bool": {"should": [
        {"term": {"message.prefixes": {"value": "time"}}},
        {"prefix": {"message.prefix": {"value": "time"}}},
        {"term": {"message._index_prefix": {"value": "time"}}}], "minimum_should_match": 1}}
    assert compile_query(q("*base")) == {"bool": {"should": [
        {"term": {"message.suffixes": {"value": "esab"}}}, {"term": {"event.original.suffixes": {"value": "esab"}}},
        {"prefix": {"message.reversed": {"value": "esab"}}},
        {"prefix": {"event.original.reversed": {"value": "esab"}}}], "minimum_should_match": 1}}


def test_field_terms(q):
    assert compile_query(q("level:error")) == {"term": {"log.level": {"value": "ERROR"}}}
    assert compile_query(q('level = "ERROR"')) == {"term": {"log.level": {"value": "ERROR"}}}
    assert compile_query(q("source:web-api AND message:timeout")) == {"bool": {"filter": [
        {"term": {"service.name": {"value": "web-api"}}},
        {"match_phrase": {"message": {"query": "timeout"}}},
    ]}}
    assert compile_query(q("response.body.error.code = 1001")) == {
        "term": {"fields.response.body.error.code": {"value": 1001}}}


@pytest.mark.parametrize(("op", "key"), [(">", "gt"), (">=", "gte"), ("<", "lt"), ("<=", "lte")])
def test_numeric_ranges(q, op, key):
    assert compile_query(q(f"response_time {op} 1000")) == {"range": {"logharbor.duration_ms": {key: 1000}}}


def test_not_equal(q):
    assert compile_query(q("status_code != 200")) == {"bool": {"filter": [
        {"exists": {"field": "http.response.status_code"}},
        {"bool": {"must_not": [{"term": {"http.response.status_code": {"value": 200}}}]}},
    ]}}


def test_in_is_terms(q):
    assert compile_query(q("status_code IN (500, 502, 503, 504)")) == {
        "terms": {"http.response.status_code": [500, 502, 503, 504]}}


def test_like(q):
    assert compile_query(q('message LIKE "%timeout%"')) == {"match_phrase": {"message": {"query": "timeout"}}}
    assert compile_query(q('user_email LIKE "%@gmail.com"')) == {"bool": {"should": [
        {"term": {"user.email.suffixes": {"value": "moc.liamg@"}}},
        {"prefix": {"user.email.reversed": {"value": "moc.liamg@"}}}], "minimum_should_match": 1}}
    assert compile_query(q('host LIKE "db-%"')) == {"bool": {"should": [
        {"term": {"host.name.prefixes": {"value": "db-"}}},
        {"prefix": {"host.name.prefix": {"value": "db-"}}}], "minimum_should_match": 1}}


def test_exists_and_null(q):
    assert compile_query(q("error_message IS NOT NULL")) == {"exists": {"field": "error.message"}}
    assert compile_query(q("error_message IS NULL")) == {"bool": {"must_not": [{"exists": {"field": "error.message"}}]}}
    assert compile_query(q("user_id EXISTS")) == {"exists": {"field": "user.id"}}
    assert compile_query(q("request.headers.authorization EXISTS")) == {
        "exists": {"field": "fields.request.headers.authorization"}}


def test_time_range_on_timestamp(q):
    dsl = compile_query(q("level:ERROR last 15 minutes"))
    assert dsl == {"bool": {"filter": [
        {"term": {"log.level": {"value": "ERROR"}}},
        {"range": {"@timestamp": {"format": "epoch_millis", "gte": ms(2026, 1, 21, 11, 45)}}},
    ]}}


def test_time_only_query_is_just_the_range(q):
    assert compile_query(q("today")) == {"range": {"@timestamp": {
        "format": "epoch_millis", "gte": ms(2026, 1, 21), "lt": ms(2026, 1, 22)}}}


def test_timestamp_comparison(q):
    assert compile_query(q('timestamp >= "2026-01-19 09:00"')) == {
        "range": {"@timestamp": {"gte": ms(2026, 1, 19, 9), "format": "epoch_millis"}}}


def test_today_during_business_hours_is_one_window(q):
    dsl = compile_query(q("today during business hours"))
    window = {"range": {"@timestamp": {"gte": ms(2026, 1, 21, 9), "lt": ms(2026, 1, 21, 17), "format": "epoch_millis"}}}
    assert dsl["bool"]["filter"][1] == window


def test_weekdays_expand_to_bounded_ranges(q):
    dsl = compile_query(q("level:ERROR weekdays last 7 days"))
    windows = dsl["bool"]["filter"][2]["bool"]["should"]
    assert [w["range"]["@timestamp"]["gte"] for w in windows] == [ms(2026, 1, 14, 12), ms(2026, 1, 19)]
    assert windows[0]["range"]["@timestamp"]["lt"] == ms(2026, 1, 17)


def test_weekend_only_range_on_weekdays_matches_none(q):
    dsl = compile_query(q("weekends 2026-01-19 to 2026-01-20"))
    assert {"match_none": {}} in dsl["bool"]["filter"]


def test_expensive_mode_emits_wildcard(q):
    s = QuerySettings(allow_expensive_queries=True)
    assert compile_query(q('source LIKE "w_b%"', settings=s), settings=s) == {
        "wildcard": {"service.name": {"value": "w?b*"}}}
    assert compile_query(q("source > m", settings=s), settings=s) == {"range": {"service.name": {"gt": "m"}}}


SAFE_QUERIES = [
    "database", '"connection refused"', "data* *base", "level:ERROR", "source:web*", "host:*-01",
    'user_email LIKE "%@gmail.com"', 'message LIKE "%timeout%"', "status_code IN (500, 502)",
    "response_time >= 10", "level >= WARN", "NOT (a OR b) -c", "x.y.z EXISTS", "ip:10.0.0.0/8",
    "weekdays business hours last 3 days", "_id EXISTS OR a",
]


def _keys(obj) -> set[str]:
    found: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            found.add(k)
            found |= _keys(v)
    elif isinstance(obj, list):
        for v in obj:
            found |= _keys(v)
    return found


@pytest.mark.parametrize("text", SAFE_QUERIES)
def test_default_output_needs_no_expensive_queries_and_names_no_index(q, text):
    from opensearch.query import QuerySyntaxError

    try:
        dsl = compile_query(q(text))
    except QuerySyntaxError:
        assert text.startswith("_id")  # meta fields are refused, never compiled
        return
    keys = _keys(dsl)
    assert not keys & {"wildcard", "regexp", "fuzzy", "script", "query_string", "simple_query_string",
                       "more_like_this", "index", "_index"}
    # the only "_index" allowed is a text field's own pre-issue-13 index_prefixes field
    assert "_index" not in json.dumps(dsl).replace('._index_prefix"', "")
    for clause in _find(dsl, "term"):
        (field, _), = clause.items()
        assert "_index" not in field or field in {"message._index_prefix", "event.original._index_prefix"}
    # every prefix query targets an index_prefixes-backed field (never a leading-wildcard scan)
    for clause in _find(dsl, "prefix"):
        (field, body), = clause.items()
        assert len(body["value"]) <= 19
        assert field.endswith((".prefix", ".reversed"))
    # and every edge-gram lookup is a term no longer than the grams (max_gram 19)
    for clause in _find(dsl, "term"):
        (field, body), = clause.items()
        if field.endswith((".prefixes", ".suffixes")):
            assert len(body["value"]) <= 19


def _find(obj, key):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                yield v
            yield from _find(v, key)
    elif isinstance(obj, list):
        for v in obj:
            yield from _find(v, key)
