"""Per-key token buckets (counted in events) and the per-process concurrency limit.

Why events and not requests: one request may carry 1 or 100,000 events, and what costs
Kafka and OpenSearch is events. Why per process: a shared counter would need a round trip
per request; a fleet of N gateways behind a balancer therefore admits up to N x the
configured rate per key — set the key's rate to (wanted rate / N) when that matters.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens per second up to ``burst``; a batch may overdraw a full bucket.

    Overdrawing lets a batch larger than ``burst`` through once (instead of refusing it
    forever) while the debt keeps the long-run average at ``rate``.
    """

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, updated=now)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def take(self, n: int, now: float) -> float:
        """Take ``n`` tokens; 0.0 if granted, else seconds until the request would fit."""
        self._refill(now)
        need = min(float(n), self.burst)
        if self.tokens >= need:
            self.tokens -= n
            return 0.0
        return (need - self.tokens) / self.rate


class KeyRateLimiter:
    """One bucket per API key id; limits come from the key (or the gateway defaults)."""

    def __init__(self, default_rate: float, default_burst: float, max_keys: int = 100_000) -> None:
        self.default_rate = default_rate
        self.default_burst = default_burst
        self.max_keys = max_keys
        self._buckets: dict[str, TokenBucket] = {}

    def check(
        self,
        key_id: str,
        n: int,
        rate: float | None = None,
        burst: float | None = None,
        now: float | None = None,
    ) -> float:
        """0.0 if ``n`` events may pass now, else the wait in seconds (for Retry-After)."""
        now = time.monotonic() if now is None else now
        rate = rate or self.default_rate
        burst = burst or self.default_burst
        bucket = self._buckets.get(key_id)
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            if bucket is None and len(self._buckets) >= self.max_keys:
                self._buckets.clear()  # bounded memory beats perfect accounting for idle keys
            bucket = TokenBucket.full(rate, burst, now)
            self._buckets[key_id] = bucket
        return bucket.take(n, now)

    def wait_for_one(
        self, key_id: str, rate: float | None = None, burst: float | None = None, now: float | None = None
    ) -> float:
        """Seconds until this key's bucket holds one token (0.0 now); takes nothing.

        Lets the gateway refuse an indebted key before reading and parsing its body.
        """
        bucket = self._buckets.get(key_id)
        if (
            bucket is None
            or bucket.rate != (rate or self.default_rate)
            or bucket.burst != (burst or self.default_burst)
        ):
            return 0.0
        bucket._refill(time.monotonic() if now is None else now)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / bucket.rate


def retry_after_header(wait_s: float, minimum: int = 1) -> str:
    """Retry-After wants whole seconds; round up so an obedient client succeeds next time."""
    return str(max(minimum, math.ceil(wait_s)))


class ConcurrencyLimiter:
    """Caps requests in flight in this process; over the cap the gateway answers 503."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
