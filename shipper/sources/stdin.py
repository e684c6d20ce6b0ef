"""Lines from standard input (``app | logharbor shipper --config ...``).

Reads happen in a daemon thread because stdin may be a pipe, a terminal or a regular file and
only a thread handles all three the same way; a daemon thread (not the executor) because a
read blocked on an idle pipe must not hold up shutdown on SIGTERM. The thread hands chunks
over through a small queue, so a full buffer stops the reading (backpressure on the writer).
When stdin ends the source finishes; if it was the only source the shipper flushes and exits.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any, Literal

from pydantic import Field, field_validator

from shipper.event import Event, now_rfc3339
from shipper.metrics import Metrics
from shipper.model_base import SourceConfigBase
from shipper.multiline import Joined, MultilineConfig, MultilineJoiner, multiline_option
from shipper.sources.base import EventSink, SourceBase
from shipper.sources.lines import EventMaker, decode_line


class StdinSourceConfig(SourceConfigBase):
    """Lines from standard input; when stdin closes and it is the only source, the shipper exits."""

    type: Literal["stdin"]
    multiline: MultilineConfig = Field(default_factory=lambda: MultilineConfig(enabled=False))

    _fix_multiline = field_validator("multiline", mode="before")(multiline_option)


class StdinSource(SourceBase):
    finite = True

    def __init__(self, cfg: StdinSourceConfig, host: str, metrics: Metrics, fd: int = 0) -> None:
        super().__init__(cfg.name or "stdin")
        self.cfg = cfg
        self._fd = fd
        self._maker = EventMaker(self.name, host, cfg.format, lossy=False)
        self._metrics = metrics
        self._joiner = MultilineJoiner(cfg.multiline) if cfg.multiline.enabled else None
        self._stop_event = asyncio.Event()
        self.received = 0
        self.eof = False

    def stop(self) -> None:
        super().stop()
        self._stop_event.set()

    def _reader(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes]) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError:
                data = b""
            try:
                asyncio.run_coroutine_threadsafe(queue.put(data), loop).result()
            except Exception:  # the loop is gone: the shipper is exiting
                return
            if not data:
                return

    async def run(self, sink: EventSink) -> None:
        buf = b""
        offset = 0
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=4)
        threading.Thread(target=self._reader, args=(asyncio.get_running_loop(), queue), daemon=True,
                         name=f"stdin:{self.name}").start()
        stop_wait = asyncio.ensure_future(self._stop_event.wait())
        try:
            while not self._stopping:
                timeout = None
                if self._joiner is not None and (d := self._joiner.deadline) is not None:
                    timeout = max(0.0, d - time.monotonic())
                read = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({read, stop_wait}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                while read not in done and not self._stopping:
                    out: list[Joined] = []
                    if self._joiner is not None:
                        self._joiner.flush_due(time.monotonic(), out)
                    await self._emit(out, sink)
                    done, _ = await asyncio.wait({read, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                if read not in done:
                    read.cancel()
                    break  # stopping; the daemon thread may stay blocked in read(): it dies with us
                data = read.result()
                if not data:
                    self.eof = True
                    break
                buf += data
                parts = buf.split(b"\n")
                buf = parts.pop()
                out = []
                now = time.monotonic()
                for part in parts:
                    end = offset + len(part) + 1
                    text = decode_line(part)
                    if self._joiner is not None:
                        self._joiner.feed(text, offset, end, now, out)
                    else:
                        out.append((text, offset, end))
                    offset = end
                await self._emit(out, sink)
            out = []
            if buf:
                out.append((decode_line(buf), offset, offset + len(buf)))
            if self._joiner is not None:
                final: list[Joined] = []
                self._joiner.flush(final)
                out = final + out
            await self._emit(out, sink)
        finally:
            stop_wait.cancel()

    async def _emit(self, joined: list[Joined], sink: EventSink) -> None:
        if not joined:
            return
        now = now_rfc3339()
        events: list[Event] = [self._maker.make(text, {}, read_time=now) for text, _, _ in joined if text.strip()]
        if events:
            self.received += len(events)
            self._metrics.inc("events_read_total", len(events))
            await sink.put(events)

    def status(self) -> dict[str, Any]:
        return {"type": "stdin", "received": self.received, "eof": self.eof, "last_error": self.last_error}
