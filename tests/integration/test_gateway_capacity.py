"""Connection limit under a crowd: with the limit at N, N+100 concurrent clients → exactly the
excess get 503 (with Retry-After) and the N in flight are served."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest

from gateway.testing import GatewayProcess, create_topic, keys

pytestmark = pytest.mark.integration

LIMIT = 20
EXTRA = 100


async def _client(port: int, key: str, body: bytes, all_started: asyncio.Event, started: list[int]) -> int:
    """Send headers and half the body, wait until every client is in flight, then finish."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (f"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    half = len(body) // 2
    writer.write(head + body[:half])
    await writer.drain()
    started.append(1)
    if len(started) == LIMIT + EXTRA:
        all_started.set()
    # a refused client is answered at once, before its body is complete
    try:
        status_line = await asyncio.wait_for(reader.readline(), timeout=1.5)
    except TimeoutError:
        status_line = b""
    if not status_line:
        await all_started.wait()
        writer.write(body[half:])
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
    headers = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    status = int(status_line.split()[1])
    if status == 503:
        assert b"Retry-After:" in headers
    return status


async def _crowd(port: int, key: str) -> list[int]:
    now = datetime.now(UTC).isoformat()
    body = orjson.dumps([{"timestamp": now, "level": "info", "message": f"crowd {i}"} for i in range(20)])
    all_started = asyncio.Event()
    started: list[int] = []
    return await asyncio.gather(*(_client(port, key, body, all_started, started) for _ in range(LIMIT + EXTRA)))


def test_n_plus_100_clients_excess_get_503_rest_served(os_url, kafka_bootstrap, unique_tenant):
    key, _ = keys(os_url, "create", tenant=unique_tenant, source="crowd", scopes=["ingest"])
    env = {"LOGHARBOR_KAFKA_RAW_TOPIC": create_topic(kafka_bootstrap),
           "LOGHARBOR_GATEWAY_MAX_CONCURRENT_REQUESTS": str(LIMIT)}
    with GatewayProcess(env=env) as gw:
        gw.wait_ready()
        statuses = asyncio.run(_crowd(gw.port, key))
    assert statuses.count(503) == EXTRA, statuses
    assert statuses.count(202) == LIMIT, statuses
