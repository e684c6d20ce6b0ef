"""Deep paging beyond OpenSearch's 10,000-result window: cursor (point in time + search_after).

12,000 small events share only 100 distinct timestamps, so the tie-breaker matters: a page
boundary inside a run of equal timestamps must neither repeat nor skip an event.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_api_support import delete_tenant, ensure_templates, index_docs, iso, new_tenant, utcnow

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration

N = 12_000


@pytest.fixture(scope="module")
async def paging(os_client, os_url, kafka_bootstrap):
    ensure_templates(os_client)
    tenant = new_tenant()
    now = utcnow()
    docs = [{"@timestamp": iso(now - timedelta(seconds=i % 100)), "message": f"m{i}",
             "log": {"level": "INFO"}, "service": {"name": "s"}, "event": {"id": f"e{i:05d}"}}
            for i in range(N)]
    index_docs(os_client, tenant, docs)
    client = async_client(OpenSearchSettings(url=os_url))
    key, _ = await KeyStore(client).create(tenant=tenant, source="tests", scopes=["read"], rate=1000, burst=1000)
    app = create_app(UISettings(max_limit=1000, rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    http = TestClient(TestServer(app))
    await http.start_server()
    try:
        yield http, {"Authorization": f"Bearer {key}"}, docs, os_client, tenant
    finally:
        await http.close()
        await client.close()
        delete_tenant(os_client, tenant)


async def test_cursor_walks_all_12000_without_repeats_or_gaps(paging):
    http, auth, _docs, os_client, tenant = paging
    resp = await http.get("/api/v1/logs/search", params={"limit": "1000"}, headers=auth)
    body = await resp.json()
    assert resp.status == 200 and body["total"] == N
    seen = [r["id"] for r in body["results"]]
    stamps = [r["timestamp"] for r in body["results"]]
    pages = 1
    # Events arriving mid-walk are newer than everything already returned: a cursor walk
    # over a snapshot never shows them.
    index_docs(os_client, tenant, [{"@timestamp": iso(utcnow() + timedelta(minutes=1)), "message": "late",
                                    "log": {"level": "INFO"}, "event": {"id": "late"}}])
    while body["next"]:
        resp = await http.get("/api/v1/logs/search", params={"limit": "1000", "cursor": body["next"]},
                              headers=auth)
        body = await resp.json()
        assert resp.status == 200, body
        assert body["total"] == N
        seen += [r["id"] for r in body["results"]]
        stamps += [r["timestamp"] for r in body["results"]]
        pages += 1
        assert pages <= 13
    assert pages == 12
    assert len(seen) == N == len(set(seen))
    assert "late" not in seen
    assert stamps == sorted(stamps, reverse=True)
    # Within one timestamp, the tie-breaker (event.id, descending) decides the order.
    pairs = list(zip(stamps, seen, strict=True))
    assert pairs == sorted(pairs, reverse=True)


async def test_offset_past_window_requires_cursor(paging):
    http, auth, *_ = paging
    resp = await http.get("/api/v1/logs/search", params={"offset": "9900", "limit": "100"}, headers=auth)
    assert resp.status == 200
    resp = await http.get("/api/v1/logs/search", params={"offset": "9901", "limit": "100"}, headers=auth)
    body = await resp.json()
    assert resp.status == 400 and "cursor" in body["error"]


async def test_cursor_with_small_pages_matches_offset_pages(paging):
    http, auth, *_ = paging
    resp = await http.get("/api/v1/logs/search", params={"limit": "100", "offset": "0"}, headers=auth)
    first = await resp.json()
    resp = await http.get("/api/v1/logs/search", params={"limit": "100", "cursor": first["next"]}, headers=auth)
    via_cursor = await resp.json()
    resp = await http.get("/api/v1/logs/search", params={"limit": "100", "offset": "100"}, headers=auth)
    via_offset = await resp.json()
    assert [r["id"] for r in via_cursor["results"]] == [r["id"] for r in via_offset["results"]]
