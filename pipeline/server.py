"""The operations endpoint: ``/health`` (process alive), ``/ready`` (consuming and able to
index), ``/metrics`` (Prometheus text). Runs in the worker when there is one process, in the
supervisor (aggregating every worker's metrics) with ``--workers N``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

ReadyCheck = Callable[[], tuple[bool, dict[str, Any]]]


def build_app(ready_check: ReadyCheck, registry: CollectorRegistry | None = None) -> web.Application:
    reg = registry or REGISTRY

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready(_: web.Request) -> web.Response:
        ok, detail = ready_check()
        return web.json_response({"ready": ok, **detail}, status=200 if ok else 503)

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(reg)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app


async def start_server(
    host: str, port: int, ready_check: ReadyCheck, registry: CollectorRegistry | None = None
) -> web.AppRunner:
    """Start the endpoint; the caller cleans up the returned runner."""
    runner = web.AppRunner(build_app(ready_check, registry), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
