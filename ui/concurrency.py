"""Per-key caps on long-lived requests, and the idle timeout of a streamed export (issue 16 item 5).

Why: an export holds an OpenSearch point in time for as long as it streams, and the cluster
allows only a few hundred PITs in all (``search.max_open_pit_context``); a client that starts
exports and never reads them used to hold PITs until its connection died. Live-tail streams
share one pool per process the same way. So each key may hold at most ``ui.max_exports_per_key``
exports at once (the whole process ``ui.max_exports``), a 429 names the limit otherwise, and an
export whose client has not accepted a write for ``ui.export_idle_timeout_s`` is cut off — its
point in time is closed by the export generator's ``finally``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from aiohttp import web

from ui.auth import AuthError

RETRY_AFTER_S = 5.0


class KeyCaps:
    """Counts concurrent holders per key and overall; ``hold`` refuses beyond the caps with 429."""

    def __init__(self, kind: str, per_key: int, total: int, setting: str) -> None:
        self.kind = kind
        self.per_key = per_key
        self.total = total
        self.setting = setting
        self._held: dict[str, int] = {}

    @property
    def in_use(self) -> int:
        return sum(self._held.values())

    def held_by(self, key_id: str) -> int:
        return self._held.get(key_id, 0)

    @contextlib.contextmanager
    def hold(self, key_id: str) -> Iterator[None]:
        """One slot for ``key_id`` while the block runs (raises :class:`AuthError` 429 when full)."""
        n = self._held.get(key_id, 0)
        if n >= self.per_key:
            raise AuthError(429, f"key {key_id} already runs {n} concurrent {self.kind} (limit "
                                 f"ui.{self.setting}_per_key={self.per_key}); wait for one to finish",
                            retry_after=RETRY_AFTER_S)
        if self.in_use >= self.total:
            raise AuthError(429, f"this ui process runs {self.total} concurrent {self.kind} (limit "
                                 f"ui.{self.setting}={self.total}); try again shortly", retry_after=RETRY_AFTER_S)
        self._held[key_id] = n + 1
        try:
            yield
        finally:
            left = self._held.get(key_id, 1) - 1
            if left > 0:
                self._held[key_id] = left
            else:
                self._held.pop(key_id, None)


EXPORT_CAPS: web.AppKey[KeyCaps] = web.AppKey("export_caps", KeyCaps)


class ExportIdle(Exception):
    """The client accepted no data for the idle timeout; the export was cut off."""


async def write_within(resp: web.StreamResponse, data: bytes, timeout_s: float) -> None:
    """``resp.write`` that gives up after ``timeout_s`` without progress (a stalled reader).

    aiohttp's write awaits the transport's drain, so a client that stopped reading blocks it
    forever; bounding it frees the export's point in time and the caller's slot.
    """
    if not data:
        return
    try:
        await asyncio.wait_for(resp.write(data), timeout_s)
    except TimeoutError:
        raise ExportIdle(f"client accepted no data for {timeout_s:g}s (ui.export_idle_timeout_s)") from None
