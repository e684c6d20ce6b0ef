"""GELF 1.1 (Graylog Extended Log Format): payload decoding, UDP chunk reassembly, message → event.

Pure and synchronous, so every rule is a unit test; the sockets are in gateway/listeners.py and
HTTP ``POST /gelf`` in gateway/gelf_http.py.

- compression by magic bytes, whatever a header claims (graypy's HTTP handler compresses with
  zlib and says ``gzip,deflate``): ``1f 8b`` gzip, ``78 ..`` zlib, ``{`` plain JSON — inflated
  under a cap, so a small datagram cannot become a large allocation;
- chunked UDP (magic ``1e 0f``, 8-byte message id, sequence number, count): reassembled per
  (sender address, message id), at most 128 chunks, incomplete sets expire after 5 s, and all
  pending chunks together are bounded in bytes; whatever is dropped is counted by reason;
- validation: ``version`` (1.1, or 1.0), ``host`` and ``short_message`` are required;
  ``timestamp`` is seconds since the epoch (missing: arrival); ``level`` is a syslog severity;
  ``_``-prefixed additional fields become event fields without the underscore, ``_id`` is
  dropped (GELF reserves it); ``full_message`` → ``error.stack_trace`` when it looks like a
  trace, else ``log.full_message``; ``facility``/``file``/``line`` → ``log.syslog.facility.name``,
  ``log.origin.file.name``/``.line``.
"""

from __future__ import annotations

import time
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.event_shape import move_key_paths
from logharbor.levels import SYSLOG_SEVERITY_LEVEL

CHUNK_MAGIC = b"\x1e\x0f"
MAX_CHUNKS = 128


