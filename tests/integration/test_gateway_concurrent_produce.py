"""Many concurrent requests share Kafka batches (gateway/produce.py ``_Lane``, issue 13): against the real
broker with the idempotent producer, every request answers 202 and every accepted event is in the topic
exactly once. A record joining a batch after aiokafka's sender drained it would break the producer's
sequence numbers, and the broker would answer OutOfOrderSequenceNumber (503s) — as it did while the
lanes were being written."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import orjson
import pytest
from gateway_support import events, new_key, running_gateway

from gateway.testing import read_topic
from logharbor.envelope import Envelope

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gw(servers, topic: str):
    yield from running_gateway({"LOGHARBOR_KAFKA_RAW_TOPIC": topic, "LOGHARBOR_GATEWAY_MAX_CONCURRENT_REQUESTS": "512"})


def test_concurrent_requests_are_each_acknowledged_and_written_once(gw, os_url, kafka_bootstrap, topic,
                                                                    unique_tenant):
    key = new_key(os_url, unique_tenant, rate=1e9, burst=1e9)
    clients, rounds, per_batch = 48, 5, 40

    async def run() -> Counter:
        statuses: Counter = Counter()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

        async def client(c: int, session: aiohttp.ClientSession) -> None:
            for r in range(rounds):
                batch = events(per_batch, fields={"client": c, "round": r})
                for i, e in enumerate(batch):
                    e["message"] = f"c{c} r{r} e{i}"
                async with session.post(gw.url + "/ingest", data=orjson.dumps(batch), headers=headers) as resp:
                    statuses[resp.status] += 1
                    body = await resp.read()
                    assert resp.status == 202, body

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
            await asyncio.gather(*(client(c, session) for c in range(clients)))
        return statuses

    assert asyncio.run(run()) == {202: clients * rounds}
    mine = [Envelope.from_bytes(rec.value) for rec in read_topic(kafka_bootstrap, topic)]
    messages = Counter(e.message for e in mine if e.tenant == unique_tenant)
    assert len(messages) == clients * rounds * per_batch
    assert set(messages.values()) == {1}  # nothing doubled, nothing lost
