"""Query building, tenant stream selection, cursors and result shaping (no OpenSearch)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from opensearch.search import (
    build_query,
    build_sort,
    data_stream_of,
    get_path,
    hit_to_result,
    streams_of_tenant,
)
from ui.cursor import decode_cursor, encode_cursor
from ui.errors import ApiError
from ui.results import hit_result

NAMES = ["logs-acme-errors", "logs-acme-standard", "logs-acme-dlq", "logs-acme-eu-errors",
         "logs-acmex-errors", "logs-other-errors", "logs-acme-"]


def test_streams_of_tenant_never_includes_a_prefix_sharing_tenant():
    assert streams_of_tenant(NAMES, "acme") == ["logs-acme-errors", "logs-acme-standard"]
    assert streams_of_tenant(NAMES, "acme-eu") == ["logs-acme-eu-errors"]
    assert streams_of_tenant(NAMES, "acme", include_dlq=True) == [
        "logs-acme-dlq", "logs-acme-errors", "logs-acme-standard"]
    assert streams_of_tenant(NAMES, "acme", classes=["dlq"]) == ["logs-acme-dlq"]
    assert streams_of_tenant(NAMES, "nobody") == []


def test_data_stream_of_backing_indices():
    assert data_stream_of(".ds-logs-acme-errors-000012") == "logs-acme-errors"
    assert data_stream_of(".ds-logs-acme-eu-errors-2026.11.29-000001") == "logs-acme-eu-errors"
    assert data_stream_of("logs-plain") == "logs-plain"


def test_get_path_nested_dotted_and_mixed():
    doc = {"log": {"level": "INFO"}, "service.name": "api", "http": {"response.status_code": 200}}
    assert get_path(doc, "log.level") == "INFO"
    assert get_path(doc, "service.name") == "api"
    assert get_path(doc, "http.response.status_code") == 200
    assert get_path(doc, "host.name") is None
    assert get_path({"log": "x"}, "log.level") is None


def test_build_query_filters():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    q = build_query(None, ["ERROR"], ["api"], start, None)
    assert q["bool"]["must"] == [{"match_all": {}}]
    flt = q["bool"]["filter"]
    assert {"terms": {"log.level": ["ERROR"]}} in flt and {"terms": {"service.name": ["api"]}} in flt
    assert flt[2]["range"]["@timestamp"]["gte"] == "2026-01-01T00:00:00+00:00"
    assert "lte" not in flt[2]["range"]["@timestamp"]


def test_build_query_compiles_search_expression():
    from opensearch.query import parse

    q = build_query(parse("service:api"))
    assert q["bool"]["must"][0] != {"match_all": {}}


def test_sort_always_ends_with_the_event_id_tiebreaker():
    s = build_sort([("@timestamp", "asc")])
    assert list(s[0]) == ["@timestamp"] and s[0]["@timestamp"]["order"] == "asc"
    assert s[-1]["event.id"]["order"] == "asc"
    assert len(build_sort([("event.id", "desc")])) == 1


def test_source_includes_keeps_result_columns():
    from opensearch.search import source_includes

    assert source_includes([]) is True
    assert source_includes(["trace.id", "message"]) == [
        "@timestamp", "log.level", "service.name", "host.name", "message", "trace.id"]


def test_hit_to_result_shape():
    hit = {"_id": "e1", "_index": ".ds-logs-acme-errors-000001",
           "_source": {"@timestamp": "2026-01-01T00:00:00Z", "message": "boom", "log.level": "ERROR",
                       "service": {"name": "api"}, "host": {"name": "h1"}}}
    r = hit_result(hit)
    assert r == {"id": "e1", "link": "/api/v1/logs/e1", "timestamp": "2026-01-01T00:00:00Z", "level": "ERROR",
                 "source": "api", "host": "h1", "message": "boom", "data_stream": "logs-acme-errors",
                 "fields": hit["_source"]}
    assert list(r)[:2] == ["id", "link"]
    # the OpenSearch layer shapes the result and knows no URLs; the ui adds the link
    assert hit_to_result(hit) == {k: v for k, v in r.items() if k != "link"}


def test_cursor_roundtrip_tamper_and_tenant():
    secret = b"s" * 32
    token = encode_cursor({"tenant": "acme", "sa": [1, "x"], "pit": None}, secret)
    assert decode_cursor(token, secret, "acme")["sa"] == [1, "x"]
    for bad_token, tenant in ((token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], "acme"),
                              (token, "other"), ("!!!", "acme"), ("", "acme")):
        with pytest.raises(ApiError) as info:
            decode_cursor(bad_token, secret, tenant)
        assert info.value.status == 400
    with pytest.raises(ApiError):
        decode_cursor(token, b"t" * 32, "acme")
