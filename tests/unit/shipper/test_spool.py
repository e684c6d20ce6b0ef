"""Disk spool: durable files, oldest first across restarts, size cap and lossy drops."""

import asyncio
import os
from pathlib import Path

from shipper.metrics import Metrics
from shipper.spool import Spool


async def test_oldest_first_and_survives_restart(tmp_path: Path) -> None:
    s = Spool(tmp_path, 1 << 20, Metrics())
    for i in range(3):
        await s.put(f"body{i}".encode(), f"id{i}", 10 + i, lossy=False)
    assert len(s) == 3 and s.bytes == 15
    again = Spool(tmp_path, 1 << 20, Metrics())
    order = []
    while (e := again.oldest()) is not None:
        order.append((e.batch_id, e.events, again.read(e)))
        again.delete(e)
    assert order == [("id0", 10, b"body0"), ("id1", 11, b"body1"), ("id2", 12, b"body2")]
    later = await again.put(b"x", "id3", 1, lossy=False)
    assert later is not None and later.seq == 4  # numbering continues after a restart
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temp files left


async def test_full_spool_drops_oldest_lossy_batches_first(tmp_path: Path) -> None:
    m = Metrics()
    s = Spool(tmp_path, 100, m)
    await s.put(b"a" * 40, "lossy1", 4, lossy=True)
    await s.put(b"b" * 40, "file1", 5, lossy=False)
    entry = await s.put(b"c" * 40, "file2", 6, lossy=False)
    assert entry is not None
    assert [e.batch_id for e in s._entries] == ["file1", "file2"]
    assert m.get("events_dropped_total") == 4
    # a lossy batch that does not fit is dropped and counted, never blocks
    assert await s.put(b"d" * 40, "lossy2", 3, lossy=True) is None
    assert m.get("events_dropped_total") == 7


async def test_full_spool_blocks_file_batches_until_room(tmp_path: Path) -> None:
    m = Metrics()
    s = Spool(tmp_path, 100, m)
    await s.put(b"a" * 60, "first", 1, lossy=False)
    waiting = asyncio.create_task(s.put(b"b" * 60, "second", 1, lossy=False))
    await asyncio.sleep(0.1)
    assert not waiting.done() and m.get("spool_full") == 1
    first = s.oldest()
    assert first is not None
    s.delete(first)
    assert (await asyncio.wait_for(waiting, 2)) is not None
    assert m.get("spool_full") == 0


async def test_stopping_releases_a_blocked_writer(tmp_path: Path) -> None:
    s = Spool(tmp_path, 100, Metrics())
    await s.put(b"a" * 60, "first", 1, lossy=False)
    stop = asyncio.Event()
    waiting = asyncio.create_task(s.put(b"b" * 60, "second", 1, lossy=False, stopping=stop))
    await asyncio.sleep(0.05)
    stop.set()
    assert await asyncio.wait_for(waiting, 2) is None
