"""Hourly rollups: the job's counts equal raw aggregation, and the API uses them only when exact."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_api_support import corpus, delete_tenant, ensure_templates, index_docs, iso, new_tenant, utcnow

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.aggregate import rollup_index
from opensearch.client import async_client
from opensearch.keys import KeyStore
from opensearch.search import StreamResolver
from ui.app import create_app
from ui.rollups import rollup_all, tenants_of
from ui.settings import UISettings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def rollup_env(os_client, os_url, kafka_bootstrap):
    ensure_templates(os_client)
    tenant = new_tenant()
    index_docs(os_client, tenant, corpus(tenant, 3000, utcnow(), span=timedelta(hours=72)))
    client = async_client(OpenSearchSettings(url=os_url))
    key, _ = await KeyStore(client).create(tenant=tenant, source="tests", scopes=["read"], rate=1000, burst=1000)
    app = create_app(UISettings(rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    http = TestClient(TestServer(app))
    await http.start_server()
    try:
        yield http, {"Authorization": f"Bearer {key}"}, client, tenant, os_client
    finally:
        await http.close()
        await client.close()
        delete_tenant(os_client, tenant)
        os_client.indices.delete(index=rollup_index(tenant), ignore=[404])


async def agg(http, auth, **params):
    resp = await http.get("/api/v1/logs/aggregate", params={k: str(v) for k, v in params.items()}, headers=auth)
    body = await resp.json()
    assert resp.status == 200, body
    return body


def hour_floor(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def test_tenants_of_splits_on_known_classes():
    names = ["logs-acme-errors", "logs-acme-eu-standard", "logs-x-dlq", "logs-b-unknown", "other"]
    assert tenants_of(names, ["errors", "standard", "debug"]) == {"acme", "acme-eu"}


async def test_rollup_answers_exactly_what_raw_answers(rollup_env):
    http, auth, client, tenant, _ = rollup_env
    end = hour_floor(datetime.now(UTC))
    window = {"from": (end - timedelta(hours=48)).isoformat(), "to": end.isoformat()}
    before = await agg(http, auth, metric="count", group_by="service", **window)
    assert before["source"] == "events"  # no rollup yet

    reports = await rollup_all(client, StreamResolver(client), ["errors", "standard", "debug", "audit"], 3,
                               only=[tenant, "no-such-tenant"])
    assert [r["tenant"] for r in reports] == [tenant] and reports[0]["documents"] > 0

    cases = [
        {"metric": "count", "group_by": "service"},
        {"metric": "count"},
        {"metric": "error_rate", "group_by": "service", "interval": "1h"},
        {"metric": "count", "group_by": "service,level", "interval": "6h", "level": "error,warn"},
        {"metric": "error_rate", "interval": "1d", "source": "api,web"},
    ]
    for params in cases:
        rolled = await agg(http, auth, **params, **window)
        raw = await agg(http, auth, **params, **window, rollup="never")
        assert rolled["source"] == "rollup" and raw["source"] == "events", params
        assert rolled["total"] == raw["total"] > 0, params
        assert rolled["aggregations"] == raw["aggregations"], params

    # Not answerable exactly from hourly counts → raw events.
    for params in ({"metric": "count", "q": "service:api"},
                   {"metric": "avg", "field": "event.duration"},
                   {"metric": "count", "group_by": "host"},
                   {"metric": "count", "interval": "30m"},
                   {"metric": "count", "from": (end - timedelta(hours=47, minutes=30)).isoformat(),
                    "to": end.isoformat()},
                   {"metric": "count", "from": (end - timedelta(hours=5)).isoformat(), "to": end.isoformat()}):
        body = await agg(http, auth, **{**window, **params})
        assert body["source"] == "events", params

    # Past the rolled-up point (the current hour is never complete) → raw.
    body = await agg(http, auth, metric="count", **{"from": window["from"],
                                                     "to": (end + timedelta(hours=1)).isoformat()})
    assert body["source"] == "events"


async def test_late_events_within_lookback_are_counted_on_the_next_pass(rollup_env):
    http, auth, client, tenant, os_client = rollup_env
    end = hour_floor(datetime.now(UTC))
    late_ts = end - timedelta(hours=2, minutes=10)
    index_docs(os_client, tenant, [{"@timestamp": iso(late_ts), "message": "late", "log": {"level": "ERROR"},
                                    "service": {"name": "late-svc"}, "event": {"id": f"late-{time.time_ns()}"}}])
    await rollup_all(client, StreamResolver(client, ttl_s=0), ["errors", "standard", "debug"], 3, only=[tenant])
    window = {"from": (end - timedelta(hours=48)).isoformat(), "to": end.isoformat()}
    rolled = await agg(http, auth, metric="count", group_by="service", **window)
    raw = await agg(http, auth, metric="count", group_by="service", rollup="never", **window)
    assert rolled["source"] == "rollup"
    assert {r["key"]["service.name"]: r["count"] for r in rolled["aggregations"]}["late-svc"] == 1
    assert rolled["aggregations"] == raw["aggregations"]
