"""``/api/v1/alerts*`` and ``/api/v1/silences`` on the real ui app and OpenSearch: scopes, tenancy
(a tenant's admin sees only its rules), field-naming 400s, masked secrets, test/ack/history."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from alert_support import cleanup_alerting

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration
RULE = {"name": "api errors", "query": "level:ERROR", "condition": {"type": "count", "threshold": 10},
        "channels": [{"type": "webhook", "url": "http://127.0.0.1:9/hook/SECRETPATH", "secret": "HMACSECRET"}]}


async def test_alert_api_scopes_tenancy_and_secrets(os_url, kafka_bootstrap, unique_tenant):
    client = async_client(OpenSearchSettings(url=os_url))
    store = KeyStore(client)
    other = unique_tenant + "x"
    admin, _ = await store.create(tenant=unique_tenant, source="t", scopes=["admin"])
    reader, _ = await store.create(tenant=unique_tenant, source="t", scopes=["read"])
    other_admin, _ = await store.create(tenant=other, source="t", scopes=["admin"])
    app = create_app(UISettings(rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    http = TestClient(TestServer(app))
    await http.start_server()

    def h(key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    try:
        r = await http.post("/api/v1/alerts", json=RULE, headers=h(reader))
        assert r.status == 403
        r = await http.post("/api/v1/alerts", json={**RULE, "condition": {"type": "metric"}}, headers=h(admin))
        assert r.status == 400 and "condition" in (await r.json())["error"]
        r = await http.post("/api/v1/alerts", json={**RULE, "query": "level:("}, headers=h(admin))
        assert r.status == 400 and (await r.json())["error"].startswith("query")
        r = await http.post("/api/v1/alerts", json=RULE, headers=h(admin))
        assert r.status == 201, await r.text()
        rule = await r.json()
        rid = rule["id"]
        text = str(rule) + await (await http.get(f"/api/v1/alerts/{rid}", headers=h(reader))).text()
        text += await (await http.get("/api/v1/alerts", headers=h(reader))).text()
        assert "SECRETPATH" not in text and "HMACSECRET" not in text
        # Another tenant's admin sees nothing of it.
        assert (await http.get(f"/api/v1/alerts/{rid}", headers=h(other_admin))).status == 404
        assert (await (await http.get("/api/v1/alerts", headers=h(other_admin))).json())["alerts"] == []
        assert (await http.delete(f"/api/v1/alerts/{rid}", headers=h(other_admin))).status == 404
        # Update with the masked channel sent back keeps the stored secret.
        r = await http.put(f"/api/v1/alerts/{rid}", json={**rule, "severity": "critical"}, headers=h(admin))
        assert r.status == 200 and (await r.json())["severity"] == "critical"
        from alerting.evaluator import Context
        from alerting.settings import AlertingSettings

        stored = await Context(client, AlertingSettings()).rules.get(unique_tenant, rid)
        assert stored["channels"][0]["secret"] == "HMACSECRET" and stored["channels"][0]["url"].endswith("SECRETPATH")
        # At rest the secrets are encrypted: the raw document in OpenSearch does not reveal them.
        from opensearch.alerts_store import RULES

        raw = (await client.get(index=RULES, id=rid))["_source"]
        assert "SECRETPATH" not in str(raw) and "HMACSECRET" not in str(raw)
        assert raw["channels"][0]["secret"].startswith("enc:v1:") and raw["channels"][0]["url"].startswith("enc:v1:")
        # Test, ack (nothing firing → 409), history, active, silences.
        r = await http.post(f"/api/v1/alerts/{rid}/test", headers=h(admin))
        assert r.status == 200 and (await r.json())["channels"] == ["webhook"]
        assert (await http.post(f"/api/v1/alerts/{rid}/ack", headers=h(reader))).status == 409
        hist = await (await http.get(f"/api/v1/alerts/{rid}/history", headers=h(reader))).json()
        assert [n["transition"] for n in hist["notifications"]] == ["test"]
        assert (await (await http.get("/api/v1/alerts/active", headers=h(reader))).json()) == {"active": []}
        r = await http.post("/api/v1/silences", json={"matchers": []}, headers=h(admin))
        assert r.status == 400 and "matchers" in (await r.json())["error"]
        r = await http.post("/api/v1/silences", json={"matchers": [{"name": "rule_id", "value": rid}],
                                                      "duration": "30m", "comment": "deploy"}, headers=h(admin))
        assert r.status == 201
        sid = (await r.json())["id"]
        listed = (await (await http.get("/api/v1/silences", headers=h(reader))).json())["silences"]
        assert [s["id"] for s in listed] == [sid]
        assert (await (await http.get("/api/v1/silences", headers=h(other_admin))).json())["silences"] == []
        assert (await http.delete(f"/api/v1/silences/{sid}", headers=h(admin))).status == 200
        doc = await (await http.get("/api/v1/openapi.json")).json()
        assert {"/api/v1/alerts", "/api/v1/alerts/{id}/history", "/api/v1/silences"} <= set(doc["paths"])
        assert (await http.delete(f"/api/v1/alerts/{rid}", headers=h(admin))).status == 200
        assert (await http.get(f"/api/v1/alerts/{rid}", headers=h(admin))).status == 404
    finally:
        await http.close()
        for t in (unique_tenant, other):
            await cleanup_alerting(client, t)
            await client.delete_by_query(index=".logharbor-keys", body={"query": {"term": {"tenant": t}}},
                                         params={"refresh": "true"})
        await client.close()
