"""The load a chaos run writes and the conservation oracle that judges it.

Every line carries its file number and sequence number (``file=K seq=N``), so the oracle can
say exactly which lines are missing and which are stored more than once: it reads back every
document of the run's tenant and compares the (file, seq) pairs found with those written.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SEQ = re.compile(r"chaos-(\w+) file=(\d+) seq=(\d+)")
WORDS = ("GET /api/orders 200", "payment authorised", "cache miss for user", "retrying upstream call")


class LineWriter:
    """Appends numbered lines to the shippers' files, round robin, flushing each burst."""

    def __init__(self, run_id: str, files: list[Path]) -> None:
        self.run_id = run_id
        self.handles = [open(p, "a", encoding="utf-8") for p in files]
        self.written = [0] * len(files)

    def write(self, n: int) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for _ in range(n):
            k = sum(self.written) % len(self.handles)
            seq = self.written[k]
            self.handles[k].write(f"{now} INFO chaos-{self.run_id} file={k} seq={seq} {WORDS[seq % len(WORDS)]}\n")
            self.written[k] += 1
        for h in self.handles:
            h.flush()

    @property
    def sent(self) -> int:
        return sum(self.written)

    def close(self) -> None:
        for h in self.handles:
            h.close()


@dataclass
class Verdict:
    sent: int
    stored: int  # distinct lines found
    docs: int  # documents found (stored + duplicates)
    lost: int
    duplicates: int
    missing_sample: list[str] = field(default_factory=list)


def stored_count(client: Any, tenant: str) -> int:
    index = f"logs-{tenant}-*"
    client.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    return int(client.count(index=index, ignore_unavailable=True, allow_no_indices=True)["count"])


def wait_drained(client: Any, tenant: str, sent: int, timeout_s: float, idle_s: float = 30.0) -> float:
    """Wait until ``sent`` documents are searchable, or no progress for ``idle_s``; seconds waited."""
    start = last_change = time.monotonic()
    last = -1
    while time.monotonic() - start < timeout_s:
        n = stored_count(client, tenant)
        if n >= sent:
            break
        if n != last:
            last, last_change = n, time.monotonic()
        elif time.monotonic() - last_change > idle_s:
            break
        time.sleep(1.0)
    return time.monotonic() - start


def tally(texts: Iterable[str], run_id: str, written: list[int]) -> Verdict:
    """Compare the stored texts (one per document) with the lines written (per-file counts)."""
    seen: Counter[tuple[int, int]] = Counter()
    for text in texts:
        m = SEQ.search(text)
        if m and m.group(1) == run_id:
            seen[(int(m.group(2)), int(m.group(3)))] += 1
    expected = {(k, s) for k, n in enumerate(written) for s in range(n)}
    found = set(seen)
    missing = sorted(expected - found)
    return Verdict(
        sent=len(expected),
        stored=len(expected & found),
        docs=sum(seen.values()),
        lost=len(missing),
        duplicates=sum(c - 1 for c in seen.values() if c > 1),
        missing_sample=[f"file={k} seq={s}" for k, s in missing[:10]],
    )


def judge(client: Any, tenant: str, run_id: str, written: list[int]) -> Verdict:
    """Read every document of the tenant back and compare with what was written."""
    from opensearchpy.helpers import scan

    index = f"logs-{tenant}-*"
    client.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)

    def texts() -> Iterable[str]:
        for hit in scan(client, index=index, query={"query": {"match_all": {}}},
                        _source=["message", "event.original"], size=5000, ignore_unavailable=True):
            src = hit.get("_source") or {}
            yield " ".join(str(v) for v in (src.get("message"), (src.get("event") or {}).get("original")) if v)

    return tally(texts(), run_id, written)
