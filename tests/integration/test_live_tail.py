"""Live tail against a real Kafka: documents published to ``logharbor.processed`` (the way the
pipeline does — flat ECS keys plus ``data_stream.name``) reach exactly the WebSocket / SSE
subscribers whose tenant and filter match; slow and paused clients get ``dropped`` notices.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import jsonschema
import orjson
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaProducer
from test_api_support import HOSTS, SERVICES, iso, new_tenant, utcnow

from logharbor.config import KafkaSettings, OpenSearchSettings
from logharbor.tasks import stop_task
from opensearch.client import async_client
from opensearch.keys import KeyStore
from ui.app import create_app
from ui.settings import UISettings

pytestmark = pytest.mark.integration


def processed_doc(tenant: str, i: int, level: str, service: str, message: str = "") -> dict[str, Any]:
    cls = {"ERROR": "errors", "FATAL": "errors", "DEBUG": "debug"}.get(level, "standard")
    return {
        "@timestamp": iso(utcnow()), "event.id": f"{tenant}-{i}", "labels.tenant": tenant,
        "service.name": service, "host.name": HOSTS[i % len(HOSTS)], "log.level": level,
        "message": message or f"{service} did thing {i}", "data_stream": {"name": f"logs-{tenant}-{cls}"},
    }


class Tail:
    """One subscriber: a WebSocket whose messages are collected by a reader task."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.messages: list[dict[str, Any]] = []
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        async def read() -> None:
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    self.messages.append(orjson.loads(msg.data))
        self.task = asyncio.create_task(read())

    def logs(self) -> list[dict[str, Any]]:
        return [m["data"] for m in self.messages if m["type"] == "log"]

    def ids(self) -> set[str]:
        return {m["id"] for m in self.logs()}

    async def close(self) -> None:
        await self.ws.close()
        await stop_task(self.task)


@pytest.fixture(scope="module")
async def tail_env(os_url, kafka_bootstrap):
    kafka = KafkaSettings(bootstrap=kafka_bootstrap)
    client = async_client(OpenSearchSettings(url=os_url))
    store = KeyStore(client)
    tenants = [new_tenant(), new_tenant()]
    keys = [(await store.create(tenant=t, source="tests", scopes=["read"], rate=1000, burst=1000))[0]
            for t in tenants]
    app = create_app(UISettings(heartbeat_s=1.0, tail_buffer=1000, rollup_interval_s=0, max_streams_per_key=500),
                     opensearch=OpenSearchSettings(url=os_url), kafka=kafka)
    http = TestClient(TestServer(app))
    await http.start_server()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5, max_request_size=4 << 20)
    await producer.start()
    try:
        yield http, tenants, keys, producer, kafka.processed_topic
    finally:
        await producer.stop()
        await http.close()
        await client.close()


async def subscribe(http: TestClient, key: str, start: bool = True, **params: str) -> Tail:
    ws = await http.ws_connect("/api/v1/stream", params=params, headers={"Authorization": f"Bearer {key}"})
    first = await ws.receive_json(timeout=15)
    assert first == {"type": "ready"}
    tail = Tail(ws)
    if start:
        tail.start()
    return tail


async def publish(producer: AIOKafkaProducer, topic: str, docs: list[dict[str, Any]]) -> None:
    futures = [await producer.send(topic, orjson.dumps(d), key=d["service.name"].encode()) for d in docs]
    await asyncio.gather(*futures)


