"""The autoscaler's decision (pipeline/autoscale.py): hysteresis, cooldown, bounds."""

from __future__ import annotations

from pipeline.autoscale import ScalePolicy, ScaleState, bounds, decide
from pipeline.cli import _workers_arg

P = ScalePolicy(min_workers=1, max_workers=4, up_lag=1000, up_after_s=10, down_lag=10, down_after_s=20, cooldown_s=5)


def run(readings: list[tuple[float, int | None]], current: int = 1, partitions: int | None = 6) -> list[int]:
    """Feed (time, lag) readings; the worker count after each."""
    state, out = ScaleState(), []
    for now, lag in readings:
        current, state = decide(current, lag, partitions, now, P, state)
        out.append(current)
    return out


def test_high_lag_must_last_before_scaling_up() -> None:
    assert run([(0, 5000), (5, 5000), (9.9, 5000)]) == [1, 1, 1]
    assert run([(0, 5000), (5, 5000), (10, 5000)]) == [1, 1, 2]


def test_a_dip_restarts_the_clock() -> None:
    assert run([(0, 5000), (8, 500), (12, 5000), (20, 5000), (22, 5000)]) == [1, 1, 1, 1, 2]


def test_cooldown_then_fresh_window_between_steps() -> None:
    counts = run([(t, 5000) for t in range(0, 40, 1)])
    # +1 at t=10, then a fresh 10 s window from the next reading (t=11): t=21, t=32
    assert counts[9] == 1 and counts[10] == 2 and counts[20] == 2 and counts[21] == 3 and counts[32] == 4
    eager = ScalePolicy(max_workers=4, up_lag=1000, up_after_s=0, cooldown_s=5)
    state, current, out = ScaleState(), 1, []
    for t in range(0, 12):
        current, state = decide(current, 5000, 6, t, eager, state)
        out.append(current)
    assert out == [2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4]  # one step per cooldown, however high the lag


def test_never_above_max_nor_partitions() -> None:
    assert run([(t, 10**6) for t in range(0, 200, 1)])[-1] == 4
    assert run([(t, 10**6) for t in range(0, 200, 1)], partitions=3)[-1] == 3
    assert bounds(P, 2) == (1, 2)
    assert bounds(ScalePolicy(min_workers=3, max_workers=4), 2) == (2, 2)


def test_scale_down_only_after_lag_stays_near_zero() -> None:
    assert run([(0, 0), (10, 5), (19, 0)], current=3) == [3, 3, 3]
    assert run([(0, 0), (10, 5), (20, 0)], current=3) == [3, 3, 2]
    assert run([(0, 0), (15, 50), (30, 0), (49, 0), (50, 0)], current=3) == [3, 3, 3, 3, 2]
    assert run([(t, 0) for t in range(0, 200, 1)], current=4)[-1] == 1  # down to min, not below


def test_between_thresholds_holds_still() -> None:
    assert run([(t, 500) for t in range(0, 100, 1)], current=2)[-1] == 2


def test_unknown_lag_changes_nothing_and_resets_the_windows() -> None:
    assert run([(0, 5000), (5, None), (10, 5000), (19, 5000), (20, 5000)]) == [1, 1, 1, 1, 2]


def test_out_of_bounds_is_fixed_at_once() -> None:
    assert run([(0, 500)], current=6, partitions=3) == [3]


def test_workers_argument() -> None:
    assert _workers_arg("auto") == "auto"
    assert _workers_arg("3") == 3
    for bad in ("0", "many"):
        try:
            _workers_arg(bad)
        except Exception as exc:
            assert "--workers" in str(exc)
        else:
            raise AssertionError(bad)
