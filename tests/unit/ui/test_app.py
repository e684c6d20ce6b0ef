"""The app without OpenSearch: routing, JSON errors, OpenAPI coverage of every route."""

from __future__ import annotations

import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from logharbor.config import KafkaSettings, OpenSearchSettings
from ui.app import add_routes, create_app
from ui.openapi import app_document, document_paths, openapi_document
from ui.settings import StaticKey, UISettings

# Nothing listens here: requests that reach OpenSearch fail fast, which is what some tests check.
DEAD = OpenSearchSettings(url="http://127.0.0.1:9", timeout_s=1)


@pytest.fixture
async def http():
    app = create_app(UISettings(static_keys={"k" * 20: StaticKey(tenant="acme", scopes=["read"])}),
                     opensearch=DEAD, kafka=KafkaSettings(bootstrap="127.0.0.1:9"))
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


def test_openapi_covers_every_route_and_its_schemas_are_valid():
    app = web.Application()
    add_routes(app)  # this module's routes; ui.web documents its own via document_paths
    doc = app_document(app)  # route modules with OPENAPI_PATHS (ui.routes.lifecycle) add theirs
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.method != "HEAD" and r.resource.canonical.startswith("/api/")}
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert routes == documented
    for schema in doc["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema({**schema, "components": doc["components"]})


async def test_openapi_is_served_without_auth(http):
    resp = await http.get("/api/v1/openapi.json")
    assert resp.status == 200 and (await resp.json())["openapi"].startswith("3.1")


async def test_other_modules_can_document_their_paths():
    app = web.Application()
    add_routes(app)
    document_paths(app, {"/api/v1/extra": {"get": {"responses": {"200": {"description": "ok"}}}}},
                   {"Extra": {"type": "object"}})
    doc = app_document(app)
    assert "/api/v1/extra" in doc["paths"] and "Extra" in doc["components"]["schemas"]
    assert "/api/v1/extra" not in openapi_document()["paths"]  # the cached base is not mutated


async def test_errors_are_json(http):
    resp = await http.get("/api/v1/logs/search")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization" in (await resp.json())["error"]
    resp = await http.get("/api/v1/nope")
    assert resp.status == 404 and "error" in await resp.json()
    resp = await http.post("/api/v1/logs/search")
    assert resp.status == 405 and "error" in await resp.json()


async def test_parameter_errors_come_before_opensearch(http):
    resp = await http.get("/api/v1/logs/search", params={"q": "a AND (b"},
                          headers={"Authorization": "Bearer " + "k" * 20})
    body = await resp.json()
    assert resp.status == 400 and isinstance(body["position"], int)


async def test_unreachable_opensearch_is_503_not_500(http):
    resp = await http.get("/api/v1/logs/search", headers={"Authorization": "Bearer " + "k" * 20})
    assert resp.status == 503 and "OpenSearch" in (await resp.json())["error"]
    # A well-formed key must be looked up: the key store is unreachable, which is not "unknown key".
    resp = await http.get("/api/v1/logs/search", headers={"Authorization": "Bearer lh_live_abcdefghijkm_" + "s" * 40})
    assert resp.status == 503 and "key store" in (await resp.json())["error"]


async def test_live_tail_without_kafka_is_503(http):
    resp = await http.get("/api/v1/stream", headers={"Authorization": "Bearer " + "k" * 20,
                                                     "Accept": "text/event-stream"})
    body = await resp.json()
    assert resp.status == 503 and "Kafka" in body["error"] and resp.headers["Retry-After"] == "5"
