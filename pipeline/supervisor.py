"""``--workers N``: N pipeline processes in one consumer group, watched by this one.

Python's hot path is CPU-bound, so processes (not threads) scale it. Kafka's group protocol
shares the partitions: when a worker dies its partitions move to the survivors after the
session timeout, and the supervisor starts a replacement (backing off if workers keep dying).
The supervisor serves /health, /ready and /metrics, aggregating the workers' metrics through
prometheus-client's multiprocess mode. With ``--workers auto`` it also reads the group's lag and
adds or retires workers (pipeline/autoscale.py decides; a retired worker gets SIGTERM, finishes
its batch and commits, so scaling loses and doubles nothing).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import time
from typing import Any

from pipeline.settings import PipelineSettings

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _worker_main(index: int, settings_data: dict[str, Any], ready: Any) -> None:
    """Entry point of a worker process (spawned: a fresh interpreter)."""
    logging.basicConfig(
        level=os.environ.get("LOGHARBOR_LOG_LEVEL", "INFO"),
        format=f"%(asctime)s worker-{index} %(levelname)s %(name)s: %(message)s",
    )
    from pipeline.worker import run_pipeline

    settings = PipelineSettings(**settings_data)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_pipeline(settings, stop, serve_http=False, on_ready=ready.set)

    asyncio.run(main())


class Supervisor:
    def __init__(self, settings: PipelineSettings, workers: int) -> None:
        self.settings = settings
        self.count = workers
        self.ctx = mp.get_context("spawn")
        self.procs: dict[int, Any] = {}
        self.ready: dict[int, Any] = {}
        self.crashes: dict[int, list[float]] = {}
        self.restart_at: dict[int, float] = {}
        self.stopping = False
        self.retiring: dict[int, tuple[Any, float]] = {}  # index → (process, SIGTERM time)
        self.scale_events = {"up": 0, "down": 0}
        self.lag: int | None = None
        self.partitions: int | None = None

    def set_count(self, count: int, reason: str = "") -> None:
        """Grow (check() spawns) or shrink (the highest indexes get SIGTERM) the worker count."""
        if count == self.count:
            return
        direction = "up" if count > self.count else "down"
        self.scale_events[direction] += 1
        log.warning("autoscale: workers %d → %d (%s)", self.count, count, reason)
        for index in range(count, self.count):
            proc = self.procs.pop(index, None)
            self.ready.pop(index, None)
            if proc is not None and proc.is_alive():
                proc.terminate()  # finishes its batch and commits; partitions move to the others
                self.retiring[index] = (proc, time.monotonic())
        self.count = count

    def _reap_retiring(self) -> None:
        from prometheus_client import multiprocess

        for index, (proc, since) in list(self.retiring.items()):
            if proc.is_alive() and time.monotonic() - since > 60:
                proc.kill()
            if not proc.is_alive():
                proc.join(1)
                multiprocess.mark_process_dead(proc.pid)
                log.info("retired pipeline worker %d (pid %d, exit %s)", index, proc.pid, proc.exitcode)
                proc.close()
                del self.retiring[index]

    def _spawn(self, index: int) -> None:
        ready = self.ctx.Event()
        data = self.settings.model_dump(mode="json")
        proc = self.ctx.Process(target=_worker_main, args=(index, data, ready), name=f"logharbor-pipeline-{index}")
        proc.start()
        self.procs[index], self.ready[index] = proc, ready
        log.info("started pipeline worker %d (pid %d)", index, proc.pid)

    def ready_state(self) -> tuple[bool, dict[str, Any]]:
        alive = {i: p.is_alive() for i, p in self.procs.items()}
        ready = {i: self.ready[i].is_set() for i in self.procs}
        ok = all(alive.values()) and all(ready.values()) and len(alive) == self.count
        detail: dict[str, Any] = {
            "workers": {str(i): {"pid": self.procs[i].pid, "alive": alive[i], "ready": ready[i]} for i in self.procs}
        }
        if self.settings.autoscale:
            detail["autoscale"] = {
                "target": self.count,
                "min": self.settings.min_workers,
                "max": self.settings.max_workers,
                "partitions": self.partitions,
                "lag": self.lag,
                "retiring": len(self.retiring),
                "scale_events": dict(self.scale_events),
            }
        return ok, detail

    def check(self) -> None:
        """Reap dead workers and (re)start them with backoff."""
        from prometheus_client import multiprocess

        self._reap_retiring()
        now = time.monotonic()
        for index in range(self.count):
            proc = self.procs.get(index)
            if proc is not None and proc.is_alive():
                continue
            if proc is not None:
                log.error("pipeline worker %d (pid %s) exited with %s", index, proc.pid, proc.exitcode)
                multiprocess.mark_process_dead(proc.pid)
                proc.close()
                del self.procs[index]
                recent = [t for t in self.crashes.get(index, []) if now - t < 300] + [now]
                self.crashes[index] = recent
                self.restart_at[index] = now + min(60.0, 2.0 ** (len(recent) - 1))
            if self.stopping or (not self.settings.restart_crashed_workers and index in self.crashes):
                continue
            if now >= self.restart_at.get(index, 0.0):
                self._spawn(index)

    def terminate(self, timeout: float = 40.0) -> None:
        self.stopping = True
        procs = list(self.procs.values()) + [p for p, _ in self.retiring.values()]
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: the worker finishes its batch and commits
        deadline = time.monotonic() + timeout
        for proc in procs:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5)


async def _supervise(sup: Supervisor, stop: asyncio.Event) -> None:
    from prometheus_client import CollectorRegistry, multiprocess

    from pipeline.server import start_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(SupervisorCollector(sup))
    runner = await start_server(sup.settings.http_host, sup.settings.http_port, sup.ready_state, registry)
    scaler = asyncio.create_task(autoscale_loop(sup, stop), name="autoscale") if sup.settings.autoscale else None
    try:
        while not stop.is_set():
            sup.check()
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                pass
    finally:
        if scaler is not None:
            await scaler
        await runner.cleanup()
        await asyncio.to_thread(sup.terminate)


class SupervisorCollector:
    """The supervisor's own series: worker count, the lag it scales on, scale events."""

    def __init__(self, sup: Supervisor) -> None:
        self.sup = sup

    def collect(self) -> Any:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        yield GaugeMetricFamily(
            "logharbor_pipeline_workers", "Pipeline worker processes wanted by the supervisor", value=self.sup.count
        )
        alive = sum(1 for p in self.sup.procs.values() if p.is_alive())
        yield GaugeMetricFamily("logharbor_pipeline_workers_alive", "Pipeline worker processes alive", value=alive)
        if self.sup.settings.autoscale:
            yield GaugeMetricFamily(
                "logharbor_pipeline_group_lag",
                "Consumer group lag on the raw topic as read by the autoscaler (-1 unknown)",
                value=-1 if self.sup.lag is None else self.sup.lag,
            )
            c = CounterMetricFamily(
                "logharbor_pipeline_autoscale_events", "Worker count changes by the autoscaler", labels=["direction"]
            )
            for direction, n in self.sup.scale_events.items():
                c.add_metric([direction], n)
            yield c


