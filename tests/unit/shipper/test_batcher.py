"""Batching by count, bytes and age; bounded buffer: put waits, offer drops."""

import asyncio
import gzip
import time

import pytest

from shipper.batcher import Batch, Batcher
from shipper.config import BatchConfig
from shipper.event import Event
from shipper.metrics import Metrics


def ev(i: int, size: int = 10, lossy: bool = False) -> Event:
    return Event(f'{{"i":{i},"p":"{"x" * size}"}}'.encode(), lossy=lossy)


async def test_batch_closes_at_max_events() -> None:
    b = Batcher(BatchConfig(max_events=3, max_wait_s=60), Metrics())
    await b.put([ev(i) for i in range(7)])
    batches = [await b.next_batch(), await b.next_batch()]
    assert [len(x.events) for x in batches if x] == [3, 3]
    b.close()
    last = await b.next_batch()
    assert last is not None and len(last.events) == 1
    assert await b.next_batch() is None


async def test_batch_closes_at_max_bytes() -> None:
    b = Batcher(BatchConfig(max_events=1000, max_bytes=2048, max_wait_s=60), Metrics())
    await b.put([ev(i, size=500) for i in range(10)])
    batch = await b.next_batch()
    assert batch is not None and 1 < len(batch.events) < 10 and len(batch.body) <= 2048


async def test_batch_closes_after_max_wait_from_first_event() -> None:
    b = Batcher(BatchConfig(max_events=100, max_wait_s=0.2), Metrics())
    await b.put([ev(1)])
    t0 = time.monotonic()
    batch = await asyncio.wait_for(b.next_batch(), 2)
    waited = time.monotonic() - t0
    assert batch is not None and len(batch.events) == 1 and 0.15 <= waited < 1.0


async def test_full_buffer_makes_put_wait_and_offer_drop() -> None:
    m = Metrics()
    b = Batcher(BatchConfig(max_events=10, max_wait_s=60, buffer_events=20), m)
    await b.put([ev(i) for i in range(20)])
    blocked = asyncio.create_task(b.put([ev(99)]))
    await asyncio.sleep(0.05)
    assert not blocked.done()
    assert b.offer([ev(100, lossy=True), ev(101, lossy=True)]) == 2 and m.get("events_dropped_total") == 2
    await b.next_batch()
    await asyncio.wait_for(blocked, 1)
    assert b.buffered == 11


def test_batch_body_ids_and_gzip() -> None:
    batch = Batch(1, [ev(i) for i in range(5)])
    assert batch.body.count(b"\n") == 5 and gzip.decompress(batch.gzip(1)) == batch.body
    assert Batch(1, [ev(i) for i in range(5)]).id == batch.id  # same content, same Idempotency-Key
    assert Batch(1, [ev(i) for i in range(4)]).id != batch.id
    assert not batch.lossy and Batch(2, [ev(1, lossy=True)]).lossy


@pytest.mark.parametrize("n", [0, 1])
async def test_close_on_empty_returns_none(n: int) -> None:
    b = Batcher(BatchConfig(), Metrics())
    if n:
        await b.put([ev(1)])
    b.close()
    got = await b.next_batch()
    assert (got is None) == (n == 0)
