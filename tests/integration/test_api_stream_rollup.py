"""The aggregate endpoint answers from the pipeline's streaming rollup exactly when it covers the
request, and then gives what aggregating the same events on demand gives (counts exactly,
sketches within their documented error)."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_api_support import delete_tenant, ensure_templates, index_docs, iso, new_tenant

from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.client import async_client
from opensearch.keys import KeyStore
from pipeline.streamagg.rollup import ROLLUP_INDEX, AggregationRules, Observation, partial_documents, write_partials
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration

N = 1500
SPAN = timedelta(minutes=20)


def _doc(rng: random.Random, tenant: str, ts: datetime, i: int) -> dict:
    level = rng.choices(["INFO", "WARN", "ERROR"], [6, 2, 1])[0]
    doc = {"@timestamp": iso(ts), "message": f"request {i} done", "log": {"level": level},
           "service": {"name": rng.choice(["api", "web", "worker"])}, "host": {"name": f"h{i % 3}"},
           "event": {"id": f"{tenant}-{i:06d}"}, "user": {"id": f"u{rng.randrange(60)}"},
           "logharbor": {"pattern": {"id": rng.choice(["p1", "p2", "p3", "p4", "p5"])}}}
    if i % 5:  # requests carry a path and a duration; the other events neither (they still count)
        doc["logharbor"]["duration_ms"] = round(rng.uniform(1, 2000), 3)
        doc["url"] = {"path": rng.choice(["/a", "/b", "/c", "/d"])}
    return doc


@pytest.fixture(scope="module")
async def env(os_client, os_url, kafka_bootstrap):
    ensure_templates(os_client)
    tenant = new_tenant()
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    start = end - SPAN
    rng = random.Random(17)
    docs = [_doc(rng, tenant, start + SPAN * (i / N) + timedelta(milliseconds=rng.randrange(500)), i)
            for i in range(N)]
    index_docs(os_client, tenant, docs)
    # the partials the pipeline's sink writes for these events (two partitions, batches of 200)
    topic = f"lh-test-rollup-{uuid.uuid4().hex[:8]}"
    obs = [Observation(i % 2, i // 2, tenant, int(datetime.fromisoformat(d["@timestamp"]).timestamp() * 1000), d)
           for i, d in enumerate(docs)]
    rules = AggregationRules()
    for part in (0, 1):
        mine = [o for o in obs if o.partition == part]
        for k in range(0, len(mine), 200):
            write_partials(os_client, partial_documents(topic, mine[k:k + 200], rules, 0), ROLLUP_INDEX,
                           refresh=True)
    client = async_client(OpenSearchSettings(url=os_url))
    key, _ = await KeyStore(client).create(tenant=tenant, source="tests", scopes=["read"], rate=1000, burst=1000)
    app = create_app(UISettings(rollup_interval_s=0), opensearch=OpenSearchSettings(url=os_url),
                     kafka=KafkaSettings(bootstrap=kafka_bootstrap))
    http = TestClient(TestServer(app))
    await http.start_server()
    try:
        yield http, {"Authorization": f"Bearer {key}"}, tenant, os_client, start, end, topic
    finally:
        await http.close()
        await client.close()
        delete_tenant(os_client, tenant)
        os_client.delete_by_query(index=ROLLUP_INDEX, body={"query": {"term": {"topic": topic}}},
                                  refresh=True, ignore=[404])


async def agg(http, auth, **params):
    resp = await http.get("/api/v1/logs/aggregate", params={k: str(v) for k, v in params.items()}, headers=auth)
    body = await resp.json()
    assert resp.status == 200, body
    return body


def close(a, b, rel: float, abs_: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def assert_same(rolled: dict, events: dict, metric: str) -> None:
    assert rolled["total"] == events["total"] > 0
    r_rows, e_rows = rolled["aggregations"], events["aggregations"]
    assert [r["key"] for r in r_rows] == [e["key"] for e in e_rows]
    assert [r["count"] for r in r_rows] == [e["count"] for e in e_rows]  # counts: exactly
    for r, e in zip(r_rows, e_rows, strict=True):
        rv, ev = r["value"], e["value"]
        if metric in ("count", "error_rate"):
            assert rv == ev and r.get("errors") == e.get("errors"), (r, e)
        elif metric == "stats":
            assert rv["count"] == ev["count"] and rv["min"] == ev["min"] and rv["max"] == ev["max"], (r, e)
            for k in ("sum", "avg", "stddev"):
                assert close(rv[k], ev[k], 1e-6), (k, r, e)
        elif metric in ("avg", "sum", "min", "max", "stddev"):
            assert close(rv, ev, 1e-6), (r, e)
        elif metric == "percentiles":  # sketch: 1 % relative; plus the rank definitions' gap
            assert rv.keys() == ev.keys()
            for k in rv:
                assert close(rv[k], ev[k], 0.03, 1.0), (k, r, e)
        elif metric == "cardinality":  # HyperLogLog, ≈ 1.6 % standard error
            assert abs(rv - ev) <= max(2, 0.05 * ev), (r, e)


async def test_rollup_answers_equal_on_demand_answers(env):
    http, auth, _, _, start, end, _ = env
    window = {"from": start.isoformat(), "to": end.isoformat()}
    cases = [
        {"metric": "count", "group_by": "service"},
        {"metric": "count"},
        {"metric": "count", "group_by": "pattern", "interval": "1m"},
        {"metric": "error_rate", "group_by": "service", "interval": "5m"},
        {"metric": "count", "group_by": "service,level", "level": "error,warn", "source": "api,web"},
        {"metric": "stats", "field": "logharbor.duration_ms", "group_by": "service"},
        {"metric": "stddev", "field": "logharbor.duration_ms", "interval": "10m"},
        {"metric": "avg", "field": "logharbor.duration_ms", "group_by": "url.path", "size": 3},
        {"metric": "sum", "field": "logharbor.duration_ms"},
        {"metric": "max", "field": "logharbor.duration_ms", "group_by": "service,url.path"},
        {"metric": "percentiles", "field": "logharbor.duration_ms", "group_by": "service"},
        {"metric": "cardinality", "field": "user.id", "group_by": "service"},
    ]
    for params in cases:
        rolled = await agg(http, auth, **params, **window)
        events = await agg(http, auth, **params, **window, rollup="never")
        assert rolled["source"] == "rollup" and rolled["rollup"] == "stream-60s", (params, rolled)
        assert events["source"] == "events", params
        assert_same(rolled, events, params["metric"])
    # aligned to 10 s but not to the minute: the 10 s window answers
    ten = {"from": (start + timedelta(seconds=30)).isoformat(), "to": (end - timedelta(seconds=20)).isoformat()}
    rolled = await agg(http, auth, metric="count", group_by="level", **ten)
    assert rolled["source"] == "rollup" and rolled["rollup"] == "stream-10s"
    assert_same(rolled, await agg(http, auth, metric="count", group_by="level", rollup="never", **ten), "count")


async def test_uncovered_requests_are_answered_from_events(env):
    http, auth, tenant, os_client, start, end, topic = env
    window = {"from": start.isoformat(), "to": end.isoformat()}
    for params in ({"metric": "count", "q": "service:api"},  # a query: not rolled up
                   {"metric": "count", "group_by": "host"},  # not a rolled-up dimension
                   {"metric": "avg", "field": "event.duration"},  # not the duration field
                   {"metric": "avg", "field": "logharbor.duration_ms", "level": "error"},  # no level dim
                   {"metric": "count", "interval": "15s"},  # not a whole number of a window
                   {"metric": "count", "from": (start + timedelta(seconds=5)).isoformat(), "to": end.isoformat()}):
        body = await agg(http, auth, **{**window, **params})
        assert body["source"] == "events", params
    # a request without a duration: url.path groups would miss it in the duration cells → events
    lone = _doc(random.Random(2), tenant, start + timedelta(minutes=2), N + 2)
    lone["logharbor"].pop("duration_ms", None)
    lone["url"] = {"path": "/a"}
    index_docs(os_client, tenant, [lone])
    obs = [Observation(0, 10**6, tenant, int(datetime.fromisoformat(lone["@timestamp"]).timestamp() * 1000), lone)]
    write_partials(os_client, partial_documents(topic, obs, AggregationRules(), 0), ROLLUP_INDEX, refresh=True)
    by_path = {"metric": "avg", "field": "logharbor.duration_ms", "group_by": "url.path", **window}
    assert (await agg(http, auth, **by_path))["source"] == "events"
    by_service = {**by_path, "group_by": "service"}  # counts from the count cells: still covered
    assert (await agg(http, auth, **by_service))["source"] == "rollup"
    # an event stored without a partial (indexed by a pipeline not aggregating): the rollup no
    # longer accounts for every event, so the events answer — and count it
    extra = _doc(random.Random(1), tenant, start + timedelta(minutes=3), N + 1)
    index_docs(os_client, tenant, [extra])
    body = await agg(http, auth, metric="count", **window)
    assert body["source"] == "events" and body["total"] == N + 2
