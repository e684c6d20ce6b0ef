"""Live-tail decisions without Kafka: tenant routing, filters, bounded buffers, pump protocol."""

from __future__ import annotations

import asyncio

import orjson

from logharbor.config import KafkaSettings
from opensearch.query import parse
from ui.live_tail import Subscriber, TailHub, build_matcher, pump, tail_result, tenant_of


def doc(tenant: str, level: str = "INFO", service: str = "api", i: int = 0, **extra) -> dict:
    return {"event.id": f"{tenant}-{i}", "labels.tenant": tenant, "log.level": level, "service.name": service,
            "message": f"m{i}", "data_stream": {"name": f"logs-{tenant}-standard"}, **extra}


def test_tenant_of_prefers_the_data_stream():
    assert tenant_of(doc("acme")) == "acme"
    assert tenant_of({"data_stream": {"name": "logs-acme-eu-errors"}, "labels.tenant": "x"}) == "acme-eu"
    assert tenant_of({"labels": {"tenant": "solo"}}) == "solo"
    assert tenant_of({"message": "no tenant"}) is None


def test_matcher_combines_query_levels_and_sources():
    m = build_matcher(parse("service:api"), ["ERROR"], [])
    assert m(doc("a", "ERROR", "api")) and not m(doc("a", "INFO", "api")) and not m(doc("a", "ERROR", "web"))
    assert build_matcher(None, [], ["web"])(doc("a", service="web"))
    assert build_matcher(None, [], [])({})


def test_subscriber_buffer_keeps_newest_and_counts_drops():
    s = Subscriber("t", lambda d: True, buffer_size=3)
    for i in range(5):
        s.offer({"i": i})
    dropped, items = s.take()
    assert dropped == 2 and [x["i"] for x in items] == [2, 3, 4]
    assert s.take() == (0, [])


def test_hub_dispatch_isolates_tenants_and_filters():
    hub = TailHub(KafkaSettings(), buffer_size=10)
    a_all, a_err, b_all = (Subscriber("a", lambda d: True, 10),
                           Subscriber("a", lambda d: d["log.level"] == "ERROR", 10),
                           Subscriber("b", lambda d: True, 10))
    for s in (a_all, a_err, b_all):
        hub._subs.setdefault(s.tenant, set()).add(s)
    for d in (doc("a", "INFO", i=1), doc("a", "ERROR", i=2), doc("b", i=3), doc("c", i=4)):
        hub.dispatch(orjson.dumps(d))
    hub.dispatch(b"not json")
    hub.dispatch(b"[1]")
    assert [d["event.id"] for d in a_all.take()[1]] == ["a-1", "a-2"]
    assert [d["event.id"] for d in a_err.take()[1]] == ["a-2"]
    assert [d["event.id"] for d in b_all.take()[1]] == ["b-3"]
    hub.unsubscribe(b_all)
    assert "b" not in hub._subs and hub.subscriber_count == 2


async def test_pump_sends_dropped_before_logs_and_honours_pause():
    sent: list[dict] = []

    async def send(msg: dict) -> None:
        sent.append(msg)

    s = Subscriber("t", lambda d: True, buffer_size=2)
    closed = asyncio.Event()
    task = asyncio.create_task(pump(s, send, heartbeat_s=0.2, closed=closed))
    s.pause()
    for i in range(4):
        s.offer(doc("t", i=i))
    await asyncio.sleep(0.05)
    assert [m for m in sent if m["type"] != "heartbeat"] == []
    s.resume()
    await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    closed.set()
    s.wakeup.set()
    await asyncio.wait_for(task, 1)
    kinds = [m["type"] for m in sent]
    assert kinds[:3] == ["dropped", "log", "log"] and sent[0]["count"] == 2
    assert [m["data"]["id"] for m in sent[1:3]] == ["t-2", "t-3"]
    assert "heartbeat" in kinds


def test_tail_result_matches_search_result_shape():
    r = tail_result(doc("t", "WARN", "web", 7, **{"host.name": "h", "@timestamp": "ts"}))
    assert {k: r[k] for k in ("id", "link", "level", "source", "host", "timestamp")} == {
        "id": "t-7", "link": "/api/v1/logs/t-7", "level": "WARN", "source": "web", "host": "h", "timestamp": "ts"}
    assert set(r) == {"id", "link", "timestamp", "level", "source", "host", "message", "data_stream", "fields"}
