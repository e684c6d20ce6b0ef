"""Flood aggregation end to end in real OpenSearch: a flooding pattern is stored as its first N
events plus a summary row that search finds, whose count makes the total whole again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from opensearchpy import helpers
from test_api_support import delete_tenant, ensure_templates, new_tenant

from logharbor import ecs
from logharbor.config import KafkaSettings, OpenSearchSettings
from logharbor.envelope import Envelope
from opensearch.client import async_client
from opensearch.keys import KeyStore
from pipeline.document import to_document
from pipeline.event import Event
from pipeline.logpatterns.flood import FloodConfig, FloodStep
from pipeline.logpatterns.step import PatternsConfig, PatternsStep
from pipeline.step import Chain
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration


async def test_flood_summary_is_a_search_row(os_client, os_url, kafka_bootstrap) -> None:
    ensure_templates(os_client)
    tenant = new_tenant()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    batch = []
    for i in range(300):
        env = Envelope(id=f"{tenant}-{i}", tenant=tenant, source="db", received_at=start.isoformat(),
                       message=f"Database timeout after {i} ms on db-{i % 7}", level="ERROR")
        e = Event.from_envelope(env)
        e.ts = start + timedelta(milliseconds=20 * i)
        batch.append(e)
    chain = Chain([PatternsStep(PatternsConfig(store=False)), FloodStep(FloodConfig(threshold=20, keep=5))])
    kept = chain.run(batch).kept
    stream = ecs.data_stream_name(tenant, "errors")
    helpers.bulk(os_client, ({"_op_type": "create", "_index": stream, "_id": e.envelope.id,
                              "_source": to_document(e)} for e in kept), refresh=True)
    client = async_client(OpenSearchSettings(url=os_url))
    key, _ = await KeyStore(client).create(tenant=tenant, source="tests", scopes=["read"], rate=1000, burst=1000)
    app = create_app(UISettings(rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    http = TestClient(TestServer(app))
    await http.start_server()
    auth = {"Authorization": f"Bearer {key}"}
    window = {"from": (start - timedelta(minutes=1)).isoformat(), "to": (start + timedelta(minutes=2)).isoformat()}
    try:
        resp = await http.get("/api/v1/logs/search", headers=auth, params={**window, "limit": "100"})
        body = await resp.json()
        assert resp.status == 200, body
        assert body["total"] == 21  # 20 events + 1 summary instead of 300 events
        resp = await http.get("/api/v1/logs/search", headers=auth,
                              params={**window, "q": "logharbor.flood.summary:true"})
        found = await resp.json()
        assert resp.status == 200, found
        assert found["total"] == 1, found
        detail = await (await http.get(f"/api/v1/logs/{kept[-1].envelope.id}", headers=auth,
                                       params=window)).json()
        flood = str(detail)
        assert "'count': 280" in flood and "first_occurrence" in flood and "last_occurrence" in flood, detail
    finally:
        await http.close()
        await client.close()
        delete_tenant(os_client, tenant)
