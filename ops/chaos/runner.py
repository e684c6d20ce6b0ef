"""Run one scenario: start the stack, drive a steady load, apply the fault, drain, judge.

The load is bounded (``rate`` × ``seconds`` lines) and so is the drain (``drain_s``), so a run stops by itself.
The consumer group's lag is sampled every half second (the reader the autoscaler uses) for
``max_lag`` and ``recovery_s``: seconds from the scenario's ``heal`` mark until the lag is
back under ``rate`` lines (about one second of traffic).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ops.chaos.oracle import LineWriter, judge, wait_drained
from ops.chaos.scenarios import Scenario
from ops.chaos.stack import ChaosStack


class RunClock:
    """Times relative to the start of the load; marks what the scenario did and when."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.t0 = time.monotonic()
        self.marks: dict[str, float] = {}

    def now(self) -> float:
        return time.monotonic() - self.t0

    def at(self, fraction: float) -> None:
        delay = fraction * self.seconds - self.now()
        if delay > 0:
            time.sleep(delay)

    def mark(self, name: str) -> None:
        self.marks[name] = round(self.now(), 2)


class LagSampler(threading.Thread):
    """Samples the group's lag in a thread of its own (its own event loop)."""

    def __init__(self, stack: ChaosStack, clock: RunClock) -> None:
        super().__init__(daemon=True, name="chaos-lag")
        self.stack, self.clock = stack, clock
        self.samples: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        from pipeline.group_lag import GroupLagReader

        async def loop() -> None:
            reader = GroupLagReader(self.stack.bootstrap, self.stack.group, self.stack.raw)
            try:
                while not self.stopping.is_set():
                    lag, _ = await reader.read()
                    if lag is not None:
                        self.samples.append((self.clock.now(), lag))
                    await asyncio.sleep(0.5)
            finally:
                await reader.close()

        asyncio.run(loop())

    def wait_below(self, bound: int, within_s: float) -> None:
        """Wait (at most ``within_s``) until a sample at or under ``bound`` has been taken."""
        deadline = time.monotonic() + within_s
        seen = max(len(self.samples) - 1, 0)  # from the last sample taken before the drain ended
        while time.monotonic() < deadline and self.is_alive():
            if any(n <= bound for _, n in self.samples[seen:]):
                return
            time.sleep(0.25)

    def recovery_s(self, heal_at: float | None, bound: int) -> float | None:
        if heal_at is None:
            return None
        for t, lag in self.samples:
            if t >= heal_at and lag <= bound:
                return round(t - heal_at, 2)
        if self.samples and self.samples[-1][0] < heal_at and self.samples[-1][1] <= bound:
            return 0.0  # healed after the drain had already finished: nothing left to recover
        return None


def run_scenario(
    scenario: Scenario, os_url: str, bootstrap: str, rate: float = 400, seconds: float = 30,
    drain_s: float = 120, workdir: Path | None = None, fault_s: float | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` once; the summary dict (``ok`` is the oracle's verdict)."""
    from logharbor.config import OpenSearchSettings
    from opensearch.client import sync_client

    own = workdir is None
    workdir = workdir or Path(tempfile.mkdtemp(prefix="logharbor-chaos-"))
    stack = ChaosStack(workdir, os_url, bootstrap, own_kafka=scenario.own_kafka, netns=scenario.netns,
                       own_opensearch=scenario.own_opensearch, opensearch_nodes=scenario.opensearch_nodes)
    stack.fault_s = fault_s
    client: Any = None
    errors: list[str] = []
    try:
        stack.start()
        # the judge reads the stack's OpenSearch (the run's own node for opensearch-* scenarios);
        # a long timeout: the first requests after a pause meet a node catching up
        client = sync_client(OpenSearchSettings(url=stack.os_url, timeout_s=60))
        writer = LineWriter(stack.run_id, stack.files)
        clock = RunClock(seconds)
        lag = LagSampler(stack, clock)
        lag.start()

        def fault() -> None:
            try:
                scenario.apply(stack, clock)
            except Exception as exc:  # reported in the summary; the oracle still runs
                errors.append(f"{type(exc).__name__}: {exc}")

        faulter = threading.Thread(target=fault, daemon=True, name="chaos-fault")
        faulter.start()
        # Steady load: exactly rate × seconds lines (rate × elapsed written so far, every 0.1 s).
        # A fault still at work when the load ends (slow restarts on a busy box) finishes during
        # the drain, against the backlog; the summary's marks say when each step happened.
        while clock.now() < seconds:
            due = int(rate * clock.now()) - writer.sent
            if due > 0:
                writer.write(due)
            time.sleep(0.1)
        writer.write(int(rate * seconds) - writer.sent)
        writer.close()
        load_end = clock.now()
        faulter.join(timeout=300)
        if faulter.is_alive():
            errors.append("the scenario was still running 300 s after the load ended")
        for p in stack.procs:  # whatever a scenario left dead is restarted before the drain
            if not p.alive():
                errors.append(f"{p.name} was not running after the scenario; restarted")
                p.start()
        drained = wait_drained(client, stack.tenant, writer.sent, drain_s)
        # every line may be searchable before the pipelines' last offset commit: give the lag a
        # few seconds to follow, so recovery_s is measured, not null, when the backlog drained late
        lag.wait_below(int(rate), 15.0)
        lag.stopping.set()
        lag.join(5)
        verdict = judge(client, stack.tenant, stack.run_id, writer.written)
        ok = verdict.duplicates == 0 and verdict.lost <= scenario.max_loss and not errors
        return {
            "scenario": scenario.name,
            "ok": ok,
            "rate": rate,
            "seconds": seconds,
            **{k: v for k, v in asdict(verdict).items() if k != "missing_sample" or v},
            "allowed_loss": scenario.max_loss,
            "max_lag": max((n for _, n in lag.samples), default=None),
            "recovery_s": lag.recovery_s(clock.marks.get("heal"), int(rate)),
            "drain_s": round(drained, 2),
            "load_s": round(load_end, 2),
            "marks": clock.marks,
            "restarts": {p.name: p.starts - 1 for p in stack.procs if p.starts > 1}
            | ({"kafka": stack.kafka_starts - 1} if stack.kafka_starts > 1 else {}),
            "errors": errors,
            **({"fault_s": fault_s} if fault_s is not None else {}),
        }
    finally:
        with contextlib.suppress(Exception):
            stack.close()
        if client is not None:
            client.close()
        if own:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
