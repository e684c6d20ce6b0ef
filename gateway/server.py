"""Running the gateway: embedding (``start_gateway``), one process, or N workers on one port.

Shutdown (SIGTERM/SIGINT): stop listening, answer 503 to new requests on open connections,
let in-flight requests finish (up to ``shutdown_timeout_s``), flush the Kafka producer, exit 0.
``--workers N`` starts N processes that each bind the same port with SO_REUSEPORT; the kernel
spreads connections across them, and the parent forwards signals and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server

from gateway.app import create_app
from gateway.protocols import start_protocol_sites, stop_protocol_sites
from gateway.settings import GatewaySettings
from logharbor.config import KafkaSettings, OpenSearchSettings

log = logging.getLogger(__name__)


class _GatewayRequestHandler(RequestHandler):
    """Header timeout, and request bodies that keep flowing during a graceful shutdown.

    Closes a connection whose request headers do not complete within ``header_timeout_s``.

    aiohttp has a keep-alive timeout but none for a client that trickles header bytes
    (slowloris). The timer runs only while headers are being received, so idle keep-alive
    connections and slow bodies (``body_timeout_s``) are governed by their own limits.
    Reads aiohttp internals defensively: if they change, the handler degrades to stock.
    """

    header_timeout_s: float = 10.0
    _lh_timer: asyncio.TimerHandle | None = None

    def _lh_busy(self) -> bool:
        return bool(getattr(self, "_messages", None)) or bool(getattr(self, "_request_in_progress", True))

    def _lh_arm(self) -> None:
        if self._lh_timer is None:
            self._lh_timer = asyncio.get_running_loop().call_later(self.header_timeout_s, self._lh_expire)

    def _lh_disarm(self) -> None:
        if self._lh_timer is not None:
            self._lh_timer.cancel()
            self._lh_timer = None

    def _lh_expire(self) -> None:
        self._lh_timer = None
        if not self._lh_busy() and self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._lh_arm()

    def data_received(self, data: bytes) -> None:
        closing = getattr(self, "_close", False) or getattr(self, "_force_close", False)
        if closing and getattr(self, "_request_in_progress", False):
            # Once shutdown begins aiohttp drops incoming bytes, so a request whose body is
            # still uploading could never finish its drain. Keep feeding the request in flight.
            saved = (self._close, self._force_close)
            self._close = self._force_close = False
            try:
                super().data_received(data)
            finally:
                self._close, self._force_close = saved[0] or self._close, saved[1]
            return
        super().data_received(data)
        if self._lh_busy():
            self._lh_disarm()
        else:
            self._lh_arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._lh_disarm()
        super().connection_lost(exc)


class _GatewayServer(Server):
    header_timeout_s: float = 10.0

    def __call__(self) -> RequestHandler:
        handler = _GatewayRequestHandler(self, loop=self._loop, **self._kwargs)
        handler.header_timeout_s = self.header_timeout_s
        return handler


class _GatewayRunner(web.AppRunner):
    def __init__(self, app: web.Application, header_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._header_timeout_s = header_timeout_s

    async def _make_server(self) -> Server:
        server = await super()._make_server()
        if type(server) is Server:  # swap in the header-timeout protocol factory
            server.__class__ = _GatewayServer
            server.header_timeout_s = self._header_timeout_s  # type: ignore[attr-defined]
        return server


@dataclass
class GatewayHandle:
    """A running gateway inside someone's event loop; ``await stop()`` drains and flushes."""

    app: web.Application
    runner: web.AppRunner
    site: web.TCPSite

    @property
    def port(self) -> int:
        server = self.site._server
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else 0

    async def stop(self) -> None:
        await stop_protocol_sites(self.app)
        await self.runner.cleanup()


async def start_gateway(
    settings: GatewaySettings | None = None,
    *,
    kafka: KafkaSettings | None = None,
    opensearch: OpenSearchSettings | None = None,
    reuse_port: bool = False,
    topic: str | None = None,
) -> GatewayHandle:
    """Start the gateway in the running loop (what ``logharbor run`` embeds)."""
    settings = settings or GatewaySettings()
    app = create_app(settings, kafka=kafka, opensearch=opensearch, topic=topic)
    runner = _GatewayRunner(
        app,
        settings.header_timeout_s,
        auto_decompress=False,  # never let aiohttp inflate bodies: decompress_capped does, with caps
        keepalive_timeout=settings.keepalive_timeout_s,
        shutdown_timeout=settings.shutdown_timeout_s,
        access_log=None,
        handle_signals=False,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port or None, backlog=1024)
    await site.start()
    # dedicated ES-root / OTLP ports when configured (gateway/protocols.py)
    await start_protocol_sites(app, settings.host, access_log=None, handle_signals=False, auto_decompress=False)
    return GatewayHandle(app=app, runner=runner, site=site)


