"""The pure figures of ``ops/bench/scaling.py`` (issue 20): CPU per event, paired ratios, the
derived sizing sentences. Apart from the bench so they are unit-tested without a stack and the
bench module stays about measuring."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def us_per_event(cpu_s: float, events: int) -> float:
    """CPU microseconds per event; NaN when no event was handled (an idle process has no cost)."""
    return cpu_s / events * 1e6 if events > 0 else float("nan")


def net_us_per_event(cpu_s: float, idle_cores: float, seconds: float, events: int) -> float:
    """CPU µs per event after taking out what the process burns with no traffic at all
    (``idle_cores`` × ``seconds``): a JVM's background is a fixed cost per cluster, not per event."""
    return us_per_event(max(0.0, cpu_s - idle_cores * seconds), events)


def events_per_core(us: float) -> float:
    """Events/s one fully available core sustains at ``us`` CPU µs per event."""
    return 1e6 / us if us > 0 and not math.isnan(us) else float("nan")


def split_evenly(total: int, parts: int) -> list[int]:
    """``total`` clients over ``parts`` (gateway, key) pairs, the remainder to the first ones."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def busy_share(before: Sequence[float], after: Sequence[float]) -> float:
    """Share of the box's CPU time that was not idle between two ``psutil.cpu_times()`` tuples
    (fields in psutil's order: user, nice, system, idle, iowait, ...)."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta)
    idle = delta[3] + (delta[4] if len(delta) > 4 else 0.0)
    return (total - idle) / total if total > 0 else float("nan")


def _r(x: float, digits: int | None = None) -> float | int | None:
    """``round`` that keeps JSON valid: None for NaN (a figure that could not be measured)."""
    if x is None or math.isnan(x):
        return None
    return round(x, digits) if digits is not None else round(x)


def _median(values: Iterable[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return statistics.median(vals) if vals else float("nan")


def paired_ratio(runs: Sequence[Mapping[str, Any]], role: str) -> dict[str, Any]:
    """events/s with 2 processes ÷ with 1, paired per round (a slow spell hits both of a pair)."""
    by_round: dict[int, dict[int, float]] = {}
    for r in runs:
        if r["role"] == role:
            by_round.setdefault(r["round"], {})[r["processes"]] = r["events_per_s"]
    ratios = [p[2] / p[1] for p in by_round.values() if p.get(1) and p.get(2)]
    return {"per_round": [round(x, 3) for x in ratios], "median": _r(_median(ratios), 3) if ratios else None}


def _server_us(run: Mapping[str, Any], server: str) -> float:
    """A server's µs/event of a run, net of its idle background when that was measured."""
    fig = run["servers"][server]
    net = fig.get("net_cpu_us_per_event")
    return float(net) if net is not None else float(fig["cpu_us_per_event"])


def derive(runs: Sequence[Mapping[str, Any]], cores: int) -> dict[str, Any]:
    """The sizing figures of a run: per role, medians over rounds of the per-process CPU µs/event
    (1 and 2 processes), the servers' µs/event (net of their idle background), the 2 ÷ 1 events/s
    ratio, the CPU a whole event
    costs on this stack and the ceiling that gives on ``cores`` cores."""
    out: dict[str, Any] = {"cores": cores}
    for role, servers in (("gateway", ("kafka",)), ("pipeline", ("opensearch", "kafka"))):
        mine = [r for r in runs if r["role"] == role]
        if not mine:
            continue
        per: dict[str, Any] = {}
        for n in (1, 2):
            these = [r for r in mine if r["processes"] == n]
            if not these:
                continue
            proc_us = _median(p["cpu_us_per_event"] for r in these for p in r["per_process"])
            per[str(n)] = {
                "events_per_s": _r(_median(r["events_per_s"] for r in these)),
                "process_cpu_us_per_event": _r(proc_us, 1),
                **{f"{s}_cpu_us_per_event": _r(_median(_server_us(r, s) for r in these), 1) for s in servers},
                "box_busy": _r(_median(r["box_busy"] for r in these), 3),
                "stack_cores": _r(_median(r.get("stack_cores", float("nan")) for r in these), 2),
            }
        # the sizing figure: per-process CPU per event, all runs of the role pooled
        proc_us = _median(p["cpu_us_per_event"] for r in mine for p in r["per_process"])
        server_us = {s: _median(_server_us(r, s) for r in mine) for s in servers}
        # what one event costs on this box along this leg, every process counted once
        path_us = proc_us + sum(server_us.values()) + _median(r["loadgen_cpu_us_per_event"] for r in mine)
        best = max((r["events_per_s"] for r in mine), default=0)
        ceiling = cores * events_per_core(path_us)
        out[role] = {
            "by_processes": per,
            "ratio_2_over_1": paired_ratio(runs, role),
            "process_cpu_us_per_event": _r(proc_us, 1),
            "events_per_s_per_core_per_process": _r(events_per_core(proc_us)),
            **{f"{s}_cpu_us_per_event": _r(v, 1) for s, v in server_us.items()},
            "path_cpu_us_per_event": _r(path_us, 1),
            "box_ceiling_events_per_s": _r(ceiling),
            "best_share_of_ceiling": _r(best / ceiling, 2) if ceiling > 0 else None,
            "stack_cores": _r(_median(r.get("stack_cores", float("nan")) for r in mine), 2),
        }
    return out


def _f(x: Any, spec: str = ",.0f") -> str:
    """A figure for a sentence; "n/a" when it could not be measured."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return format(x, spec)


def sizing_lines(derived: Mapping[str, Any]) -> list[str]:
    """The honest reading of :func:`derive`'s figures, one sentence per line."""
    cores = derived["cores"]
    lines = []
    names = {"gateway": ("gateway", "Kafka's 3 brokers", "kafka", "the Kafka brokers saturate"),
             "pipeline": ("pipeline", "OpenSearch's 3 nodes", "opensearch",
                          "there are more processes than raw partitions or OpenSearch indexing saturates")}
    for role in ("gateway", "pipeline"):
        d = derived.get(role)
        if not d:
            continue
        what, servers, server, limit = names[role]
        by = d["by_processes"]
        ratio = d["ratio_2_over_1"]["median"]
        if "1" in by and "2" in by:
            lines.append(
                f"{what}s 1 → 2: {_f(by['1']['events_per_s'])} → {_f(by['2']['events_per_s'])} events/s "
                f"(×{_f(ratio, '.2f')} paired per round), box CPU busy {_f(by['1']['box_busy'], '.0%')} → "
                f"{_f(by['2']['box_busy'], '.0%')}: on {cores} cores a second process has no core of its own — "
                f"it shares them with the JVMs and the load generator — so it cannot double the rate.")
        server_us = d.get(f"{server}_cpu_us_per_event")
        lines.append(
            f"sizing: one {what} process costs {_f(d['process_cpu_us_per_event'])} µs CPU per event → one core "
            f"takes ≈ {_f(d['events_per_s_per_core_per_process'])} events/s per {what} process; a box with K spare "
            f"cores takes ≈ K × that with K {what} processes until {limit} ({servers}: {_f(server_us)} µs CPU "
            f"per event, i.e. "
            f"{_f(server_us / 100 if server_us is not None else None, '.2f')} cores per 10,000 events/s).")
        lines.append(
            f"this box: the whole {what} leg costs {_f(d['path_cpu_us_per_event'])} µs CPU per event (every "
            f"process of the run's stack counted once) → {cores} cores top out near "
            f"{_f(d['box_ceiling_events_per_s'])} events/s whatever the number of {what} processes; the best run "
            f"reached {_f(d['best_share_of_ceiling'], '.0%')} of that, with the run's stack getting "
            f"{_f(d.get('stack_cores'), '.2f')} of the {cores} cores (median; the rest went to other work on the box).")
    return lines


def clean(obj: Any) -> Any:
    """NaN → None throughout, so the JSON summary is valid JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, Mapping):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    return obj
