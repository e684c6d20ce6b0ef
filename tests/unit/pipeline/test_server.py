"""pipeline/server.py: the ops endpoints (/health, /ready, /metrics)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from pipeline.server import build_app


async def test_ops_endpoints() -> None:
    state = {"ok": False}
    app = build_app(lambda: (state["ok"], {"paused": not state["ok"]}))
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/health")).status == 200
        assert (await client.get("/ready")).status == 503
        state["ok"] = True
        assert (await client.get("/ready")).status == 200
        resp = await client.get("/metrics")
        assert resp.status == 200 and "logharbor_pipeline_consumed_records_total" in await resp.text()