async def autoscale_loop(sup: Supervisor, stop: asyncio.Event) -> None:
    """Read the lag every ``autoscale_check_s`` and apply :func:`pipeline.autoscale.decide`."""
    from logharbor.config import KafkaSettings
    from logharbor.consumer_group import pipeline_consumer_group
    from pipeline.autoscale import ScalePolicy, ScaleState, decide
    from pipeline.group_lag import GroupLagReader

    s = sup.settings
    kafka = KafkaSettings()
    reader = GroupLagReader(kafka.bootstrap, pipeline_consumer_group(kafka, s.consumer_group),
                            s.topic or kafka.raw_topic)
    policy = ScalePolicy(
        min_workers=s.min_workers,
        max_workers=s.max_workers,
        up_lag=s.autoscale_up_lag,
        up_after_s=s.autoscale_up_after_s,
        down_lag=s.autoscale_down_lag,
        down_after_s=s.autoscale_down_after_s,
        cooldown_s=s.autoscale_cooldown_s,
    )
    state = ScaleState()
    try:
        while not stop.is_set():
            sup.lag, parts = await reader.read()
            sup.partitions = parts or sup.partitions
            target, state = decide(sup.count, sup.lag, sup.partitions, time.monotonic(), policy, state)
            if target != sup.count:
                sup.set_count(target, f"lag {sup.lag}, {sup.partitions} partitions")
            try:
                await asyncio.wait_for(stop.wait(), timeout=s.autoscale_check_s)
            except TimeoutError:
                pass
    finally:
        await reader.close()


def run_workers(settings: PipelineSettings, workers: int) -> int:
    """Run ``workers`` processes until SIGTERM/SIGINT; returns the exit code."""
    own_dir = None
    if not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="logharbor-pipeline-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir  # inherited by the spawned workers
    sup = Supervisor(settings, workers)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await _supervise(sup, stop)

    try:
        asyncio.run(main())
    finally:
        if own_dir:
            shutil.rmtree(own_dir, ignore_errors=True)
    return 0
