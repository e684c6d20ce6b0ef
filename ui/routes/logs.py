"""``/api/v1/logs/*``, ``/api/v1/sources`` and ``/api/v1/fields``: reading a tenant's events."""

from __future__ import annotations

from aiohttp import web

from ui.api import opensearch_errors
from ui.http import SERVICE, authenticate, json_response


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
    is still a JSON 400; after that a failure can only cut the stream short (and is logged)."""
    p = await authenticate(request, "read")
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
        await resp.write(plan.formatter.head())
        if first is not None:
            await resp.write(plan.formatter.batch(first))
            async for batch in batches:
                await resp.write(plan.formatter.batch(batch))
        await resp.write(plan.formatter.tail())
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
