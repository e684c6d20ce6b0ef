"""Batching: events from all sources become gzip'd NDJSON batches.

A batch closes at ``max_events``, at ``max_bytes`` of NDJSON, or ``max_wait_s`` after its first
event arrived, whichever comes first. The buffer in front of it is bounded: when it is full,
``put`` waits (file tails and TCP readers stop advancing) and ``offer`` drops (UDP, syslog), so
memory stays flat however far the gateway falls behind.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import time
from collections import deque
from dataclasses import dataclass, field

from shipper.config import BatchConfig
from shipper.event import Event
from shipper.metrics import Metrics


@dataclass(slots=True)
class Batch:
    seq: int
    events: list[Event]
    body: bytes = b""  # NDJSON, one event per line
    id: str = ""
    lossy: bool = False
    created_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if not self.body:
            self.body = b"\n".join(e.data for e in self.events) + b"\n"
        # Content-derived, so a retried batch carries the same Idempotency-Key.
        self.id = self.id or hashlib.blake2b(self.body, digest_size=16).hexdigest()
        self.lossy = bool(self.events) and all(e.lossy for e in self.events)

    def gzip(self, level: int) -> bytes:
        return gzip.compress(self.body, compresslevel=level, mtime=0)


class Batcher:
    """Bounded buffer between sources and the sender."""

    def __init__(self, cfg: BatchConfig, metrics: Metrics) -> None:
        self._cfg = cfg
        self._metrics = metrics
        self._buf: deque[Event] = deque()
        self._bytes = 0
        self._first_at = 0.0
        self._ready = asyncio.Event()  # batch full, first event, or closing
        self._space = asyncio.Event()
        self._space.set()
        self._closed = False
        self._seq = 0

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def _add(self, events: list[Event]) -> None:
        if not self._buf:
            self._first_at = time.monotonic()
            self._ready.set()
        self._buf.extend(events)
        self._bytes += sum(len(e.data) + 1 for e in events)
        if len(self._buf) >= self._cfg.max_events or self._bytes >= self._cfg.max_bytes:
            self._ready.set()
        if len(self._buf) >= self._cfg.buffer_events:
            self._space.clear()

    async def put(self, events: list[Event]) -> None:
        """Add events, waiting while the buffer is full."""
        while len(self._buf) >= self._cfg.buffer_events and not self._closed:
            await self._space.wait()
        self._add(events)

    def offer(self, events: list[Event]) -> int:
        """Add what fits without waiting; returns the number dropped."""
        room = self._cfg.buffer_events - len(self._buf)
        if room >= len(events):
            self._add(events)
            return 0
        if room > 0:
            self._add(events[:room])
        dropped = len(events) - max(room, 0)
        self._metrics.inc("events_dropped_total", dropped)
        return dropped

    def close(self) -> None:
        """No more events will come; ``next_batch`` drains the rest and then returns None."""
        self._closed = True
        self._ready.set()
        self._space.set()

    async def next_batch(self) -> Batch | None:
        """The next batch, once it is full or old enough; None when closed and empty."""
        cfg = self._cfg
        while True:
            if self._buf:
                if self._closed or len(self._buf) >= cfg.max_events or self._bytes >= cfg.max_bytes:
                    break
                wait = self._first_at + cfg.max_wait_s - time.monotonic()
                if wait <= 0:
                    break
                self._ready.clear()
                handle = asyncio.get_running_loop().call_later(wait, self._ready.set)
                await self._ready.wait()
                handle.cancel()
                continue
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        events: list[Event] = []
        size = 0
        while self._buf and len(events) < cfg.max_events:
            n = len(self._buf[0].data) + 1
            if events and size + n > cfg.max_bytes:
                break
            events.append(self._buf.popleft())
            size += n
        self._bytes -= size
        if self._buf:
            self._first_at = time.monotonic()
        if len(self._buf) < cfg.buffer_events:
            self._space.set()
        self._seq += 1
        return Batch(self._seq, events)
