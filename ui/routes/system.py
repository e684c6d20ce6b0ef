"""``/api/v1/status``, ``/api/v1/metrics`` and ``/api/v1/openapi.json``: the service about itself."""

from __future__ import annotations

import time

from aiohttp import web

from ui.http import HUB, KAFKA, SERVICE, SETTINGS, STATUS_CACHE, authenticate, json_response
from ui.openapi import app_document
from ui.status import gather_status


async def status(request: web.Request) -> web.Response:
    await authenticate(request, "read")
    cache = request.app[STATUS_CACHE]
    if cache.get("at", 0) + 2.0 < time.monotonic():
        settings = request.app[SETTINGS]
        cache["value"] = await gather_status(request.app[SERVICE].client, request.app[KAFKA],
                                             settings.gateway_health_url, settings.probe_timeout_s)
        cache["at"] = time.monotonic()
    return json_response(cache["value"])


async def metrics(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    out = await request.app[SERVICE].metrics(p)
    hub = request.app[HUB]
    out["live_tail"] = {"subscribers": hub.subscriber_count, "records_seen": hub.records,
                        "events_delivered": hub.delivered}
    return json_response(out)


async def openapi(request: web.Request) -> web.Response:
    return json_response(app_document(request.app))


ROUTES = [
    web.get("/api/v1/status", status),
    web.get("/api/v1/metrics", metrics),
    web.get("/api/v1/openapi.json", openapi),
]