async def wait_for(predicate: Any, within_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for live-tail messages")
        await asyncio.sleep(0.05)


async def test_subscribers_receive_exactly_their_events(tail_env):
    http, (ta, tb), (ka, kb), producer, topic = tail_env
    subs = {
        "errors": await subscribe(http, ka, q="level:ERROR OR level:FATAL"),
        "api": await subscribe(http, ka, q="service:api"),
        "declined": await subscribe(http, ka, q='"payment declined" AND NOT service:web'),
        "warn_param": await subscribe(http, ka, level="warn"),
        "all_a": await subscribe(http, ka),
        "all_b": await subscribe(http, kb),
    }
    sse = await http.get("/api/v1/stream", params={"q": "service:billing"},
                         headers={"Authorization": f"Bearer {ka}", "Accept": "text/event-stream"})
    assert sse.status == 200 and sse.headers["Content-Type"].startswith("text/event-stream")
    assert orjson.loads((await sse.content.readline())[6:]) == {"type": "ready"}
    await sse.content.readline()
    rng = random.Random(3)
    docs = []
    for i in range(400):
        tenant = ta if i % 4 else tb
        level = rng.choice(("DEBUG", "INFO", "INFO", "WARN", "ERROR", "FATAL"))
        service = rng.choice(SERVICES)
        msg = "payment declined for order" if i % 7 == 0 else ""
        docs.append(processed_doc(tenant, i, level, service, msg))
    await publish(producer, topic, docs)

    def want(pred: Any, tenant: str = ta) -> set[str]:
        return {d["event.id"] for d in docs if d["labels.tenant"] == tenant and pred(d)}

    expected = {
        "errors": want(lambda d: d["log.level"] in ("ERROR", "FATAL")),
        "api": want(lambda d: d["service.name"] == "api"),
        "declined": want(lambda d: "payment declined" in d["message"] and d["service.name"] != "web"),
        "warn_param": want(lambda d: d["log.level"] == "WARN"),
        "all_a": want(lambda d: True),
        "all_b": want(lambda d: True, tb),
    }
    assert all(expected.values())
    await wait_for(lambda: all(len(subs[k].ids()) >= len(v) for k, v in expected.items()))
    await asyncio.sleep(1.0)  # anything extra would arrive now
    for name, sub in subs.items():
        assert sub.ids() == expected[name], name
        assert len(sub.logs()) == len(expected[name]), f"{name}: duplicates"
    # Same shape as a search result.
    sample = subs["api"].logs()[0]
    assert sample["source"] == "api" and sample["link"] == "/api/v1/logs/" + sample["id"]

    billing = want(lambda d: d["service.name"] == "billing")
    got: set[str] = set()
    async with asyncio.timeout(20):
        while got != billing:
            line = await sse.content.readline()
            if line.startswith(b"data: "):
                msg = orjson.loads(line[6:])
                if msg["type"] == "log":
                    got.add(msg["data"]["id"])
    assert got == billing
    sse.close()
    # Heartbeats arrive (every 1 s in this app's settings).
    assert any(m["type"] == "heartbeat" for m in subs["all_a"].messages)
    # Every message matches the documented TailMessage schema.
    doc = await (await http.get("/api/v1/openapi.json")).json()
    validator = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/TailMessage",
                                                 "components": doc["components"]})
    for sub in subs.values():
        for m in sub.messages:
            validator.validate(m)
    for sub in subs.values():
        await sub.close()


async def test_pause_buffers_and_overflow_is_reported(tail_env):
    http, (ta, _), (ka, _), producer, topic = tail_env
    paused = await subscribe(http, ka, q="service:worker")
    sentinel = await subscribe(http, ka, q="service:worker")
    await paused.ws.send_json({"type": "pause"})
    await asyncio.sleep(0.3)
    docs = [processed_doc(ta, 10_000 + i, "INFO", "worker") for i in range(1500)]
    await publish(producer, topic, docs)
    await wait_for(lambda: len(sentinel.ids()) == 1500)
    assert paused.logs() == []
    await paused.ws.send_json({"type": "resume"})
    await wait_for(lambda: len(paused.logs()) == 1000)
    kinds = [m["type"] for m in paused.messages if m["type"] != "heartbeat"]
    dropped = [m for m in paused.messages if m["type"] == "dropped"]
    assert dropped == [{"type": "dropped", "count": 500}]
    assert kinds.index("dropped") < kinds.index("log")
    # 1,000 distinct events kept (the newest per arrival order; Kafka orders per partition only).
    assert len(paused.ids()) == 1000 and paused.ids() <= {d["event.id"] for d in docs}
    await paused.close()
    await sentinel.close()


