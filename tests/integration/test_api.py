"""The query API against a real OpenSearch: every endpoint, auth, tenant isolation, OpenAPI conformance.

Two tenants with realistic corpora are indexed straight into their data streams; the ui app
runs in-process on a real socket and is called over HTTP with real keys from the key store.
Every JSON answer is validated against the served OpenAPI document.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from datetime import timedelta

import jsonschema
import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_api_support import corpus, delete_tenant, ensure_templates, index_docs, iso, new_tenant, utcnow

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration

N_A = 2000
N_B = 300


class Env:
    """What the tests need: the HTTP client, keys per role, and the corpora indexed."""

    def __init__(self) -> None:
        self.http: TestClient
        self.docs_a: list[dict] = []
        self.docs_b: list[dict] = []
        self.keys: dict[str, str] = {}
        self.tenant_a = new_tenant()
        self.tenant_b = new_tenant()
        self.openapi: dict = {}
        self.os_url = ""

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def get(self, path: str, who: str = "a", **params: object) -> tuple[int, object]:
        resp = await self.http.get(path, params={k: str(v) for k, v in params.items()}, headers=self.auth(who))
        body = await resp.read()
        assert resp.content_type == "application/json", (resp.status, body[:200])
        return resp.status, orjson.loads(body)

    def check(self, body: object, schema: str) -> None:
        """Validate against the served OpenAPI document's component schema."""
        doc = {"$ref": f"#/components/schemas/{schema}", "components": self.openapi["components"]}
        jsonschema.Draft202012Validator(doc).validate(body)


