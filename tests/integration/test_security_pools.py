"""Issue 16 items 5, 11 and 13 against a real OpenSearch and Kafka, through the ui over HTTP.

- 5: per-key caps on concurrent exports and live-tail streams (429 naming the limit), and a
  stalled export is cut off after the idle timeout with its point in time closed in OpenSearch.
- 11: /api/v1/metrics and /api/v1/status show a tenant's key only its own figures; cluster
  figures (every tenant's live tail, Kafka topics and lag) need the operator scope.
- 13: /api/v1/status warns when OpenSearch answers without authentication (the devstack does).
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from security_test_support import ensure_templates_retrying
from test_api_support import corpus, delete_tenant, index_docs, new_tenant, utcnow

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration
N = 15_000  # ~8 MB of NDJSON: more than the socket buffers hold (4 MB max), so a non-reader stalls the export
IDLE_S = 2.0


class Env:
    http: TestClient
    tenant: str
    other: str
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture(scope="module")
async def pools(os_client, os_url, kafka_bootstrap):
    ensure_templates_retrying(os_client)
    e = Env()
    e.tenant, e.other = new_tenant(), new_tenant()
    index_docs(os_client, e.tenant, corpus(e.tenant, N, utcnow()))
    client = async_client(OpenSearchSettings(url=os_url))
    store = KeyStore(client)
    e.keys = {}
    for who, tenant, scopes in (("read", e.tenant, ["read"]), ("read2", e.tenant, ["read"]),
                                ("admin", e.tenant, ["admin"]), ("other", e.other, ["read"]),
                                ("operator", e.other, ["operator"])):
        e.keys[who], _ = await store.create(tenant=tenant, source="pools", scopes=scopes, rate=1000, burst=1000)
    settings = UISettings(rollup_interval_s=0, max_exports_per_key=1, export_idle_timeout_s=IDLE_S,
                          export_batch_size=1000, max_streams_per_key=2, heartbeat_s=1.0)
    app = create_app(settings, opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    e.http = TestClient(TestServer(app))
    await e.http.start_server()
    try:
        yield e
    finally:
        await e.http.close()
        for r in await store.list(tenant=e.tenant) + await store.list(tenant=e.other):
            await client.delete(index=store.index, id=r.key_id, refresh=True)
        await client.close()
        delete_tenant(os_client, e.tenant)


def _open_pits_of(os_client, tenant: str) -> int:
    """Points in time whose (base64) id names one of ``tenant``'s backing indices."""
    pits = os_client.transport.perform_request("GET", "/_search/point_in_time/_all").get("pits", [])
    n = 0
    for p in pits:
        raw = p["pit_id"] + "=" * (-len(p["pit_id"]) % 4)
        if tenant.encode() in base64.urlsafe_b64decode(raw):
            n += 1
    return n


async def _stalled_export(port: int, key: str) -> socket.socket:
    """An export request from a client that never reads (tiny receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET /api/v1/logs/export?format=ndjson HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
              .encode())
    return s


async def test_item5_export_cap_per_key_and_idle_timeout_release_the_pit(pools, os_client):
    port = pools.http.server.port
    stalled = await _stalled_export(port, pools.keys["read"])
    try:
        deadline = time.monotonic() + 30
        while _open_pits_of(os_client, pools.tenant) == 0:  # the export is running and holds its PIT
            assert time.monotonic() < deadline, "export never opened a point in time"
            await asyncio.sleep(0.1)
        resp = await pools.http.get("/api/v1/logs/export", params={"format": "ndjson", "limit": "10"},
                                    headers=pools.auth("read"))
        body = await resp.json()
        assert resp.status == 429, body
        assert "max_exports_per_key=1" in body["error"] and resp.headers["Retry-After"]
        # another key of the same tenant is not affected
        resp = await pools.http.get("/api/v1/logs/export", params={"format": "ndjson", "limit": "10"},
                                    headers=pools.auth("read2"))
        assert resp.status == 200 and len((await resp.read()).splitlines()) == 10
        # the stalled export is cut off after the idle timeout; its PIT is closed, its slot freed
        deadline = time.monotonic() + IDLE_S + 30
        while _open_pits_of(os_client, pools.tenant) > 0:
            assert time.monotonic() < deadline, "stalled export still holds its point in time"
            await asyncio.sleep(0.2)
        resp = await pools.http.get("/api/v1/logs/export", params={"format": "ndjson", "limit": "10"},
                                    headers=pools.auth("read"))
        assert resp.status == 200, await resp.text()
    finally:
        stalled.close()


async def test_item5_live_tail_streams_are_capped_per_key(pools):
    base = f"http://127.0.0.1:{pools.http.server.port}"
    async with aiohttp.ClientSession() as s:
        open_ws = [await s.ws_connect(base + "/api/v1/stream", headers=pools.auth("read")) for _ in range(2)]
        try:
            for ws in open_ws:
                assert (await ws.receive_json(timeout=30))["type"] == "ready"
            with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
                await s.ws_connect(base + "/api/v1/stream", headers=pools.auth("read"))
            assert exc.value.status == 429
            async with s.get(base + "/api/v1/stream", headers={**pools.auth("read"), "Upgrade": "websocket",
                                                                "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                                                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}) as r:
                assert r.status == 429 and "max_streams_per_key=2" in (await r.json())["error"]
            # another key still gets a stream
            ws = await s.ws_connect(base + "/api/v1/stream", headers=pools.auth("read2"))
            assert (await ws.receive_json(timeout=30))["type"] == "ready"
            await ws.close()
            # metrics: the tenant sees its own two streams, not the other tenant's
            async with s.get(base + "/api/v1/metrics", headers=pools.auth("other")) as r:
                other = await r.json()
            assert other["live_tail"]["subscribers"] == 0 and "cluster" not in other
            async with s.get(base + "/api/v1/metrics", headers=pools.auth("read")) as r:
                mine = await r.json()
            assert mine["live_tail"]["subscribers"] == 2 and "cluster" not in mine
            async with s.get(base + "/api/v1/metrics", headers=pools.auth("operator")) as r:
                op = await r.json()
            assert op["live_tail"]["subscribers"] == 0  # the operator's own tenant
            assert op["cluster"]["live_tail"]["subscribers"] >= 2
        finally:
            for ws in open_ws:
                await ws.close()
        # closing frees the key's slots
        deadline = time.monotonic() + 10
        while True:
            try:
                ws = await s.ws_connect(base + "/api/v1/stream", headers=pools.auth("read"))
                break
            except aiohttp.WSServerHandshakeError:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
        await ws.close()


async def test_item11_status_detail_only_for_operators_and_item13_open_cluster_warning(pools):
    resp = await pools.http.get("/api/v1/status", headers=pools.auth("read"))
    body = await resp.json()
    assert resp.status == 200 and body["view"] == "tenant"
    kafka = body["components"]["kafka"]
    assert "topics" not in kafka and "pipeline_lag" not in kafka and "url" not in body["components"]["gateway"]
    assert "warnings" not in body and "security" not in body
    resp = await pools.http.get("/api/v1/status", headers=pools.auth("admin"))
    body = await resp.json()
    # the devstack runs OpenSearch without authentication: said plainly to the tenant admin
    assert body["security"]["opensearch_authentication"] is False
    assert any("without authentication" in w for w in body["warnings"])
    assert "topics" not in body["components"]["kafka"]
    resp = await pools.http.get("/api/v1/status", headers=pools.auth("operator"))
    body = await resp.json()
    assert body["view"] == "operator" and "topics" in body["components"]["kafka"]
    assert body["security"]["required"] is False and body["warnings"]