async def test_slow_reader_gets_dropped_notice(tail_env):
    http, (ta, _), (ka, _), producer, topic = tail_env
    slow = await subscribe(http, ka, start=False, q="service:auth")
    fast = await subscribe(http, ka, q="service:auth")
    big = "x" * 4000
    n = 6000
    docs = [processed_doc(ta, 20_000 + i, "INFO", "auth", big) for i in range(n)]
    for k in range(0, n, 500):
        await publish(producer, topic, docs[k:k + 500])
    await wait_for(lambda: len(fast.ids()) == n, within_s=60)
    slow.start()  # now read everything that reached the slow client
    await wait_for(lambda: sum(m.get("count", 0) for m in slow.messages if m["type"] == "dropped")
                   + len(slow.logs()) >= n, within_s=60)
    dropped = sum(m["count"] for m in slow.messages if m["type"] == "dropped")
    assert dropped > 0
    assert dropped + len(slow.logs()) == n
    await slow.close()
    await fast.close()


async def test_stream_requires_key_and_valid_query(tail_env):
    http, _, (ka, _), *_ = tail_env
    resp = await http.get("/api/v1/stream")
    assert resp.status == 401
    resp = await http.get("/api/v1/stream", params={"q": "level:(("}, headers={"Authorization": f"Bearer {ka}"})
    body = await resp.json()
    assert resp.status == 400 and isinstance(body["position"], int)


async def test_a_hundred_subscribers_each_get_exactly_their_events(tail_env):
    """100 concurrent WebSocket subscribers with 100 different filters on one shared consumer."""
    http, (ta, tb), (ka, _kb), producer, topic = tail_env
    levels = ("DEBUG", "INFO", "WARN", "ERROR")
    filters: list[tuple[str, Any]] = []
    for service in SERVICES:
        for level in levels:
            filters.append((f"service:{service} AND level:{level}",
                            lambda d, s=service, lv=level: d["service.name"] == s and d["log.level"] == lv))
        for host in HOSTS:
            filters.append((f"service:{service} AND host:{host}",
                            lambda d, s=service, h=host: d["service.name"] == s and d["host.name"] == h))
    k = 0
    while len(filters) < 100:
        filters.append((f'"marker{k}" OR level:FATAL',
                        lambda d, k=k: f"marker{k} " in d["message"] + " " or d["log.level"] == "FATAL"))
        k += 1
    filters = filters[:100]
    subs = [await subscribe(http, ka, q=q) for q, _ in filters]
    rng = random.Random(11)
    docs = []
    for i in range(2000):
        tenant = ta if i % 5 else tb  # tenant B's events must reach nobody here
        level = rng.choice((*levels, "FATAL"))
        docs.append(processed_doc(tenant, 50_000 + i, level, rng.choice(SERVICES), f"marker{i % 40} event {i}"))
    started = asyncio.get_running_loop().time()
    await publish(producer, topic, docs)
    expected = [{d["event.id"] for d in docs if d["labels.tenant"] == ta and pred(d)} for _, pred in filters]
    assert sum(map(len, expected)) > 2000 and all(expected)
    await wait_for(lambda: all(len(s.ids()) >= len(e) for s, e in zip(subs, expected, strict=True)), within_s=60)
    elapsed = asyncio.get_running_loop().time() - started
    await asyncio.sleep(1.0)
    for (q, _), sub, want in zip(filters, subs, expected, strict=True):
        assert sub.ids() == want, q
        assert len(sub.logs()) == len(want), f"{q}: duplicates"
    print(f"\n100 subscribers, {sum(map(len, expected))} deliveries of 2,000 published events in {elapsed:.2f} s")
    for sub in subs:
        await sub.close()
