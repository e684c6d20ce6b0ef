"""The saved objects' queries run on real LogHarbor data streams: class filters, the map's geo grid, terms."""

from __future__ import annotations

import json

import pytest

from opensearch.bootstrap import bootstrap
from ops import dashboards_export as dx

pytestmark = pytest.mark.integration


def test_saved_object_queries_on_real_data_streams(os_client, unique_tenant) -> None:
    bootstrap(os_client)
    docs = {
        "errors": [{"@timestamp": "2026-01-19T10:00:00Z", "message": "boom", "log": {"level": "ERROR"},
                    "service": {"name": "checkout"}, "client": {"ip": "8.8.8.8", "geo": {
                        "location": {"lat": 37.75, "lon": -97.82}, "country_name": "United States"}}}],
        "standard": [{"@timestamp": "2026-01-19T10:00:01Z", "message": "ok", "log": {"level": "INFO"},
                      "service": {"name": "web"}, "client": {"ip": "1.1.1.1", "geo": {
                          "location": {"lat": -37.7, "lon": 145.18}, "country_name": "Australia"}}}] * 2,
    }
    streams = [f"logs-{unique_tenant}-{cls}" for cls in docs]
    try:
        for cls, items in docs.items():
            for doc in items:
                os_client.index(index=f"logs-{unique_tenant}-{cls}", body=doc, op_type="create")
        os_client.indices.refresh(index=f"logs-{unique_tenant}-*")
        index = f"logs-{unique_tenant}-*"
        for cls, items in docs.items():
            flt = dx.class_filter(cls)["query"]
            assert os_client.count(index=index, body={"query": flt})["count"] == len(items), cls
        objects = {o["id"]: o for o in dx.saved_objects()}
        state = json.loads(objects["logharbor-geoip-map"]["attributes"]["visState"])
        grid = next(a for a in state["aggs"] if a["type"] == "geohash_grid")["params"]
        body = {"size": 0, "aggs": {"g": {"geohash_grid": {"field": grid["field"], "precision": grid["precision"]}}}}
        buckets = os_client.search(index=index, body=body)["aggregations"]["g"]["buckets"]
        assert sorted(b["doc_count"] for b in buckets) == [1, 2]
        state = json.loads(objects["logharbor-errors-by-service"]["attributes"]["visState"])
        terms = next(a for a in state["aggs"] if a["type"] == "terms")["params"]["field"]
        body = {"size": 0, "query": {"query_string": {"query": "log.level:ERROR OR log.level:FATAL"}},
                "aggs": {"s": {"terms": {"field": terms}}}}
        buckets = os_client.search(index=index, body=body)["aggregations"]["s"]["buckets"]
        assert [(b["key"], b["doc_count"]) for b in buckets] == [("checkout", 1)]
        state = json.loads(objects["logharbor-volume-by-level"]["attributes"]["visState"])
        body = {"size": 0, "aggs": {"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"},
                                          "aggs": {"l": {"terms": {"field": state["aggs"][2]["params"]["field"]}}}}}}
        hist = os_client.search(index=index, body=body)["aggregations"]["h"]["buckets"]
        assert {b["key"]: b["doc_count"] for b in hist[0]["l"]["buckets"]} == {"INFO": 2, "ERROR": 1}
    finally:
        for ds in streams:
            os_client.indices.delete_data_stream(name=ds, ignore=[404])
