"""The shipper process: wires sources → batcher → sender, keeps checkpoints and the status file.

Reads like the data-flow line in docs/ARCHITECTURE.md §1: every source task puts events into one bounded
batcher; one sender task turns batches into POSTs (or spool files); commits flow back to the
sources in batch order; a checkpoint task saves positions; a status task writes
``data_dir/status.json`` for ``logharbor shipper --status``. SIGTERM/SIGINT stop the sources,
flush what they hold, deliver or spool the last batches and save checkpoints before exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from typing import Any

import orjson

from shipper.batcher import Batcher
from shipper.checkpoint import CheckpointStore, atomic_write
from shipper.config import ShipperConfig
from shipper.metrics import Metrics
from shipper.sender import CommitSequencer, GatewayClient, Sender, rejected_count
from shipper.source_types import SOURCE_TYPES
from shipper.sources.base import SourceBase
from shipper.spool import Spool

log = logging.getLogger("logharbor.shipper")

STATUS_FILE = "status.json"


def build_sources(cfg: ShipperConfig, store: CheckpointStore, metrics: Metrics) -> list[SourceBase]:
    """One collector per configured source, in config order (types: ``shipper/source_types.py``)."""
    out: list[SourceBase] = []
    for sc in cfg.sources:
        kind = SOURCE_TYPES[sc.type]
        if kind.checkpointed:
            out.append(kind.source(sc, cfg.host, store, metrics))
        else:
            out.append(kind.source(sc, cfg.host, metrics))
    return out


class Shipper:
    """One running agent."""

    def __init__(self, cfg: ShipperConfig) -> None:
        self.cfg = cfg
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self.metrics = Metrics()
        self.store = CheckpointStore(cfg.data_dir / "checkpoints.json")
        self.batcher = Batcher(cfg.batch, self.metrics)
        self.sources = build_sources(cfg, self.store, self.metrics)
        self._sequencer = CommitSequencer()
        self._stop = asyncio.Event()
        self._started_at = time.time()
        self.sender: Sender | None = None

    def request_stop(self) -> None:
        """Begin a clean shutdown (signal handler, tests)."""
        if not self._stop.is_set():
            log.info("stopping: flushing batches and saving checkpoints")
        self._stop.set()

    async def run(self) -> int:
        cfg = self.cfg
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.request_stop)
        gw = cfg.gateway
        client = GatewayClient(gw.all_urls(), gw.api_key, gw.timeout_s,
                               str(gw.ca_file) if gw.ca_file else None, gw.tls_verify)
        await client.start()
        spool = Spool(cfg.data_dir / "spool", cfg.spool.max_bytes, self.metrics)
        self.sender = sender = Sender(cfg, client, spool, self.metrics, self._sequencer.complete)
        if len(spool):
            log.info("spooled batches from a previous run will be resent", extra={"batches": len(spool)})
        metrics_server = await self._start_metrics_server()
        source_tasks = [asyncio.create_task(s.run(sink), name=f"source:{s.name}")
                        for s, sink in zip(self.sources, self._sinks(), strict=True)]
        send_task = asyncio.create_task(sender.run(self.batcher), name="sender")
        background = [
            asyncio.create_task(sender.resend_loop(), name="resend"),
            asyncio.create_task(sender.probe_loop(), name="probe"),
            asyncio.create_task(self._every(cfg.checkpoint_interval_s, self.store.save), name="checkpoints"),
            asyncio.create_task(self._every(cfg.status_interval_s, self.write_status), name="status"),
        ]
        log.info("shipper started", extra={"sources": [s.name for s in self.sources],
                                           "gateways": client.urls, "pid": os.getpid()})
        exit_code = 0
        stop_wait = asyncio.create_task(self._stop.wait())
        pending_sources = set(source_tasks)
        while not self._stop.is_set():
            done, _ = await asyncio.wait({stop_wait, *pending_sources}, return_when=asyncio.FIRST_COMPLETED)
            for task in done & pending_sources:
                pending_sources.discard(task)
                if task.exception() is not None:
                    # e.g. a listen port in use: the other sources keep running; --status shows it.
                    source = self.sources[source_tasks.index(task)]
                    source.last_error = f"source stopped: {task.exception()!r}"
                    log.error("source failed", extra={"source": source.name, "error": repr(task.exception())})
                    exit_code = 1
            if not pending_sources:  # every source ended (stdin closed): finish up
                self._stop.set()
        # Shutdown: sources flush, then the batcher drains, the sender delivers or spools.
        for s in self.sources:
            s.stop()
        await asyncio.wait(source_tasks, timeout=cfg.shutdown_timeout_s)
        self.batcher.close()
        sender.stopping.set()  # one attempt per remaining batch, then spool
        try:
            await asyncio.wait_for(send_task, cfg.shutdown_timeout_s)
        except TimeoutError:
            log.error("shutdown timed out with batches undelivered; they will be re-read on restart")
        for task in [*background, stop_wait, *source_tasks]:
            task.cancel()
        await asyncio.gather(*background, stop_wait, *source_tasks, return_exceptions=True)
        self.store.save()
        self.write_status()
        await client.close()
        if metrics_server is not None:
            metrics_server.close()
        log.info("shipper stopped", extra={"events_sent": self.metrics.get("events_sent_total")})
        return exit_code

    async def _every(self, interval: float, fn: Any) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                fn()
            except OSError as exc:
                log.error("periodic write failed", extra={"what": fn.__name__, "error": str(exc)})

    def _sinks(self) -> list[Any]:
        """The batcher for each source, behind its ``meta`` (shipper-wide + the source's + host_ip)."""
        from shipper.meta import detect_host_ips, merged_meta, sink_for

        ips = detect_host_ips() if self.cfg.detect_host_ip else []
        return [sink_for(self.batcher, merged_meta(self.cfg.meta, sc.meta, ips)) for sc in self.cfg.sources]

    def status(self) -> dict[str, Any]:
        sender = self.sender
        return {
            "pid": os.getpid(),
            "host": self.cfg.host,
            "started_at": self._started_at,
            "updated_at": time.time(),
            "gateway": sender.status() if sender else {},
            "spool": {"bytes": int(self.metrics.get("spool_bytes")),
                      "batches": int(self.metrics.get("spool_batches")),
                      "max_bytes": self.cfg.spool.max_bytes, "full": bool(self.metrics.get("spool_full"))},
            "rejected_batches": rejected_count(self.cfg.data_dir / "rejected"),
            "buffered_events": self.batcher.buffered,
            "sources": {s.name: s.status() for s in self.sources},
            "metrics": dict(self.metrics.values),
        }

    def write_status(self) -> None:
        atomic_write(self.cfg.data_dir / STATUS_FILE, orjson.dumps(self.status(), option=orjson.OPT_INDENT_2),
                     durable=False)

    async def _start_metrics_server(self) -> Any:
        if self.cfg.metrics is None:
            return None
        from shipper.http import serve_get

        async def handle(path: str) -> tuple[int, str, bytes]:
            if path == "/metrics":
                return 200, "text/plain; version=0.0.4", self.metrics.render().encode()
            if path == "/status":
                return 200, "application/json", orjson.dumps(self.status())
            return 404, "text/plain", b"try /metrics or /status\n"

        host, _, port = self.cfg.metrics.listen.rpartition(":")
        try:
            server = await serve_get(host or "127.0.0.1", int(port), handle)
        except (OSError, ValueError) as exc:
            from shipper.config import config_error

            raise config_error(f"metrics.listen {self.cfg.metrics.listen}: {exc}") from None
        log.info("metrics endpoint listening", extra={"listen": self.cfg.metrics.listen})
        return server