async def serve(settings: GatewaySettings, reuse_port: bool = False) -> int:
    """Run until SIGTERM/SIGINT, then drain; returns the exit code."""
    handle = await start_gateway(settings, reuse_port=reuse_port)
    _tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("gateway listening on %s:%s (pid %d)", settings.host, handle.port, os.getpid())
    print(
        f"logharbor gateway: listening on http://{settings.host}:{handle.port} (pid {os.getpid()})",
        flush=True,
    )
    await stop.wait()
    log.info("gateway: draining")
    await handle.stop()
    return 0


_GC_YOUNG_THRESHOLD = 50_000


def _tune_gc() -> None:
    """Keep the cyclic garbage collector off the objects that live as long as the process.

    Each request allocates thousands of containers (parsed events, envelopes), so CPython's
    default young-generation threshold (700) ran a collection every few requests, and every
    full collection walked the process's ~10^5 startup objects (modules, settings, clients)
    again. ``gc.freeze()`` after start-up moves those out of the collector's reach, and a
    higher young threshold runs the collector per ~50,000 allocations instead; almost all of a
    request's garbage is freed by reference counting anyway. Measured: docs/BENCHMARKS.md,
    "Gateway CPU per event (issue 13)".
    """
    gc.freeze()
    gc.set_threshold(_GC_YOUNG_THRESHOLD, 10, 10)


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # opensearch-py logs every request at INFO; the key refresh alone would flood the log
    logging.getLogger("opensearch").setLevel(logging.WARNING)


def _worker(settings_dump: dict[str, Any], reuse_port: bool) -> None:
    _setup_logging()
    settings = GatewaySettings(**settings_dump)
    sys.exit(asyncio.run(serve(settings, reuse_port=reuse_port)))


def run_gateway(settings: GatewaySettings) -> int:
    """Blocking entry point for ``logharbor gateway``."""
    if settings.workers <= 1:
        _setup_logging()
        return asyncio.run(serve(settings))
    if settings.port == 0:
        print("logharbor gateway: --workers needs a fixed --port (workers share it)", file=sys.stderr)
        return 2
    return _supervise(settings)


def _supervise(settings: GatewaySettings) -> int:
    """Run ``settings.workers`` processes on one port; restart any that dies unexpectedly.

    A worker killed by the OOM killer or a crash is replaced (after a pause if it died young,
    so a worker that cannot start does not spin); SIGTERM/SIGINT are forwarded and the parent
    exits once every worker has drained.
    """
    _setup_logging()
    ctx = multiprocessing.get_context("spawn")
    dump = settings.model_dump()
    stopping = False

    def spawn(i: int) -> tuple[Any, float]:
        proc = ctx.Process(target=_worker, args=(dump, True), name=f"gateway-{i}")
        proc.start()
        return proc, time.monotonic()

    workers = [spawn(i) for i in range(settings.workers)]

    def forward(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc, _ in workers:
            if proc.is_alive() and proc.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = 0
    while True:
        alive = [proc for proc, _ in workers if proc.is_alive()]
        if not alive and stopping:
            break
        multiprocessing.connection.wait([proc.sentinel for proc, _ in workers], timeout=1.0)
        for i, (proc, started) in enumerate(workers):
            if proc.is_alive() or proc.exitcode is None:
                continue
            if stopping:
                code = code or (proc.exitcode or 0)
                continue
            log.warning("gateway worker %d (pid %s) exited with %s; restarting it", i, proc.pid, proc.exitcode)
            if time.monotonic() - started < 5:
                time.sleep(1.0)
            workers[i] = spawn(i)
            if stopping and workers[i][0].pid:  # a signal landed while we were restarting it
                with contextlib.suppress(ProcessLookupError):
                    os.kill(workers[i][0].pid, signal.SIGTERM)
    for proc, _ in workers:
        code = code or (proc.exitcode or 0)
    return code
