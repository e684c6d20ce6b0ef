"""Rule query + condition → search body (same compiler as search) and response → group values."""

from __future__ import annotations

from opensearch.alerts_query import build_search, parse_search
from opensearch.query import compile_query, parse


def test_count_by_group_uses_the_search_compiler_and_the_window():
    body = build_search({"type": "count", "group_by": ["service.name"]}, "level:ERROR", 0, 60_000, 500)
    flt = body["query"]["bool"]["filter"]
    assert flt[0] == compile_query(parse("level:ERROR"))
    assert flt[1] == {"range": {"@timestamp": {"format": "epoch_millis", "gte": 0, "lt": 60_000}}}
    assert body["aggs"]["groups"]["terms"] == {"field": "service.name", "size": 500}
    resp = {"hits": {"total": {"value": 7}}, "aggregations": {"groups": {"buckets": [
        {"key": "api", "doc_count": 5}, {"key": "web", "doc_count": 2}]}}}
    assert parse_search({"type": "count", "group_by": ["service.name"]}, resp) == {
        "service.name=api": ({"service.name": "api"}, 5.0), "service.name=web": ({"service.name": "web"}, 2.0)}


def test_rate_is_a_percentage_of_the_denominator():
    cond = {"type": "rate"}
    body = build_search(cond, "level:ERROR", 0, 60_000, 10)
    assert body["aggs"]["hits"]["filter"] == compile_query(parse("level:ERROR"))
    assert parse_search(cond, {"hits": {"total": {"value": 200}}, "aggregations": {"hits": {"doc_count": 20}}}) == {
        "*": ({}, 10.0)}
    assert parse_search(cond, {"hits": {"total": {"value": 0}}, "aggregations": {"hits": {"doc_count": 0}}}) == {
        "*": ({}, None)}


def test_metrics_and_multi_field_groups():
    cond = {"type": "metric", "metric": {"agg": "p95", "field": "http.response.time"},
            "group_by": ["service.name", "host.name"]}
    body = build_search(cond, "", 0, 60_000, 10)
    assert body["aggs"]["groups"]["multi_terms"]["terms"] == [{"field": "service.name"}, {"field": "host.name"}]
    assert body["aggs"]["groups"]["aggs"]["m"] == {"percentiles": {"field": "http.response.time", "percents": [95.0]}}
    resp = {"hits": {"total": {"value": 3}}, "aggregations": {"groups": {"buckets": [
        {"key": ["api", "h1"], "doc_count": 3, "m": {"values": {"95.0": 250.0}}}]}}}
    assert parse_search(cond, resp) == {"host.name=h1,service.name=api": (
        {"service.name": "api", "host.name": "h1"}, 250.0)}
    uniq = build_search({"type": "metric", "metric": {"agg": "unique", "field": "user.name"}}, "", 0, 1, 1)
    assert uniq["aggs"]["m"] == {"cardinality": {"field": "user.name"}}
