"""Per-tenant retention through ``POST /api/v1/retention`` (issue 15 item 5, issue 16 item 2),
and the lifecycle API's scopes — against the shared devstack, ui app in-process.

Before: any tenant admin's POST changed retention for every tenant. Now a tenant admin changes
its own tenant's classes only; cluster defaults and other tenants need the operator scope, and
each change leaves a lifecycle-audit record naming the key that made it.
"""

from __future__ import annotations

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch import lifecycle_audit, retention
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(os_client, os_url, kafka_bootstrap, unique_tenant):
    client = async_client(OpenSearchSettings(url=os_url))
    store = KeyStore(client)
    other = unique_tenant + "x"
    keys = {
        "admin_a": (await store.create(tenant=unique_tenant, source="t", scopes=["admin"]))[0],
        "admin_b": (await store.create(tenant=other, source="t", scopes=["admin"]))[0],
        "read_a": (await store.create(tenant=unique_tenant, source="t", scopes=["read"]))[0],
        "operator": (await store.create(tenant=unique_tenant, source="t", scopes=["operator"]))[0],
    }
    app = create_app(UISettings(rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    http = TestClient(TestServer(app))
    await http.start_server()

    async def call(method: str, path: str, who: str, body: object = None, **params: str):
        resp = await http.request(method, path, params=params, headers={"Authorization": f"Bearer {keys[who]}"},
                                  data=None if body is None else orjson.dumps(body))
        return resp.status, await resp.json()

    try:
        yield call, unique_tenant, other
    finally:
        retention.clear_tenant(os_client, unique_tenant)
        await http.close()
        await client.close()


async def test_tenant_admin_changes_only_its_own_tenants_retention(api, os_client):
    call, a, b = api
    defaults = retention.get_retention(os_client)
    status, body = await call("POST", "/api/v1/retention", "admin_a", {"retention_days": {"errors": 1}})
    assert status == 200, body
    assert body["scope"] == "tenant" and body["tenant"] == a and body["retention_days"]["errors"] == 1
    # B and the cluster defaults are untouched
    status, got_b = await call("GET", "/api/v1/retention", "admin_b")
    assert got_b["retention_days"]["errors"] == defaults["errors"]
    assert retention.get_retention(os_client)["errors"] == defaults["errors"]
    status, got_a = await call("GET", "/api/v1/retention", "admin_a")
    assert got_a["retention_days"]["errors"] == 1 and got_a["defaults"]["errors"] == defaults["errors"]
    # a tenant admin may not touch the defaults or another tenant
    status, body = await call("POST", "/api/v1/retention", "admin_a",
                              {"retention_days": {"errors": 1}, "scope": "cluster"})
    assert status == 403 and "operator" in body["error"]
    status, body = await call("POST", "/api/v1/retention", "admin_a",
                              {"retention_days": {"audit": 1}, "tenant": b})
    assert status == 403
    status, _ = await call("POST", "/api/v1/retention", "read_a", {"retention_days": {"errors": 1}})
    assert status == 403
    # the change is audited with the key that made it
    rec = lifecycle_audit.search(os_client, kind="retention_change", tenant=a)[0]
    assert rec["actor"] and rec["actor"] != "None" and "errors:" in rec["detail"] and "-> 1 days" in rec["detail"]
    # the per-tenant policy attaches to A's stream only
    from opensearch import lifecycle

    pol = lifecycle.get_policies(os_client)[f"logharbor-errors--{a}"]
    assert pol["ism_template"][0]["index_patterns"] == [f"logs-{a}-errors"]


async def test_operator_sets_cluster_defaults_and_sees_lifecycle_facts(api, os_client):
    call, a, _ = api
    before = retention.get_retention(os_client)["debug"]
    try:
        status, body = await call("POST", "/api/v1/retention", "operator",
                                  {"retention_days": {"debug": before + 1}, "scope": "cluster"})
        assert status == 200 and body["scope"] == "cluster" and body["retention_days"]["debug"] == before + 1
    finally:
        retention.set_retention(os_client, {"debug": before})
    # snapshots are cluster-wide: operator only (the shared devstack has no repository)
    status, body = await call("GET", "/api/v1/snapshots", "admin_a")
    assert status == 403
    status, body = await call("GET", "/api/v1/snapshots", "operator")
    assert status == 200 and body["configured"] in (True, False)
    status, body = await call("GET", "/api/v1/lifecycle/disk", "operator")
    assert status == 200 and body["nodes"] and "free_required" in body["nodes"][0]
    status, body = await call("GET", "/api/v1/lifecycle", "admin_a")
    assert status == 200 and body["pattern"] == f"logs-{a}-*"
    status, body = await call("GET", "/api/v1/status", "read_a")
    assert status == 200 and set(body["lifecycle"]) >= {"ok", "snapshots_failing", "disk_state"}
    assert "disk" not in body["lifecycle"]  # node detail is for operators
    status, body = await call("GET", "/api/v1/status", "operator")
    assert "disk" in body["lifecycle"] and "snapshots" in body["lifecycle"]
    status, body = await call("GET", "/api/v1/lifecycle/audit", "admin_a", kind="nope")
    assert status == 400 and "kind" in body["error"]
