"""``/api/v1/patterns``: the tenant's log patterns over a range (ui/patterns.py does the work)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ui.http import SERVICE, authenticate, json_response
from ui.patterns import pattern_summary


async def patterns(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await pattern_summary(request.app[SERVICE], p, request.query))


ROUTES = [web.get("/api/v1/patterns", patterns)]

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/patterns": {"get": {
        "summary": "Log patterns in a range: count, template, sparkline, level mix, first seen, new first",
        "security": [{"bearer": []}],
        "parameters": [{"name": n, "in": "query", "schema": {"type": "string"}}
                       for n in ("q", "level", "source", "from", "to", "class", "size", "buckets")],
        "responses": {"200": {"description": "OK"}, "400": {"description": "bad parameter"},
                      "401": {"description": "no or unknown key"}},
    }},
}
OPENAPI_SCHEMAS: dict[str, Any] = {}
