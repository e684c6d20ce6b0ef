"""The admin page: the tenant's sources and API keys, and the key forms (create, revoke, rotate).

The forms are twins of ``POST /api/v1/keys`` and friends (same ``ui.keys_api`` calls, same
validation and tenant confinement, same audit records); they need an admin session and its
CSRF token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from ui import keys_api
from ui.errors import ApiError
from ui.http import KEYS, audit_ok
from ui.web.render import error_view, render
from ui.web.sessions import principal_of, require_session, signed_form
from ui.web.state import opensearch_as_503, service


async def admin_page(request: web.Request, new_key: dict[str, Any] | None = None, error: str | None = None,
                     status: int = 200) -> web.StreamResponse:
    """Sources (GET /api/v1/sources) and keys (GET /api/v1/keys) of the admin's tenant."""
    session = await require_session(request, admin=True)
    p = principal_of(session)
    sources, keys = await asyncio.gather(service(request).sources(p), _keys_call(keys_api.list_keys(
        request.app[KEYS], p)), return_exceptions=True)
    if isinstance(keys, BaseException):
        if not isinstance(keys, ApiError):
            raise keys
        error, keys = keys.message, {"keys": []}
    source_error = None
    if isinstance(sources, BaseException):
        source_error = error_view(sources, "")["message"]
        sources = {"sources": []}
    return await render(request, "admin.html", status=status, sources=sources["sources"], source_error=source_error,
                        keys=keys["keys"], new_key=new_key, error=error)


async def _keys_call(coro: Awaitable[Any]) -> Any:
    with opensearch_as_503("key store unavailable"):
        return await coro


async def admin_key_create(request: web.Request) -> web.StreamResponse:
    """The form twin of POST /api/v1/keys (same validation, same tenant confinement)."""
    session, form = await signed_form(request, admin=True)
    body: dict[str, Any] = {"source": str(form.get("source") or "").strip(),
                            "scopes": [s for s in form.getall("scopes", []) if isinstance(s, str)]}
    for name in ("expires_in", "description"):
        value = str(form.get(name) or "").strip()
        if value:
            body[name] = value
    try:
        out = await _keys_call(keys_api.create_key(request.app[KEYS], principal_of(session), body))
    except ApiError as exc:
        if exc.status != 400:
            raise
        return await admin_page(request, error=exc.message, status=400)
    audit_ok(request, principal_of(session), "key.create", out["record"]["key_id"])
    return await admin_page(request, new_key={"token": out["key"], "key_id": out["record"]["key_id"],
                                              "action": "created"})


async def admin_key_revoke(request: web.Request) -> web.StreamResponse:
    session, _form = await signed_form(request, admin=True)
    out = await _keys_call(keys_api.revoke_key(request.app[KEYS], principal_of(session), request.match_info["id"]))
    audit_ok(request, principal_of(session), "key.revoke", out["record"]["key_id"])
    raise web.HTTPSeeOther("/admin")


async def admin_key_rotate(request: web.Request) -> web.StreamResponse:
    session, form = await signed_form(request, admin=True)
    grace = str(form.get("grace") or "").strip()
    try:
        out = await _keys_call(keys_api.rotate_key(request.app[KEYS], principal_of(session), request.match_info["id"],
                                                   {"grace": grace} if grace else {}))
    except ApiError as exc:
        if exc.status != 400:
            raise
        return await admin_page(request, error=exc.message, status=400)
    audit_ok(request, principal_of(session), "key.rotate", f"{request.match_info['id']} -> {out['record']['key_id']}")
    return await admin_page(request, new_key={"token": out["key"], "key_id": out["record"]["key_id"],
                                              "action": "rotated"})


ROUTES = [
    web.get("/admin", admin_page),
    web.post("/admin/keys", admin_key_create),
    web.post("/admin/keys/{id}/revoke", admin_key_revoke),
    web.post("/admin/keys/{id}/rotate", admin_key_rotate),
]