@pytest.fixture(scope="module")
async def env(os_client, os_url, kafka_bootstrap):
    ensure_templates(os_client)
    e = Env()
    e.os_url = os_url
    now = utcnow()
    e.docs_a = list(corpus(e.tenant_a, N_A, now))
    e.docs_b = list(corpus(e.tenant_b, N_B, now, seed=99))
    for d in e.docs_b:  # make B's data recognisable if it ever leaked
        d["service"]["name"] = "b-secret-" + d["service"]["name"]
        d["message"] = "BONLY " + d["message"]
    index_docs(os_client, e.tenant_a, e.docs_a)
    index_docs(os_client, e.tenant_b, e.docs_b)

    client = async_client(OpenSearchSettings(url=os_url))
    store = KeyStore(client)
    e.keys["a"], _ = await store.create(tenant=e.tenant_a, source="tests", scopes=["read"])
    e.keys["b"], _ = await store.create(tenant=e.tenant_b, source="tests", scopes=["read"])
    e.keys["admin"], _ = await store.create(tenant=e.tenant_a, source="tests", scopes=["admin"])
    e.keys["ingest"], _ = await store.create(tenant=e.tenant_a, source="tests", scopes=["ingest"])
    e.keys["slow"], _ = await store.create(tenant=e.tenant_a, source="tests", scopes=["read"], rate=0.5, burst=2)
    e.keys["revoked"], rec = await store.create(tenant=e.tenant_a, source="tests", scopes=["read"])
    await store.revoke(rec.key_id)
    e.keys["expired"], rec = await store.create(tenant=e.tenant_a, source="tests", scopes=["read"],
                                               expires_in=timedelta(seconds=1))

    app = create_app(UISettings(heartbeat_s=1.0, rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    e.http = TestClient(TestServer(app))
    await e.http.start_server()
    resp = await e.http.get("/api/v1/openapi.json")
    e.openapi = await resp.json()
    try:
        yield e
    finally:
        await e.http.close()
        await client.close()
        delete_tenant(os_client, e.tenant_a)
        delete_tenant(os_client, e.tenant_b)


# ---------------------------------------------------------------- search


async def test_search_returns_newest_first_with_links(env):
    status, body = await env.get("/api/v1/logs/search", limit=50)
    assert status == 200, body
    env.check(body, "SearchResponse")
    assert body["total"] == N_A
    assert len(body["results"]) == 50
    stamps = [r["timestamp"] for r in body["results"]]
    assert stamps == sorted(stamps, reverse=True)
    newest = max(env.docs_a, key=lambda d: d["@timestamp"])
    assert body["results"][0]["id"] == newest["event"]["id"]
    assert body["next"]
    first = body["results"][0]
    status, detail = await env.get(first["link"])
    assert status == 200
    assert detail["id"] == first["id"] and detail["message"] == newest["message"]


async def test_search_filters_level_source_and_time(env):
    now = utcnow()
    status, body = await env.get("/api/v1/logs/search", level="error,fatal", source="api,web",
                                 **{"from": "now-24h", "to": now.isoformat()}, limit=1000)
    assert status == 200, body
    since = iso(now - timedelta(hours=24))
    expected = [d for d in env.docs_a if d["log"]["level"] in ("ERROR", "FATAL")
                and d["service"]["name"] in ("api", "web") and d["@timestamp"] >= since]
    assert body["total"] == len(expected) > 0
    assert {r["id"] for r in body["results"]} == {d["event"]["id"] for d in expected}


async def test_search_query_syntax(env):
    status, body = await env.get("/api/v1/logs/search", q='service:billing AND "payment declined"', limit=1000)
    assert status == 200, body
    expected = {d["event"]["id"] for d in env.docs_a
                if d["service"]["name"] == "billing" and "payment declined" in d["message"]}
    assert expected and {r["id"] for r in body["results"]} == expected


async def test_search_fields_trim_each_result(env):
    status, body = await env.get("/api/v1/logs/search", limit=3, fields="trace_id,user.id")
    assert status == 200, body
    for r in body["results"]:
        assert set(r["fields"]) == {"@timestamp", "log", "service", "host", "message", "trace", "user"}
        assert r["message"] and r["level"] and r["fields"]["trace"]["id"]
    status, page2 = await env.get("/api/v1/logs/search", limit=3, cursor=body["next"])
    assert status == 200 and all("http" not in r["fields"] for r in page2["results"])


async def test_search_sort_ascending_and_offset(env):
    status, body = await env.get("/api/v1/logs/search", sort="@timestamp:asc", offset=10, limit=5)
    assert status == 200
    ordered = sorted(env.docs_a, key=lambda d: d["@timestamp"])
    assert [r["id"] for r in body["results"]] == [d["event"]["id"] for d in ordered[10:15]]


async def test_bad_query_is_400_with_position(env):
    status, body = await env.get("/api/v1/logs/search", q="level:error AND (service:api OR")
    assert status == 400
    env.check(body, "Error")
    assert isinstance(body["position"], int) and body["position"] > 1
    assert "column" in body["error"]


@pytest.mark.parametrize("params,needle", [
    ({"level": "loud"}, "unknown level"),
    ({"limit": "0"}, "limit"),
    ({"offset": "9950"}, "cursor"),
    ({"sort": "@timestamp:sideways"}, "sort"),
    ({"from": "not a time at all"}, "from"),
    ({"cursor": "garbage"}, "cursor"),
])
async def test_bad_parameters_are_json_400(env, params, needle):
    status, body = await env.get("/api/v1/logs/search", **params)
    assert status == 400, body
    env.check(body, "Error")
    assert needle in body["error"]


# ---------------------------------------------------------------- detail


async def test_detail_with_context_and_related(env):
    ordered = sorted(env.docs_a, key=lambda d: d["@timestamp"])
    target = ordered[1000]
    status, body = await env.get(f"/api/v1/logs/{target['event']['id']}", context=3,
                                 related="request_id,trace_id")
    assert status == 200, body
    env.check(body, "Detail")
    same = [d for d in ordered if d["service"]["name"] == target["service"]["name"]
            and d["host"]["name"] == target["host"]["name"]]
    k = same.index(target)
    assert [r["id"] for r in body["context"]["before"]] == [d["event"]["id"] for d in same[k - 3:k]]
    assert [r["id"] for r in body["context"]["after"]] == [d["event"]["id"] for d in same[k + 1:k + 4]]
    req = target["http"]["request"]["id"]
    want = {d["event"]["id"] for d in env.docs_a if d["http"]["request"]["id"] == req} - {target["event"]["id"]}
    assert {r["id"] for r in body["related"]["request_id"]["results"]} == want
    trace = {d["event"]["id"] for d in env.docs_a if d["trace"]["id"] == target["trace"]["id"]}
    assert {r["id"] for r in body["related"]["trace_id"]["results"]} == trace - {target["event"]["id"]}


async def test_detail_unknown_id_is_404(env):
    status, body = await env.get("/api/v1/logs/nope-not-there")
    assert status == 404
    env.check(body, "Error")


# ---------------------------------------------------------------- aggregate


async def test_aggregate_count_by_service(env):
    status, body = await env.get("/api/v1/logs/aggregate", metric="count", group_by="service")
    assert status == 200, body
    env.check(body, "AggregateResponse")
    got = {r["key"]["service.name"]: r["value"] for r in body["aggregations"]}
    assert got == dict(Counter(d["service"]["name"] for d in env.docs_a))


async def test_aggregate_error_rate_per_service_per_hour(env):
    now = utcnow()
    start = now - timedelta(hours=6)
    status, body = await env.get("/api/v1/logs/aggregate", metric="error_rate", group_by="service",
                                 interval="1h", **{"from": start.isoformat(), "to": now.isoformat()})
    assert status == 200, body
    env.check(body, "AggregateResponse")
    rows = [r for r in body["aggregations"] if r["count"]]
    assert rows
    total_errors = sum(r["errors"] for r in body["aggregations"])
    window = [d for d in env.docs_a if iso(start) <= d["@timestamp"] <= iso(now)]
    assert total_errors == sum(d["log"]["level"] in ("ERROR", "FATAL") for d in window)
    for r in rows:
        assert r["value"] == pytest.approx(r["errors"] / r["count"])
        assert "@timestamp" in r["key"] and "service.name" in r["key"]


async def test_aggregate_field_metrics(env):
    durations = [d["event"]["duration"] for d in env.docs_a]
    status, body = await env.get("/api/v1/logs/aggregate", metric="stats", field="event.duration")
    assert status == 200, body
    env.check(body, "AggregateResponse")
    stats = body["aggregations"][0]["value"]
    assert stats["count"] == N_A and stats["max"] == max(durations) and stats["min"] == min(durations)
    assert stats["stddev"] == pytest.approx(statistics.pstdev(durations), rel=1e-6)
    status, body = await env.get("/api/v1/logs/aggregate", metric="stddev", field="event.duration")
    assert status == 200 and body["aggregations"][0]["value"] == pytest.approx(stats["stddev"])
    status, body = await env.get("/api/v1/logs/aggregate", metric="percentiles", field="duration",
                                 percents="50,99")
    assert status == 200, body
    assert set(body["aggregations"][0]["value"]) == {"50.0", "99.0"}
    status, body = await env.get("/api/v1/logs/aggregate", metric="cardinality", field="user.id")
    assert status == 200
    assert body["aggregations"][0]["value"] == len({d["user"]["id"] for d in env.docs_a})
    status, body = await env.get("/api/v1/logs/aggregate", metric="avg", field="status", group_by="host",
                                 interval="auto", **{"from": "now-48h"})
    assert status == 200, body
    assert body["interval"] and len(body["aggregations"]) >= 3


@pytest.mark.parametrize("params,needle", [
    ({"metric": "median"}, "metric"),
    ({"metric": "avg"}, "field"),
    ({"interval": "1s", "from": "now-30d", "group_by": "service", "size": "100"}, "buckets"),
    ({"metric": "avg", "field": "message"}, "OpenSearch rejected"),
])
async def test_aggregate_rejections(env, params, needle):
    status, body = await env.get("/api/v1/logs/aggregate", **params)
    assert status == 400, body
    env.check(body, "Error")
    assert needle in body["error"]


# ---------------------------------------------------------------- export


async def _export(env, who: str = "a", **params: object) -> tuple[int, dict, bytes]:
    resp = await env.http.get("/api/v1/logs/export", params={k: str(v) for k, v in params.items()},
                              headers=env.auth(who))
    return resp.status, dict(resp.headers), await resp.read()


async def test_export_every_format(env):
    ids = {d["event"]["id"] for d in env.docs_a}
    status, headers, body = await _export(env, format="ndjson")
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    lines = [orjson.loads(line) for line in body.splitlines()]
    assert {d["event"]["id"] for d in lines} == ids and len(lines) == N_A
    status, headers, body = await _export(env, format="json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert {d["event"]["id"] for d in orjson.loads(body)} == ids
    status, headers, body = await _export(env, format="csv", columns="id,@timestamp,level,source,message")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["event.id", "@timestamp", "log.level", "service.name", "message"]
    assert {r[0] for r in rows[1:]} == ids and len(rows) == N_A + 1
    status, headers, body = await _export(env, format="text", level="fatal")
    fatal = [d for d in env.docs_a if d["log"]["level"] == "FATAL"]
    assert status == 200 and len(body.splitlines()) == len(fatal) > 0
    assert all(b" FATAL " in line for line in body.splitlines())


async def test_export_bad_format_is_json_400(env):
    resp = await env.http.get("/api/v1/logs/export", params={"format": "xml"}, headers=env.auth("a"))
    assert resp.status == 400 and (await resp.json())["error"].startswith("format")


# ---------------------------------------------------------------- other endpoints


async def test_sources(env):
    status, body = await env.get("/api/v1/sources")
    assert status == 200, body
    env.check(body, "Sources")
    by = {s["source"]: s for s in body["sources"]}
    assert set(by) == set(Counter(d["service"]["name"] for d in env.docs_a))
    api = [d for d in env.docs_a if d["service"]["name"] == "api"]
    assert by["api"]["events_total"] == len(api)
    assert by["api"]["tenant"] == env.tenant_a
    assert by["api"]["first_seen"].startswith(min(d["@timestamp"] for d in api)[:19])
    assert 0 < by["api"]["events_last_hour"] < by["api"]["events_last_day"] < len(api)


async def test_fields_with_top_values(env):
    status, body = await env.get("/api/v1/fields", q="service:auth")
    assert status == 200, body
    env.check(body, "Fields")
    by = {f["name"]: f for f in body["fields"]}
    assert by["message"]["type"] == "text" and by["log.level"]["type"] == "keyword"
    assert [v["value"] for v in by["service.name"]["top_values"]] == ["auth"]
    assert body["sampled"] == sum(d["service"]["name"] == "auth" for d in env.docs_a)


async def test_metrics_and_status(env):
    status, body = await env.get("/api/v1/metrics")
    assert status == 200, body
    env.check(body, "Metrics")
    streams = {s["data_stream"]: s for s in body["storage"]}
    assert set(streams) == {f"logs-{env.tenant_a}-{c}" for c in ("errors", "standard", "debug")}
    assert sum(s["docs"] for s in streams.values()) == N_A
    status, body = await env.get("/api/v1/status")
    assert status == 200, body
    env.check(body, "Status")
    assert body["components"]["opensearch"]["ok"] is True
    assert body["components"]["kafka"]["ok"] is True
    # Cluster detail (topics, lag, URLs) is for the operator scope only (issue 16 item 11).
    assert "pipeline_lag" not in body["components"]["kafka"] and "topics" not in body["components"]["kafka"]
    if "operator" not in env.keys:
        store = KeyStore(async_client(OpenSearchSettings(url=env.os_url)))
        env.keys["operator"], _ = await store.create(tenant=env.tenant_a, source="tests", scopes=["operator"])
        await store.client.close()
    status, body = await env.get("/api/v1/status", who="operator")
    assert status == 200 and body["view"] == "operator", body
    lag = body["components"]["kafka"]["pipeline_lag"]  # the devstack creates logharbor.raw
    assert lag["total"] == sum(lag["partitions"].values()) >= 0 and lag["partitions"]
    assert body["components"]["gateway"]["url"].endswith("/health")
    geo = body["enrichment"]["geoip"]  # no geoip_path configured here: the bundled GeoLite2-City
    assert geo["ok"] and geo["source"] == "bundled" and geo["build_date"] and "geoipupdate" in geo["advice"]


async def test_retention_needs_admin(env):
    status, body = await env.get("/api/v1/retention", who="a")
    assert status == 403, body
    status, body = await env.get("/api/v1/retention", who="admin")
    assert status == 200, body
    env.check(body, "Retention")
    assert {"errors", "standard", "debug", "audit"} <= set(body["retention_days"])
    resp = await env.http.post("/api/v1/retention", data=orjson.dumps({"retention_days": {"nope": 3}}),
                               headers=env.auth("admin"))
    assert resp.status == 400
    resp = await env.http.post("/api/v1/retention", data=b"{", headers=env.auth("admin"))
    assert resp.status == 400
    # A successful change, setting the current value (the dev cluster is shared: change nothing).
    debug_days = body["retention_days"]["debug"]
    resp = await env.http.post("/api/v1/retention", data=orjson.dumps({"retention_days": {"debug": debug_days}}),
                               headers=env.auth("admin"))
    changed = await resp.json()
    assert resp.status == 200, changed
    env.check(changed, "Retention")
    assert changed["retention_days"] == body["retention_days"]


# ---------------------------------------------------------------- auth and isolation


async def test_auth_failures(env):
    resp = await env.http.get("/api/v1/logs/search")
    assert resp.status == 401 and "error" in await resp.json()
    resp = await env.http.get("/api/v1/logs/search", headers={"Authorization": "Bearer lh_live_nope"})
    assert resp.status == 401
    for who, code in (("ingest", 403), ("revoked", 403), ("expired", 401)):
        status, body = await env.get("/api/v1/logs/search", who=who)
        assert status == code, (who, body)
        env.check(body, "Error")


async def test_rate_limit_per_key(env):
    codes = [(await env.get("/api/v1/sources", who="slow"))[0] for _ in range(4)]
    assert codes[:2] == [200, 200] and 429 in codes[2:]
    resp = await env.http.get("/api/v1/sources", headers=env.auth("slow"))
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1


async def test_tenant_isolation(env):
    a_ids = {d["event"]["id"] for d in env.docs_a}
    status, body = await env.get("/api/v1/logs/search", who="b", limit=1000)
    assert status == 200 and body["total"] == N_B
    assert not a_ids & {r["id"] for r in body["results"]}
    status, body = await env.get(f"/api/v1/logs/{env.docs_a[0]['event']['id']}", who="b")
    assert status == 404
    status, body = await env.get("/api/v1/sources", who="a")
    assert not any(s["source"].startswith("b-secret") for s in body["sources"])
    status, body = await env.get("/api/v1/fields", who="a")
    values = {str(v["value"]) for f in body["fields"] for v in f["top_values"]}
    assert not any(v.startswith("b-secret") for v in values)
    status, body = await env.get("/api/v1/logs/aggregate", who="a", group_by="service", size=100)
    assert not any(str(r["key"]["service.name"]).startswith("b-secret") for r in body["aggregations"])
    status, _, export = await _export(env, who="a", format="ndjson")
    assert b"BONLY" not in export and b"b-secret" not in export
    status, _, export = await _export(env, who="b", format="ndjson")
    assert len(export.splitlines()) == N_B
    # A cursor minted for A is refused for B.
    _, page = await env.get("/api/v1/logs/search", who="a", limit=10)
    status, body = await env.get("/api/v1/logs/search", who="b", cursor=page["next"])
    assert status == 400 and "tenant" in body["error"]


# ---------------------------------------------------------------- keys


async def test_key_management_is_admin_only_and_tenant_confined(env):
    status, body = await env.get("/api/v1/keys", who="a")
    assert status == 403
    status, body = await env.get("/api/v1/keys", who="admin")
    assert status == 200, body
    env.check(body, "KeyList")
    assert body["keys"] and {k["tenant"] for k in body["keys"]} == {env.tenant_a}
    resp = await env.http.post("/api/v1/keys", headers=env.auth("admin"),
                               data=orjson.dumps({"source": "dash", "scopes": ["read"], "tenant": "evil"}))
    assert resp.status == 400  # the tenant always comes from the admin's key
    resp = await env.http.post("/api/v1/keys", headers=env.auth("admin"),
                               data=orjson.dumps({"source": "dash", "scopes": ["read"], "expires_in": "1d"}))
    created = await resp.json()
    assert resp.status == 201, created
    env.check(created, "KeyCreated")
    assert created["record"]["tenant"] == env.tenant_a
    resp = await env.http.get("/api/v1/logs/search", params={"limit": "1"},
                              headers={"Authorization": f"Bearer {created['key']}"})
    assert resp.status == 200 and (await resp.json())["total"] == N_A
    # Rotate: the new key works; the old one is revoked (checked with a never-cached key below).
    resp = await env.http.post(f"/api/v1/keys/{created['record']['key_id']}/rotate", headers=env.auth("admin"))
    rotated = await resp.json()
    assert resp.status == 200, rotated
    env.check(rotated, "KeyCreated")
    assert rotated["record"]["rotated_from"] == created["record"]["key_id"]
    resp = await env.http.get("/api/v1/logs/search", headers={"Authorization": f"Bearer {rotated['key']}"})
    assert resp.status == 200
    # Revoke a fresh key before its first use: refused with 403.
    resp = await env.http.post("/api/v1/keys", headers=env.auth("admin"),
                               data=orjson.dumps({"source": "tmp", "scopes": ["read"]}))
    fresh = await resp.json()
    resp = await env.http.delete(f"/api/v1/keys/{fresh['record']['key_id']}", headers=env.auth("admin"))
    revoked = await resp.json()
    assert resp.status == 200 and revoked["record"]["status"] == "revoked"
    env.check(revoked, "KeyChanged")
    resp = await env.http.get("/api/v1/logs/search", headers={"Authorization": f"Bearer {fresh['key']}"})
    assert resp.status == 403
    # Another tenant's key id is indistinguishable from a missing one.
    key_b_id = env.keys["b"].split("_")[2]
    resp = await env.http.delete(f"/api/v1/keys/{key_b_id}", headers=env.auth("admin"))
    assert resp.status == 404
    status, _ = await env.get("/api/v1/logs/search", who="b")
    assert status == 200
