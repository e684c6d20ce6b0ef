"""One event on its way from a source to the gateway.

An event is encoded to its NDJSON line once, when it is made, so batching counts real bytes
and a re-sent batch carries byte-identical events (same ``id``, docs/ARCHITECTURE.md §2). ``source`` and
``token`` say what to commit once the batch holding it is durable (202 or spooled): for a file
the byte offset just past the event, for the journal its cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson


class Committable(Protocol):
    """A source that learns when its events are durable (at-least-once checkpoints)."""

    def commit(self, token: Any) -> None: ...


@dataclass(slots=True)
class Event:
    data: bytes  # the NDJSON line without the trailing newline
    source: Committable | None = None
    token: Any = None
    lossy: bool = False  # from a source that cannot push back (UDP, syslog): may be dropped when spool is full


def now_rfc3339() -> str:
    """Read time in RFC 3339 with milliseconds and a Z suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_event(
    event_id: str,
    raw: str,
    fmt: str,
    host: str,
    fields: dict[str, Any],
    timestamp: str | None = None,
) -> bytes:
    """The gateway contract's NDJSON object for one event."""
    obj: dict[str, Any] = {"id": event_id, "raw": raw, "format": fmt, "host": host}
    if timestamp:
        obj["timestamp"] = timestamp
    obj["fields"] = fields
    # orjson hands back a bytes object inside a ~4 KB allocation; copying to an exact-size object
    # keeps a buffer of 10,000 events at ~3 MB instead of ~40 MB.
    return bytes(memoryview(orjson.dumps(obj)))
