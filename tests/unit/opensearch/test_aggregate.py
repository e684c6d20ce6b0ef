"""Aggregation DSL building and flattening of bucket trees into rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opensearch.aggregate import bucket_estimate, build_aggs, flatten, metric_aggs

T0 = datetime(2026, 11, 29, tzinfo=UTC)


def test_nesting_order_groups_then_time_then_metric():
    aggs = build_aggs("avg", "event.duration", ["service.name", "host.name"], 5, "1h", T0, T0 + timedelta(hours=3))
    g0 = aggs["g0"]
    assert g0["terms"] == {"field": "service.name", "size": 5}
    g1 = g0["aggs"]["g1"]
    hist = g1["aggs"]["time"]["date_histogram"]
    assert hist["fixed_interval"] == "1h" and hist["min_doc_count"] == 0
    assert hist["extended_bounds"]["min"] == int(T0.timestamp() * 1000)
    assert g1["aggs"]["time"]["aggs"] == {"metric": {"avg": {"field": "event.duration"}}}


def test_metric_leaves():
    assert metric_aggs("count", None, ()) == {}
    assert metric_aggs("error_rate", None, ())["errors"]["filter"]["terms"]["log.level"] == ["ERROR", "FATAL"]
    assert metric_aggs("percentiles", "d", (50, 99))["metric"]["percentiles"]["percents"] == [50, 99]
    with pytest.raises(ValueError):
        metric_aggs("avg", None, ())


def test_flatten_groups_and_time_series_with_error_rate():
    tree = {"g0": {"buckets": [
        {"key": "api", "doc_count": 10, "time": {"buckets": [
            {"key": 0, "key_as_string": "2026-11-29T00:00:00.000Z", "doc_count": 4, "errors": {"doc_count": 1}},
            {"key": 1, "key_as_string": "2026-11-29T01:00:00.000Z", "doc_count": 0, "errors": {"doc_count": 0}},
        ]}},
    ]}}
    rows = flatten("error_rate", ["service.name"], "1h", tree, 10)
    assert rows == [
        {"key": {"service.name": "api", "@timestamp": "2026-11-29T00:00:00.000Z"}, "count": 4, "value": 0.25,
         "errors": 1},
        {"key": {"service.name": "api", "@timestamp": "2026-11-29T01:00:00.000Z"}, "count": 0, "value": None,
         "errors": 0},
    ]


def test_flatten_single_row_metrics():
    assert flatten("count", [], None, {}, 42) == [{"key": {}, "count": 42, "value": 42}]
    stats = {"metric": {"count": 2, "min": 1, "max": 3, "avg": 2, "sum": 4, "std_deviation": 1.0}}
    assert flatten("stats", [], None, stats, 2)[0]["value"] == {"count": 2, "min": 1, "max": 3, "avg": 2, "sum": 4,
                                                               "stddev": 1.0}
    assert flatten("stddev", [], None, stats, 2)[0]["value"] == 1.0
    pct = {"metric": {"values": {"50.0": 7.0}}}
    assert flatten("percentiles", [], None, pct, 2)[0]["value"] == {"50.0": 7.0}
    assert flatten("cardinality", [], None, {"metric": {"value": 9}}, 2)[0]["value"] == 9


def test_bucket_estimate():
    assert bucket_estimate([10, 10], 24) == 2400
    assert bucket_estimate([], 0) == 1
