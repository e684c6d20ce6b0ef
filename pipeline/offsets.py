"""Per-partition contiguous watermarks: which Kafka offsets are safe to commit.

docs/ARCHITECTURE.md §3: an offset is committed only after every record up to it is indexed, dead-lettered,
a known duplicate or dropped on purpose. Records may finish out of order (a bulk retry, a DLQ
write), so each partition keeps its outstanding offsets in arrival order and the committable
position is just past the longest finished prefix.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Partition:
    outstanding: deque[int] = field(default_factory=deque)
    done: set[int] = field(default_factory=set)
    watermark: int | None = None  # next offset to commit (Kafka semantics: last done + 1)
    committed: int | None = None


class OffsetTracker:
    """Track outstanding records; ``committable()`` yields new per-partition commit positions."""

    def __init__(self) -> None:
        self._parts: dict[Hashable, _Partition] = {}

    def track(self, tp: Hashable, offset: int) -> None:
        """Register a record as outstanding (call in consumption order)."""
        self._parts.setdefault(tp, _Partition()).outstanding.append(offset)

    def done(self, tp: Hashable, offset: int) -> None:
        """The record at ``offset`` is settled (indexed, duplicate, dead-lettered or dropped)."""
        part = self._parts.get(tp)
        if part is None:
            return  # partition revoked meanwhile: its records will be redelivered elsewhere
        part.done.add(offset)
        while part.outstanding and part.outstanding[0] in part.done:
            finished = part.outstanding.popleft()
            part.done.discard(finished)
            part.watermark = finished + 1

    def committable(self) -> dict[Hashable, int]:
        """Positions that moved since the last ``mark_committed``."""
        return {
            tp: p.watermark for tp, p in self._parts.items() if p.watermark is not None and p.watermark != p.committed
        }

    def mark_committed(self, positions: dict[Hashable, int]) -> None:
        for tp, offset in positions.items():
            if tp in self._parts:
                self._parts[tp].committed = offset

    def pending(self, tp: Hashable) -> int:
        part = self._parts.get(tp)
        return len(part.outstanding) if part else 0

    def forget(self, tps: Iterable[Hashable]) -> None:
        """Drop state of revoked partitions (their unsettled records are redelivered to the new owner)."""
        for tp in tps:
            self._parts.pop(tp, None)
