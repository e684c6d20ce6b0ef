"""Backpressure with a real OpenSearch behind a switchable TCP relay (fault injection on the
network path, not a mock): while OpenSearch is unreachable the pipeline retries with backoff,
reports not-ready, stores nothing and commits no offset; once it is reachable again every event
is stored exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from urllib.parse import urlparse

import aiohttp
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY
from test_pipeline import (  # noqa: F401  (fixtures "templates", "topics")
    Topics,
    duplicate_ids,
    envelopes,
    free_port,
    pipeline_running,
    produce,
    stored_count,
    templates_fixture,
    topics_fixture,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


class Relay:
    """Forwards TCP to OpenSearch; when ``up`` is False it drops connections at once."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.up = False
        self.server: asyncio.Server | None = None
        self.port = 0
        self.conns: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.conns.update({writer, up_writer})
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def stop(self) -> None:
        for w in self.conns:
            w.close()
        if self.server is not None:
            self.server.close()


async def committed(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return sum(max(0, meta.offset) for meta in offsets.values())
    finally:
        await admin.close()


OUTAGE_S = 60.0


async def test_unreachable_opensearch_pauses_then_recovers_exactly_once(
    topics: Topics, os_url: str, os_client, kafka_bootstrap: str
) -> None:
    target = urlparse(os_url)
    relay = Relay(target.hostname or "127.0.0.1", target.port or 9200)
    await relay.start()
    n = 500
    sent = envelopes(topics.tenant, n)
    await produce(kafka_bootstrap, topics.raw, sent)
    retries_before = sum(
        s.value
        for m in REGISTRY.collect()
        if m.name == "logharbor_pipeline_bulk_retries"
        for s in m.samples
        if s.name.endswith("_total")
    )
    port = free_port()
    relay_url = f"http://127.0.0.1:{relay.port}"
    outage_started = time.monotonic()
    try:
        async with pipeline_running(
            topics, relay_url, http_port=port, http_host="127.0.0.1", backoff_initial_s=0.2, backoff_max_s=1.0
        ) as task:
            async with aiohttp.ClientSession() as http:
                deadline = time.monotonic() + 60
                ready = 200
                while time.monotonic() < deadline:
                    with contextlib.suppress(aiohttp.ClientConnectorError):  # not listening yet
                        async with http.get(f"http://127.0.0.1:{port}/ready") as r:
                            ready = r.status
                    if ready == 503:
                        break
                    await asyncio.sleep(0.2)
                assert ready == 503, "pipeline should report not-ready while OpenSearch is unreachable"
                # the rest of the product spec's 60 s outage, with events still arriving: lag grows
                later = envelopes(topics.tenant, n, start=n)
                await produce(kafka_bootstrap, topics.raw, later)
                sent = sent + later
                await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - outage_started)))
                assert not task.done()
                assert stored_count(os_client, topics.tenant) == 0
                assert await committed(kafka_bootstrap, topics.kafka.consumer_group) == 0
                retries = sum(
                    s.value
                    for m in REGISTRY.collect()
                    if m.name == "logharbor_pipeline_bulk_retries"
                    for s in m.samples
                    if s.name.endswith("_total")
                )
                assert retries > retries_before

                relay.up = True
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    if stored_count(os_client, topics.tenant) >= len(sent):
                        break
                    await asyncio.sleep(0.5)
                async with http.get(f"http://127.0.0.1:{port}/ready") as r:
                    assert r.status == 200
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if await committed(kafka_bootstrap, topics.kafka.consumer_group) == len(sent):
                    break
                await asyncio.sleep(0.5)
        assert stored_count(os_client, topics.tenant) == len(sent)
        assert duplicate_ids(os_client, topics.tenant) == []
        assert await committed(kafka_bootstrap, topics.kafka.consumer_group) == len(sent)
    finally:
        await relay.stop()
