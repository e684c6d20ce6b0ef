"""Shared helpers for stream sources without byte positions (network, stdin).

Their events cannot be re-read after a restart, so their ids only need to be unique and to stay
the same when a batch is re-sent: (host, source name, process run id, sequence number).
"""

from __future__ import annotations

from typing import Any

from logharbor.ids import new_ulid, stable_id
from shipper.event import Event, encode_event, now_rfc3339


class EventMaker:
    """Builds events for one stream source."""

    __slots__ = ("_fmt", "_host", "_lossy", "_name", "_run", "_seq")

    def __init__(self, name: str, host: str, fmt: str, lossy: bool) -> None:
        self._name = name
        self._host = host
        self._fmt = fmt
        self._lossy = lossy
        self._run = new_ulid()
        self._seq = 0

    def make(self, raw: str, fields: dict[str, Any], timestamp: str | None = None,
             read_time: str | None = None) -> Event:
        self._seq += 1
        eid = stable_id(self._host, self._name, self._run, self._seq)
        fields["source_name"] = self._name
        data = encode_event(eid, raw, self._fmt, self._host, fields, timestamp or read_time or now_rfc3339())
        return Event(data, None, None, self._lossy)


def split_listen(listen: str) -> tuple[str, int]:
    """``"host:port"`` (or ``"[::1]:port"``) → (host, port)."""
    host, _, port = listen.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def decode_line(data: bytes) -> str:
    if data.endswith(b"\r"):
        data = data[:-1]
    return data.decode("utf-8", "replace")
