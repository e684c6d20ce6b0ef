"""``logharbor chaos soak --minutes N --rate R``: steady load, no fault, resources watched.

Every LogHarbor process of the run (shippers, gateways, pipelines) is sampled every
``interval_s`` for resident memory and open file descriptors; the report gives each one's
least-squares slope per minute (a leak shows as steady growth, a warm-up as an early step),
the consumer lag, and the conservation oracle at the end.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ops.chaos.oracle import LineWriter, judge, wait_drained
from ops.chaos.runner import LagSampler, RunClock
from ops.chaos.stack import ChaosStack


def slope_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) points, per minute; None for fewer than 2."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    if var == 0:
        return None
    return 60.0 * sum((t - mx) * (v - my) for t, v in points) / var


def _sample(pid: int) -> tuple[float, float] | None:
    import psutil

    with contextlib.suppress(psutil.Error):
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
        rss = sum(c.memory_info().rss for c in procs)
        fds = sum(c.num_fds() for c in procs)
        return rss / 1e6, float(fds)
    return None


def run_soak(
    os_url: str, bootstrap: str, minutes: float, rate: float, interval_s: float = 5.0, drain_s: float = 240
) -> dict[str, Any]:
    from logharbor.config import OpenSearchSettings
    from opensearch.client import sync_client

    workdir = Path(tempfile.mkdtemp(prefix="logharbor-soak-"))
    stack = ChaosStack(workdir, os_url, bootstrap)
    client = sync_client(OpenSearchSettings(url=os_url))
    seconds = minutes * 60
    try:
        stack.start()
        writer = LineWriter(stack.run_id, stack.files)
        clock = RunClock(seconds)
        lag = LagSampler(stack, clock)
        lag.start()
        series: dict[str, dict[str, list[tuple[float, float]]]] = {
            p.name: {"rss_mb": [], "open_files": []} for p in stack.procs
        }
        next_sample = 0.0
        while clock.now() < seconds:
            due = int(rate * clock.now()) - writer.sent
            if due > 0:
                writer.write(due)
            if clock.now() >= next_sample:
                for p in stack.procs:
                    got = _sample(p.proc.pid) if p.alive() and p.proc else None
                    if got:
                        series[p.name]["rss_mb"].append((clock.now(), got[0]))
                        series[p.name]["open_files"].append((clock.now(), got[1]))
                next_sample += interval_s
            time.sleep(0.1)
        writer.write(int(rate * seconds) - writer.sent)
        writer.close()
        dead = [p.name for p in stack.procs if not p.alive()]
        drained = wait_drained(client, stack.tenant, writer.sent, drain_s)
        lag.stopping.set()
        lag.join(5)
        verdict = judge(client, stack.tenant, stack.run_id, writer.written)
        procs = {}
        for name, s in series.items():
            rss, fds = s["rss_mb"], s["open_files"]
            procs[name] = {
                "samples": len(rss),
                "rss_mb_first": round(rss[0][1], 1) if rss else None,
                "rss_mb_last": round(rss[-1][1], 1) if rss else None,
                "rss_mb_per_min": round(v, 3) if (v := slope_per_min(rss)) is not None else None,
                "open_files_first": int(fds[0][1]) if fds else None,
                "open_files_last": int(fds[-1][1]) if fds else None,
                "open_files_per_min": round(v, 3) if (v := slope_per_min(fds)) is not None else None,
            }
        ok = verdict.lost == 0 and verdict.duplicates == 0 and not dead
        lags = [n for _, n in lag.samples]
        return {
            "scenario": "soak", "ok": ok, "rate": rate, "minutes": minutes,
            **{k: v for k, v in asdict(verdict).items() if k != "missing_sample" or v},
            "max_lag": max(lags, default=None), "final_lag": lags[-1] if lags else None,
            "drain_s": round(drained, 2), "processes": procs, "died": dead,
        }
    finally:
        with contextlib.suppress(Exception):
            stack.close()
        client.close()
        shutil.rmtree(workdir, ignore_errors=True)
