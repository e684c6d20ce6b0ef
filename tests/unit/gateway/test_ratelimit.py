"""Token buckets counted in events, and the per-process concurrency cap."""

from __future__ import annotations

from gateway.ratelimit import ConcurrencyLimiter, KeyRateLimiter, TokenBucket, retry_after_header


def test_bucket_allows_burst_then_refills_at_rate() -> None:
    b = TokenBucket.full(rate=100, burst=500, now=0.0)
    assert b.take(500, now=0.0) == 0.0
    wait = b.take(100, now=0.0)
    assert wait == 1.0  # 100 events at 100/s
    assert b.take(100, now=0.5) == 0.5
    assert b.take(100, now=1.0) == 0.0


def test_bucket_never_exceeds_burst_after_idle() -> None:
    b = TokenBucket.full(rate=10, burst=20, now=0.0)
    b.take(20, now=0.0)
    b.take(1, now=1000.0)
    assert b.tokens == 19


def test_batch_bigger_than_burst_passes_once_from_a_full_bucket_and_leaves_debt() -> None:
    b = TokenBucket.full(rate=10, burst=20, now=0.0)
    assert b.take(50, now=0.0) == 0.0
    assert b.tokens == -30
    assert b.take(1, now=0.0) == 3.1  # repay 30 then 1 more, at 10/s


def test_long_run_average_holds() -> None:
    b = TokenBucket.full(rate=1000, burst=5000, now=0.0)
    admitted, t = 0, 0.0
    while t < 10.0:
        if b.take(100, now=t) == 0.0:
            admitted += 100
        t += 0.001
    assert 14_000 <= admitted <= 15_100  # 5000 burst + 10 s x 1000/s


def test_limiter_keeps_buckets_per_key_and_honours_overrides() -> None:
    lim = KeyRateLimiter(default_rate=10, default_burst=10)
    assert lim.check("a", 10, now=0.0) == 0.0
    assert lim.check("a", 1, now=0.0) > 0
    assert lim.check("b", 10, now=0.0) == 0.0  # another key has its own bucket
    assert lim.check("c", 100, rate=1000, burst=100, now=0.0) == 0.0
    assert lim.check("c", 100, rate=1000, burst=100, now=0.0) == 0.1


def test_limiter_memory_is_bounded() -> None:
    lim = KeyRateLimiter(default_rate=10, default_burst=10, max_keys=100)
    for i in range(1000):
        lim.check(f"k{i}", 1, now=0.0)
    assert len(lim._buckets) <= 100


def test_retry_after_rounds_up() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(2.2) == "3"
    assert retry_after_header(0.2, minimum=5) == "5"


def test_concurrency_limiter() -> None:
    c = ConcurrencyLimiter(2)
    assert c.try_acquire() and c.try_acquire()
    assert not c.try_acquire()
    c.release()
    assert c.try_acquire()
    assert c.in_flight == 2


def test_wait_for_one_peeks_without_taking() -> None:
    lim = KeyRateLimiter(default_rate=10, default_burst=10)
    assert lim.wait_for_one("a", now=0.0) == 0.0  # unknown key: not limited
    lim.check("a", 30, now=0.0)  # overdraw to -20
    assert lim.wait_for_one("a", now=0.0) == 2.1
    assert lim.wait_for_one("a", now=0.0) == 2.1  # peeking took nothing
    assert lim.wait_for_one("a", now=2.1) == 0.0
