"""The pipeline's ingestion watermark for the alert evaluator (opensearch/watermarks.py).

Called by the worker after each settled batch and on idle polls; it never blocks the worker:
writes go out in a background task at most every ``interval_s`` and failures are only logged
(a stale watermark makes the evaluator wait, bounded by its own max lag, never lose events).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

log = logging.getLogger(__name__)


class WatermarkReporter:
    def __init__(self, client: Any, group: str, interval_s: float = 1.0) -> None:
        self.client = client
        self.group = group
        self.interval_s = interval_s
        self._settled: dict[tuple[str, int], tuple[int, int]] = {}  # tp → (last offset, record ts ms)
        self._last = 0.0
        self._task: asyncio.Task | None = None

    def settled(self, records: list[Any]) -> None:
        """Remember the last offset and Kafka timestamp settled per partition."""
        for rec in records:
            key = (rec.topic, rec.partition)
            prev = self._settled.get(key)
            if prev is None or rec.offset > prev[0]:
                self._settled[key] = (rec.offset, rec.timestamp or 0)

    def tick(self, consumer: Any) -> None:
        """Report the assigned partitions' marks if ``interval_s`` passed (non-blocking)."""
        now = time.monotonic()
        if consumer is None or now - self._last < self.interval_s or (self._task and not self._task.done()):
            return
        self._last = now
        self._task = asyncio.create_task(self._report(consumer, list(consumer.assignment())))

    async def _report(self, consumer: Any, assignment: list[Any]) -> None:
        wall = int(time.time() * 1000)
        marks = []
        for tp in assignment:
            high = consumer.highwater(tp)
            settled = self._settled.get((tp.topic, tp.partition))
            if settled is not None:
                offset, ts = settled
                caught_up = high is not None and offset + 1 >= high
            else:
                # Nothing settled by this process yet: caught up if its position is at the end
                # (records fetched but not yet settled are then at most one poll away).
                try:
                    position = await consumer.position(tp)
                except Exception:
                    continue
                ts, caught_up = 0, high is not None and position >= high
            if high is None:
                continue  # nothing fetched yet: unknown, say nothing
            marks.append({"topic": tp.topic, "partition": tp.partition, "record_ts": ts, "caught_up": caught_up,
                          "updated_at": wall})
        if marks:
            await self._write(marks)

    async def _write(self, marks: list[dict[str, Any]]) -> None:
        from opensearch.watermarks import write_watermarks

        try:
            await asyncio.wait_for(write_watermarks(self.client, self.group, marks), timeout=10)
        except Exception as exc:  # never disturb indexing
            log.debug("watermark write failed: %s", exc)
