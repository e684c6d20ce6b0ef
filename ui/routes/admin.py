"""``/api/v1/keys``: admin-scope changes, each one audited (retention: ``ui.routes.lifecycle``)."""

from __future__ import annotations

from aiohttp import web

from ui import keys_api
from ui.http import KEYS, audit_ok, authenticate, json_body, json_response


async def list_keys(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    return json_response(await keys_api.list_keys(request.app[KEYS], p))


async def create_key(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    out = await keys_api.create_key(request.app[KEYS], p, await json_body(request))
    audit_ok(request, p, "key.create", out["record"]["key_id"])
    return json_response(out, 201)


async def revoke_key(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    out = await keys_api.revoke_key(request.app[KEYS], p, request.match_info["key_id"])
    audit_ok(request, p, "key.revoke", out["record"]["key_id"])
    return json_response(out)


async def rotate_key(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    body = await json_body(request, required=False)
    out = await keys_api.rotate_key(request.app[KEYS], p, request.match_info["key_id"], body)
    audit_ok(request, p, "key.rotate", f"{request.match_info['key_id']} -> {out['record']['key_id']}")
    return json_response(out)


ROUTES = [
    web.get("/api/v1/keys", list_keys),
    web.post("/api/v1/keys", create_key),
    web.delete("/api/v1/keys/{key_id}", revoke_key),
    web.post("/api/v1/keys/{key_id}/rotate", rotate_key),
]
