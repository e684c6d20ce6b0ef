"""``--workers auto``: how many pipeline workers the consumer group's lag calls for.

The decision is a pure function (:func:`decide`) so its hysteresis is unit-tested without
Kafka or clocks: one worker more when the group's lag has stayed above ``up_lag`` for
``up_after_s``; one fewer when it has stayed at or below ``down_lag`` for ``down_after_s``;
never two changes within ``cooldown_s`` (a new worker needs a rebalance before it helps, so
judging it sooner would overshoot); never fewer than ``min_workers``, never more than
``max_workers`` nor than the topic's partitions (a worker without a partition only idles).
While the lag is unknown (Kafka unreachable, group never committed) nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ScalePolicy:
    """Bounds and thresholds of the autoscaler (from PipelineSettings)."""

    min_workers: int = 1
    max_workers: int = 4
    up_lag: int = 5_000
    up_after_s: float = 30.0
    down_lag: int = 100
    down_after_s: float = 60.0
    cooldown_s: float = 30.0


@dataclass(frozen=True)
class ScaleState:
    """What the autoscaler remembers between two lag readings."""

    above_since: float | None = None
    below_since: float | None = None
    last_change: float | None = None


def bounds(policy: ScalePolicy, partitions: int | None) -> tuple[int, int]:
    """(low, high) worker counts allowed: the policy's, capped by the partitions when known."""
    high = policy.max_workers if not partitions else min(policy.max_workers, partitions)
    low = min(policy.min_workers, high)
    return max(1, low), max(1, high)


def decide(
    current: int, lag: int | None, partitions: int | None, now: float, policy: ScalePolicy, state: ScaleState
) -> tuple[int, ScaleState]:
    """The worker count wanted now, and the state to pass to the next call."""
    low, high = bounds(policy, partitions)
    if current < low or current > high:  # out of bounds (start, partitions shrank): fix at once
        return max(low, min(high, current)), ScaleState(last_change=now)
    if lag is None:
        return current, replace(state, above_since=None, below_since=None)
    above = state.above_since if lag > policy.up_lag else None
    below = state.below_since if lag <= policy.down_lag else None
    if lag > policy.up_lag and above is None:
        above = now
    if lag <= policy.down_lag and below is None:
        below = now
    state = ScaleState(above_since=above, below_since=below, last_change=state.last_change)
    cooled = state.last_change is None or now - state.last_change >= policy.cooldown_s
    if not cooled:
        return current, state
    if above is not None and now - above >= policy.up_after_s and current < high:
        return current + 1, ScaleState(last_change=now)
    if below is not None and now - below >= policy.down_after_s and current > low:
        return current - 1, ScaleState(last_change=now)
    return current, state
