"""``/api/v1/status``, ``/api/v1/metrics`` and ``/api/v1/openapi.json``: the service about itself."""

from __future__ import annotations

import time

from aiohttp import web

from ui.auth import has_scope, is_operator
from ui.http import HUB, KAFKA, SERVICE, SETTINGS, STATUS_CACHE, authenticate, json_response
from ui.openapi import app_document
from ui.routes.lifecycle import lifecycle_status_section
from ui.status import gather_status
from ui.status_access import probe_authentication, status_for


async def status(request: web.Request) -> web.Response:
    """Component health for every key; cluster detail (topics, lag, URLs) for the operator scope,
    and a warning to admins/operators when OpenSearch answers without authentication."""
    p = await authenticate(request, "read")
    cache = request.app[STATUS_CACHE]
    if cache.get("at", 0) + 2.0 < time.monotonic():
        settings = request.app[SETTINGS]
        service = request.app[SERVICE]
        value = await gather_status(service.client, request.app[KAFKA],
                                    settings.gateway_health_url, settings.probe_timeout_s)
        value["security"] = await probe_authentication(service.os_settings, settings.probe_timeout_s)
        cache["value"] = value
        cache["at"] = time.monotonic()
    shown = status_for(cache["value"], operator=is_operator(p), admin=has_scope(p, "admin"))
    return json_response({**shown, "lifecycle": await lifecycle_status_section(request, p)})


async def metrics(request: web.Request) -> web.Response:
    """The caller's tenant's figures; the process-wide live-tail figures only for operators."""
    p = await authenticate(request, "read")
    out = await request.app[SERVICE].metrics(p)
    hub = request.app[HUB]
    out["live_tail"] = hub.tenant_stats(p.tenant)
    if is_operator(p):
        out["cluster"] = {"live_tail": hub.cluster_stats()}
    return json_response(out)


async def openapi(request: web.Request) -> web.Response:
    return json_response(app_document(request.app))


ROUTES = [
    web.get("/api/v1/status", status),
    web.get("/api/v1/metrics", metrics),
    web.get("/api/v1/openapi.json", openapi),
]
