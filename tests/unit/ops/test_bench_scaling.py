"""The scaling benchmark's arithmetic (ops/bench/scaling.py): no stack, no timing.

What could break and would silently move the sizing figures: CPU per event divided by the wrong
events (the whole run's instead of the process's own), ratios taken of medians instead of per
round, a NaN from an idle process poisoning a median or the JSON, keys that share a partition.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from ops.bench.scaling import (
    busy_share,
    clean,
    derive,
    events_per_core,
    net_us_per_event,
    paired_ratio,
    sizing_lines,
    sources_per_partition,
    split_evenly,
    us_per_event,
)


def _run(role: str, n: int, rnd: int, rate: float, per_us: list[float], server_us: dict[str, float],
         busy: float = 0.98, loadgen: float = 0.0) -> dict[str, Any]:
    return {
        "role": role, "processes": n, "round": rnd, "events_per_s": rate,
        "per_process": [{"name": f"{role}-{i}", "events": 1000, "cpu_us_per_event": us} for i, us in enumerate(per_us)],
        "servers": {s: {"cpu_us_per_event": v} for s, v in server_us.items()},
        "loadgen_cpu_us_per_event": loadgen, "box_busy": busy, "stack_cores": 0.9,
    }


def test_per_event_and_per_core() -> None:
    assert us_per_event(0.5, 10_000) == 50.0
    assert math.isnan(us_per_event(1.0, 0))  # an idle process has no per-event cost, not an infinite one
    assert events_per_core(50.0) == 20_000
    assert math.isnan(events_per_core(float("nan")))
    assert math.isnan(events_per_core(0.0))


def test_clients_split_over_gateway_key_pairs() -> None:
    assert split_evenly(36, 6) == [6] * 6
    assert split_evenly(36, 12) == [3] * 12
    assert split_evenly(10, 4) == [3, 3, 2, 2]
    assert sum(split_evenly(7, 12)) == 7


def test_busy_share_counts_iowait_as_idle() -> None:
    # user, nice, system, idle, iowait
    assert busy_share((0, 0, 0, 0, 0), (6, 0, 2, 1, 1)) == 0.8
    assert math.isnan(busy_share((1, 1, 1, 1, 1), (1, 1, 1, 1, 1)))


def test_ratio_is_paired_per_round() -> None:
    runs = [_run("gateway", 1, 0, 1000, [50], {"kafka": 30}), _run("gateway", 2, 0, 1500, [50, 50], {"kafka": 30}),
            _run("gateway", 2, 1, 600, [50, 50], {"kafka": 30}), _run("gateway", 1, 1, 500, [50], {"kafka": 30}),
            _run("pipeline", 1, 0, 9999, [100], {"kafka": 1, "opensearch": 1})]
    r = paired_ratio(runs, "gateway")
    assert r["per_round"] == [1.5, 1.2]  # not median(2 procs) / median(1 proc) = 1050 / 750 = 1.4
    assert r["median"] == 1.35
    assert paired_ratio(runs[:1], "gateway") == {"per_round": [], "median": None}


def test_derive_pools_every_process_and_prices_the_whole_leg() -> None:
    runs = [
        _run("pipeline", 1, 0, 1000, [200], {"opensearch": 700, "kafka": 40}, busy=0.97, loadgen=10),
        _run("pipeline", 2, 0, 1100, [220, 240], {"opensearch": 720, "kafka": 40}, busy=0.99, loadgen=10),
        _run("pipeline", 2, 1, 1000, [float("nan"), 230], {"opensearch": 680, "kafka": 40}, busy=0.99, loadgen=10),
        _run("pipeline", 1, 1, 900, [210], {"opensearch": 700, "kafka": 40}, busy=0.98, loadgen=10),
    ]
    d = derive(runs, cores=2)
    p = d["pipeline"]
    assert "gateway" not in d
    assert p["process_cpu_us_per_event"] == 220.0  # median of 200, 220, 240, 230, 210 (the NaN left out)
    assert p["events_per_s_per_core_per_process"] == round(1e6 / 220)
    assert p["by_processes"]["1"]["process_cpu_us_per_event"] == 205.0
    assert p["by_processes"]["2"]["process_cpu_us_per_event"] == 230.0
    assert p["by_processes"]["2"]["events_per_s"] == 1050
    assert p["opensearch_cpu_us_per_event"] == 700.0
    assert p["path_cpu_us_per_event"] == 220 + 700 + 40 + 10
    assert p["box_ceiling_events_per_s"] == round(2e6 / 970)
    assert p["best_share_of_ceiling"] == round(1100 / (2e6 / 970), 2)
    assert p["ratio_2_over_1"]["per_round"] == [1.1, round(1000 / 900, 3)]
    assert p["stack_cores"] == 0.9
    lines = sizing_lines(d)
    assert any("4,545 events/s per pipeline process" in line for line in lines)  # 1e6 / 220
    assert any("7.00 cores per 10,000 events/s" in line for line in lines)  # 700 µs × 10,000 / 1e6


def test_server_figures_are_net_of_idle_when_measured() -> None:
    assert net_us_per_event(3.0, 0.1, 10.0, 10_000) == 200.0  # (3 s − 0.1 core × 10 s) / 10,000
    assert net_us_per_event(0.5, 0.1, 10.0, 10_000) == 0.0  # never below zero
    run = _run("gateway", 1, 0, 1000, [40], {"kafka": 30})
    run["servers"]["kafka"]["net_cpu_us_per_event"] = 20.0
    assert derive([run], cores=2)["gateway"]["kafka_cpu_us_per_event"] == 20.0


def test_unmeasured_figures_read_as_na_and_the_json_stays_valid() -> None:
    runs = [_run("gateway", 1, 0, 0, [float("nan")], {"kafka": float("nan")})]
    d = derive(runs, cores=2)
    assert d["gateway"]["process_cpu_us_per_event"] is None
    text = " ".join(sizing_lines(d))
    assert "n/a" in text
    json.loads(json.dumps(clean({"runs": runs, "derived": d}), allow_nan=False))


def test_one_source_per_partition() -> None:
    names = sources_per_partition(6, "bench")
    part = DefaultPartitioner()
    assert [part(n.encode(), list(range(6)), list(range(6))) for n in names] == list(range(6))
    assert sources_per_partition(6, "bench") == names  # stable across runs: murmur2, not Python's hash
