"""The interface every collector implements, and the sink it writes to.

A source runs as one asyncio task (``run``), hands lists of encoded events to the sink, and is
told through ``commit`` when its events are durable. ``lossy`` sources (UDP, syslog) cannot
push back on their senders, so when buffers are full their events are dropped and counted
instead of blocking.
"""

from __future__ import annotations

from typing import Any, Protocol

from shipper.event import Event


class EventSink(Protocol):
    """Where sources put events (the batcher)."""

    async def put(self, events: list[Event]) -> None:
        """Add events, waiting while the buffer is full (backpressure)."""

    def offer(self, events: list[Event]) -> int:
        """Add events without waiting; returns how many were dropped because the buffer is full."""


class Source(Protocol):
    name: str
    lossy: bool

    async def run(self, sink: EventSink) -> None:
        """Collect until :meth:`stop` is called (or the input ends, for finite sources)."""

    def stop(self) -> None:
        """Ask ``run`` to finish: flush pending multiline events, then return."""

    def commit(self, token: Any) -> None:
        """Events up to ``token`` are durable (202 or spooled): advance the checkpoint."""

    def status(self) -> dict[str, Any]:
        """Positions, lag and errors for ``logharbor shipper --status``."""


class SourceBase:
    """Shared plumbing: name, stop flag and a wake-up event."""

    lossy = False
    finite = False  # True when the input can end on its own (stdin)

    def __init__(self, name: str) -> None:
        self.name = name
        self._stopping = False
        self.last_error: str | None = None

    def stop(self) -> None:
        self._stopping = True

    def commit(self, token: Any) -> None:  # most sources have nothing to checkpoint
        return None

    def status(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "last_error": self.last_error}
