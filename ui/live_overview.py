"""The live overview from the stream: per-second counts and recent errors of one tenant, fed by
the live tail's shared consumer of ``logharbor.processed`` (documents the pipeline published
after indexing them), pushed to the browser every second over Server-Sent Events — no
OpenSearch query per tick and per viewer.

Counts are binned by the event's own ``@timestamp`` second, so a search over the same seconds
returns the same figures once indexed (the pipeline publishes a document only after OpenSearch
took it). Events older than the window when they arrive (a backlog being drained) are counted
in ``late`` rather than dropped silently. Memory per viewer: at most ``window_s`` bins and
``recent`` error results.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from logharbor import ecs
from opensearch.query.timeexpr import parse_event_timestamp
from opensearch.search import get_path
from ui.live_tail import Subscriber, tail_result

ERROR_LEVELS = frozenset({"ERROR", "FATAL"})


class LiveCounter(Subscriber):
    """A live-tail subscriber that counts instead of buffering: {second: {level: n}}."""

    def __init__(self, tenant: str, match: Any, buffer_size: int, window_s: int = 60, recent: int = 10) -> None:
        super().__init__(tenant, match, buffer_size)
        self.window_s = window_s
        self.bins: dict[int, dict[str, int]] = {}
        self.recent_errors: deque[dict[str, Any]] = deque(maxlen=recent)
        self.late = 0
        self.seen = 0

    def offer(self, doc: dict[str, Any], now: float | None = None) -> None:
        """Called by the consumer loop for each matching document; never blocks."""
        now = time.time() if now is None else now
        ms = parse_event_timestamp(get_path(doc, ecs.TIMESTAMP))
        second = int((ms if ms is not None else now * 1000) // 1000)
        self.seen += 1
        if second < int(now) - self.window_s:
            self.late += 1
            return
        level = str(get_path(doc, ecs.LEVEL) or "UNKNOWN")
        cell = self.bins.setdefault(second, {})
        cell[level] = cell.get(level, 0) + 1
        if level in ERROR_LEVELS:
            self.recent_errors.appendleft(tail_result(doc))

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The last ``window_s`` seconds (oldest first), totals and the newest errors."""
        now = time.time() if now is None else now
        end = int(now)
        start = end - self.window_s + 1
        for s in [s for s in self.bins if s < start]:
            del self.bins[s]
        seconds = []
        events = errors = 0
        for s in range(start, end + 1):
            cell = self.bins.get(s, {})
            n = sum(cell.values())
            e = sum(v for k, v in cell.items() if k in ERROR_LEVELS)
            events += n
            errors += e
            seconds.append({"t": s, "events": n, "errors": e, "levels": dict(cell)})
        last10 = sum(x["events"] for x in seconds[-10:])
        return {
            "type": "tick", "now": end, "window_s": self.window_s, "from": start, "to": end + 1,
            "events": events, "errors": errors, "error_rate": (errors / events) if events else None,
            "rate_per_s": round(last10 / 10, 2), "late": self.late, "seconds": seconds,
            "recent_errors": list(self.recent_errors),
        }
