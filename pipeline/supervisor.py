"""``--workers N``: N pipeline processes in one consumer group, watched by this one.

Python's hot path is CPU-bound, so processes (not threads) scale it. Kafka's group protocol
shares the partitions: when a worker dies its partitions move to the survivors after the
session timeout, and the supervisor starts a replacement (backing off if workers keep dying).
The supervisor serves /health, /ready and /metrics, aggregating the workers' metrics through
prometheus-client's multiprocess mode.
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
        return ok, {
            "workers": {str(i): {"pid": self.procs[i].pid, "alive": alive[i], "ready": ready[i]} for i in self.procs}
        }

    def check(self) -> None:
        """Reap dead workers and (re)start them with backoff."""
        from prometheus_client import multiprocess

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
        for proc in self.procs.values():
            if proc.is_alive():
                proc.terminate()  # SIGTERM: the worker finishes its batch and commits
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(5)


async def _supervise(sup: Supervisor, stop: asyncio.Event) -> None:
    from prometheus_client import CollectorRegistry, multiprocess

    from pipeline.server import start_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    runner = await start_server(sup.settings.http_host, sup.settings.http_port, sup.ready_state, registry)
    try:
        while not stop.is_set():
            sup.check()
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                pass
    finally:
        await runner.cleanup()
        await asyncio.to_thread(sup.terminate)


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
