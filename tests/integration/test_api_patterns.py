"""Patterns end to end: the real rules chain names patterns, OpenSearch stores them, the API and
the Patterns view read them — ``pattern:<id>``, ``group_by=pattern``, ``/api/v1/patterns``, ``/patterns``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_api_support import delete_tenant, ensure_templates, index_docs

from logharbor.config import KafkaSettings, OpenSearchSettings
from logharbor.envelope import Envelope
from opensearch.client import async_client
from opensearch.keys import KeyStore
from pipeline.document import to_document
from pipeline.event import Event
from pipeline.logpatterns.step import PatternsStep
from pipeline.rules import load_chain
from pipeline.settings import PipelineSettings
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration

STATEMENTS = [  # (level, line template, how many)
    ("ERROR", "Database timeout after {n} ms on db-{m}", 40),
    ("ERROR", "Payment {n} declined for card ending {m}", 15),
    ("INFO", "Served request {n} in {m} ms", 60),
]


def _docs(tenant: str) -> tuple[list[dict], PatternsStep]:
    chain = load_chain(PipelineSettings())
    step = next(s for s in chain.steps if isinstance(s, PatternsStep))
    now = datetime.now(UTC).replace(microsecond=0)
    events = []
    i = 0
    for level, line, n in STATEMENTS:
        for k in range(n):
            ts = (now - timedelta(minutes=55) + timedelta(seconds=20 * i)).isoformat()
            env = Envelope(id=f"{tenant}-{i}", tenant=tenant, source="api", received_at=ts, timestamp=ts,
                           level=level, message=line.format(n=1000 + 7 * k, m=k % 9))
            events.append(Event.from_envelope(env))
            i += 1
    kept = chain.run(events).kept
    assert len(kept) == len(events)
    step.save_now()
    return [to_document(e) for e in kept], step


@pytest.fixture(scope="module")
async def env(os_client, os_url, kafka_bootstrap):
    ensure_templates(os_client)
    tenant = "tp" + datetime.now(UTC).strftime("%H%M%S%f")
    docs, _ = _docs(tenant)
    index_docs(os_client, tenant, docs)
    client = async_client(OpenSearchSettings(url=os_url))
    key, _ = await KeyStore(client).create(tenant=tenant, source="tests", scopes=["read"], rate=1000, burst=1000)
    app = create_app(UISettings(), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    http = TestClient(TestServer(app))
    await http.start_server()
    try:
        yield http, {"Authorization": f"Bearer {key}"}, key, docs
    finally:
        await http.close()
        await client.close()
        delete_tenant(os_client, tenant)
        os_client.delete_by_query(index=".logharbor-patterns", body={"query": {"term": {"tenant": tenant}}},
                                  refresh=True, ignore=[404])


async def _get(http, path, auth, **params):
    resp = await http.get(path, params={k: str(v) for k, v in params.items()}, headers=auth)
    body = await resp.json()
    assert resp.status == 200, body
    return body


async def test_patterns_api_filter_and_group_by(env) -> None:
    http, auth, _, docs = env
    ids = {d["logharbor"]["pattern"]["id"] for d in docs}
    assert len(ids) == len(STATEMENTS)
    body = await _get(http, "/api/v1/patterns", auth, **{"from": "now-2h"})
    by_template = {p["template"]: p for p in body["patterns"]}
    assert set(by_template) == {"Database timeout after <*> on <*>", "Payment <*> declined for card ending <*>",
                                "Served request <*> in <*>"}
    timeout = by_template["Database timeout after <*> on <*>"]
    assert timeout["count"] == 40 and timeout["levels"] == {"ERROR": 40}
    assert sum(timeout["sparkline"]) == 40 and len(timeout["sparkline"]) >= 24
    assert timeout["new"] is True and timeout["first_seen"]
    assert body["distinct"] == 3 and body["total"] == 115

    # pattern:<id> filters, group_by=pattern groups — the counts agree with the view
    found = await _get(http, "/api/v1/logs/search", auth, q=timeout["search"], **{"from": "now-2h"}, limit=1)
    assert found["total"] == 40
    grouped = await _get(http, "/api/v1/logs/aggregate", auth, group_by="pattern", **{"from": "now-2h"})
    counts = {row["key"]["logharbor.pattern.id"]: row["count"] for row in grouped["aggregations"]}
    assert counts == {p["id"]: p["count"] for p in body["patterns"]}

    # analytics' top errors: by pattern template, errors only
    top = await _get(http, "/api/v1/logs/aggregate", auth, group_by="logharbor.pattern.template", level="ERROR,FATAL",
                     **{"from": "now-2h"})
    assert [(r["key"]["logharbor.pattern.template"], r["count"]) for r in top["aggregations"]] == [
        ("Database timeout after <*> on <*>", 40), ("Payment <*> declined for card ending <*>", 15)]


async def test_patterns_page_lists_templates_with_search_links(env) -> None:
    http, _, key, _ = env
    resp = await http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)
    resp = await http.post("/login", data={"csrf_token": token, "api_key": key, "next": "/patterns"},
                           allow_redirects=False)
    assert resp.status == 303
    page = await http.get("/patterns?range=1h")
    html = await page.text()
    assert page.status == 200, html[:500]
    assert "Database timeout after &lt;*&gt; on &lt;*&gt;" in html
    assert html.count('class="pattern-row"') == 3 and "<polyline" in html
    assert re.search(r'href="/search\?q=pattern%3A[0-9a-f]{16}&amp;range=1h"', html)
    assert 'href="/api/v1/patterns?' in html
