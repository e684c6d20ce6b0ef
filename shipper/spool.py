"""Disk spool: batches the gateway could not take, one fsync'd file per batch, resent oldest first.

Each file holds exactly the gzip body that was (or would have been) POSTed, so a resend is
byte-identical and carries the same Idempotency-Key. Names sort by sequence number, so the
oldest batch is resent first and the order survives restarts. A file is deleted only after a
202. The spool has a size cap: when it is full, batches made only of lossy events (UDP,
syslog) are dropped oldest first and counted; otherwise the writer waits, which stops file
tails advancing (backpressure) instead of losing file data.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from shipper.checkpoint import fsync_dir
from shipper.metrics import Metrics

log = logging.getLogger("logharbor.shipper.spool")

_SUFFIX = ".ndjson.gz"


@dataclass(slots=True, frozen=True)
class SpoolEntry:
    path: Path
    seq: int
    batch_id: str
    events: int
    lossy: bool
    size: int

    @classmethod
    def parse(cls, path: Path) -> SpoolEntry | None:
        name = path.name
        if not name.endswith(_SUFFIX):
            return None
        try:
            seq, batch_id, events, kind = name[: -len(_SUFFIX)].split("-")
            return cls(path, int(seq), batch_id, int(events), kind == "L", path.stat().st_size)
        except (ValueError, OSError):
            return None


class Spool:
    """The spool directory; all methods run on the event loop, file I/O in a worker thread."""

    def __init__(self, directory: Path, max_bytes: int, metrics: Metrics) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._metrics = metrics
        self._entries: list[SpoolEntry] = []
        for p in self.dir.iterdir():
            if p.name.startswith("."):
                p.unlink(missing_ok=True)  # a temp file from a write that never completed
                continue
            entry = SpoolEntry.parse(p)
            if entry is not None:
                self._entries.append(entry)
        self._entries.sort(key=lambda e: e.seq)
        self._next_seq = (self._entries[-1].seq + 1) if self._entries else 1
        self._bytes = sum(e.size for e in self._entries)
        self.changed = asyncio.Event()  # set whenever an entry is added or removed
        self._gauges()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _gauges(self) -> None:
        self._metrics.set("spool_bytes", self._bytes)
        self._metrics.set("spool_batches", len(self._entries))

    def oldest(self) -> SpoolEntry | None:
        return self._entries[0] if self._entries else None

    def _make_room(self, need: int) -> bool:
        """Drop lossy batches (oldest first) until ``need`` bytes fit. True if they fit."""
        if self._bytes + need <= self.max_bytes:
            return True
        for entry in list(self._entries):
            if self._bytes + need <= self.max_bytes:
                break
            if entry.lossy:
                self._remove(entry)
                self._metrics.inc("events_dropped_total", entry.events)
                self._metrics.inc("spool_dropped_batches_total")
                log.warning("spool full: dropped oldest UDP/syslog batch",
                            extra={"batch_id": entry.batch_id, "events": entry.events})
        return self._bytes + need <= self.max_bytes

    async def put(self, body_gz: bytes, batch_id: str, events: int, lossy: bool,
                  stopping: asyncio.Event | None = None) -> SpoolEntry | None:
        """Write durably; wait while full (backpressure). None if ``stopping`` fired while full."""
        warned = False
        while not self._make_room(len(body_gz)):
            if lossy:
                self._metrics.inc("events_dropped_total", events)
                log.warning("spool full: dropped UDP/syslog batch", extra={"batch_id": batch_id})
                return None
            if not warned:
                log.warning("spool full: holding file tails until the gateway takes batches",
                            extra={"spool_bytes": self._bytes, "max_bytes": self.max_bytes})
                warned = True
            self._metrics.set("spool_full", 1)
            if stopping is not None and stopping.is_set():
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 0.5)
        self._metrics.set("spool_full", 0)
        seq = self._next_seq
        self._next_seq += 1
        name = f"{seq:012d}-{batch_id}-{events}-{'L' if lossy else 'N'}{_SUFFIX}"
        path = self.dir / name
        self._bytes += len(body_gz)  # reserved before the write, so concurrent writers see it
        try:
            await asyncio.to_thread(self._write, path, body_gz)
        except BaseException:
            self._bytes -= len(body_gz)
            raise
        entry = SpoolEntry(path, seq, batch_id, events, lossy, len(body_gz))
        bisect.insort(self._entries, entry, key=lambda e: e.seq)  # writes may finish out of order
        self._metrics.inc("events_spooled_total", events)
        self._gauges()
        self.changed.set()
        return entry

    def _write(self, path: Path, data: bytes) -> None:
        tmp = path.with_name("." + path.name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(self.dir)

    def read(self, entry: SpoolEntry) -> bytes:
        return entry.path.read_bytes()

    def _remove(self, entry: SpoolEntry) -> None:
        entry.path.unlink(missing_ok=True)
        with contextlib.suppress(ValueError):
            self._entries.remove(entry)
            self._bytes -= entry.size
        self._gauges()
        self.changed.set()

    def delete(self, entry: SpoolEntry) -> None:
        """The gateway answered 202 for this batch."""
        self._remove(entry)