class GelfError(ValueError):
    """A message that is not valid GELF; ``reason`` is a short label for the metrics."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


def inflate(payload: bytes, max_bytes: int) -> bytes:
    """gzip / zlib / plain by magic bytes, capped at ``max_bytes`` of output."""
    zlib_header = len(payload) > 1 and payload[0] == 0x78 and (payload[0] * 256 + payload[1]) % 31 == 0
    if payload[:2] == b"\x1f\x8b" or zlib_header:
        obj = zlib.decompressobj(zlib.MAX_WBITS | 32)  # auto-detects the gzip or zlib header
        try:
            out = obj.decompress(payload, max_bytes + 1)
        except zlib.error as exc:
            raise GelfError(f"payload: invalid compressed data ({exc})", "bad_compression") from None
        if len(out) > max_bytes:
            raise GelfError(f"payload: inflates beyond the limit of {max_bytes} bytes", "too_large")
        return out
    if len(payload) > max_bytes:
        raise GelfError(f"payload: {len(payload)} bytes exceeds the limit of {max_bytes} bytes", "too_large")
    return payload


def parse_message(data: bytes, *, received_at: str) -> dict[str, Any]:
    """One GELF JSON object (already inflated) → an event for the door."""
    try:
        msg = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise GelfError(f"payload: invalid JSON ({exc})", "invalid_json") from None
    if not isinstance(msg, dict):
        raise GelfError("payload: a GELF message is a JSON object", "invalid_json")
    return to_event(msg, received_at=received_at)


def to_event(msg: dict[str, Any], *, received_at: str) -> dict[str, Any]:
    version = msg.get("version")
    if version not in ("1.1", "1.0"):
        raise GelfError(f"version: {version!r} is not a GELF version (send \"1.1\")", "version")
    host = msg.get("host")
    if not isinstance(host, str) or not host.strip():
        raise GelfError("host: required, a non-empty string", "host")
    short = msg.get("short_message")
    if not isinstance(short, str) or not short.strip():
        raise GelfError("short_message: required, a non-empty string", "short_message")
    event: dict[str, Any] = {"message": short, "host": host}
    ts = msg.get("timestamp")
    if ts is None:
        event["timestamp"] = received_at
    elif isinstance(ts, int | float) and not isinstance(ts, bool):
        event["timestamp"] = datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="microseconds")
    else:
        raise GelfError(f"timestamp: must be seconds since the epoch (a number), not {ts!r:.40}", "timestamp")
    level = msg.get("level")
    if level is not None:
        if isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 7:
            event["level"] = SYSLOG_SEVERITY_LEVEL[level]
        else:
            raise GelfError(f"level: {level!r:.20} is not a syslog severity 0-7", "level")
    fields: dict[str, Any] = {}
    full = msg.get("full_message")
    if isinstance(full, str) and full:
        looks_like_trace = "\n" in full and ("Traceback" in full or "\tat " in full or "    at " in full)
        _put(fields, "error.stack_trace" if looks_like_trace else "log.full_message", full)
    if "facility" in msg:
        _put(fields, "log.syslog.facility.name", msg["facility"])
    if "file" in msg:
        _put(fields, "log.origin.file.name", msg["file"])
    if "line" in msg:
        _put(fields, "log.origin.file.line", msg["line"])
    if level is not None:
        _put(fields, "log.syslog.severity.code", level)
    for key, value in msg.items():
        if key.startswith("_") and key != "_id" and len(key) > 1:
            _put(fields, key[1:], value)
    move_key_paths(fields)  # `_tenant`, `_service.name` ...: kept as labels.sent_*, the key's values apply
    if fields:
        event["fields"] = fields
    return event


def _put(fields: dict[str, Any], dotted: str, value: Any) -> None:
    node = fields
    parts = dotted.split(".")
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = node[p] = {}
        node = nxt
    node.setdefault(parts[-1], value)


# -- chunked UDP -----------------------------------------------------------------------------------
@dataclass(slots=True)
class _Pending:
    count: int
    started: float
    parts: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


class ChunkAssembler:
    """Reassembles chunked GELF datagrams; ``dropped`` counts what was given up, by reason."""

    def __init__(self, *, max_chunks: int = MAX_CHUNKS, timeout_s: float = 5.0, max_bytes: int = 32 << 20) -> None:
        self.max_chunks = max_chunks
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.pending: OrderedDict[tuple[Any, bytes], _Pending] = OrderedDict()
        self.bytes = 0
        self.dropped: dict[str, int] = {}

    def _drop(self, reason: str, n: int = 1) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def feed(self, sender: Any, datagram: bytes, now: float | None = None) -> bytes | None:
        """A plain datagram is returned as is; a chunk returns the whole message once complete."""
        if datagram[:2] != CHUNK_MAGIC:
            return datagram
        now = time.monotonic() if now is None else now
        self.expire(now)
        if len(datagram) < 12:
            self._drop("bad_chunk")
            return None
        msg_id, seq, count = datagram[2:10], datagram[10], datagram[11]
        if count == 0 or count > self.max_chunks or seq >= count:
            self._drop("too_many_chunks" if count > self.max_chunks else "bad_chunk")
            return None
        key = (sender, msg_id)
        entry = self.pending.get(key)
        if entry is None:
            entry = self.pending[key] = _Pending(count=count, started=now)
        elif entry.count != count:
            self._remove(key)
            self._drop("bad_chunk")
            return None
        body = datagram[12:]
        if seq not in entry.parts:
            while self.bytes + len(body) > self.max_bytes and self.pending:
                oldest = next(iter(self.pending))
                if oldest == key:
                    break
                self._remove(oldest)
                self._drop("memory_cap")
            if self.bytes + len(body) > self.max_bytes:
                self._remove(key)
                self._drop("memory_cap")
                return None
            entry.parts[seq] = body
            entry.size += len(body)
            self.bytes += len(body)
        if len(entry.parts) < entry.count:
            return None
        self._remove(key)
        return b"".join(entry.parts[i] for i in range(entry.count))

    def _remove(self, key: tuple[Any, bytes]) -> None:
        entry = self.pending.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size

    def expire(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        while self.pending:
            key, entry = next(iter(self.pending.items()))
            if now - entry.started < self.timeout_s:
                break
            self._remove(key)
            self._drop("chunk_timeout")
