"""``/api/v1/logs/*``, ``/api/v1/sources`` and ``/api/v1/fields``: reading a tenant's events."""

from __future__ import annotations

import logging

from aiohttp import web

from ui.api import opensearch_errors
from ui.concurrency import EXPORT_CAPS, ExportIdle, write_within
from ui.http import SERVICE, SETTINGS, authenticate, json_response

log = logging.getLogger(__name__)


async def search(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].search(p, request.query))


async def detail(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].detail(p, request.match_info["id"], request.query))


async def aggregate(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].aggregate(p, request.query))


async def export(request: web.Request) -> web.StreamResponse:
    """Streamed download: the first batch is fetched before the headers go out, so a bad query
    is still a JSON 400; after that a failure can only cut the stream short (and is logged).

    Each key runs at most ``ui.max_exports_per_key`` exports at once (429 beyond), and a client
    that accepts nothing for ``ui.export_idle_timeout_s`` is cut off (issue 16): every export
    holds an OpenSearch point in time, a cluster-wide resource."""
    p = await authenticate(request, "read")
    idle = request.app[SETTINGS].export_idle_timeout_s
    with request.app[EXPORT_CAPS].hold(p.key_id):
        plan = await request.app[SERVICE].export(p, request.query)
        batches = plan.batches
        try:
            with opensearch_errors():
                first = await anext(batches, None)
            resp = web.StreamResponse(headers={
                "Content-Type": plan.content_type,
                "Content-Disposition": f'attachment; filename="{plan.filename}"',
                "Cache-Control": "no-store",
            })
            await resp.prepare(request)
            try:
                await write_within(resp, plan.formatter.head(), idle)
                if first is not None:
                    await write_within(resp, plan.formatter.batch(first), idle)
                    async for batch in batches:
                        await write_within(resp, plan.formatter.batch(batch), idle)
                await write_within(resp, plan.formatter.tail(), idle)
            except ExportIdle as exc:
                log.info("export for key %s cut off: %s", p.key_id, exc)
                if request.transport is not None:
                    request.transport.abort()
                return resp
            await resp.write_eof()
            return resp
        finally:
            await batches.aclose()  # closes the point in time even when the client went away


async def sources(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].sources(p))


async def fields(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].fields(p, request.query))


ROUTES = [
    # Fixed paths before /logs/{id}: aiohttp matches in registration order.
    web.get("/api/v1/logs/search", search),
    web.get("/api/v1/logs/aggregate", aggregate),
    web.get("/api/v1/logs/export", export),
    web.get("/api/v1/logs/{id}", detail),
    web.get("/api/v1/sources", sources),
    web.get("/api/v1/fields", fields),
]
