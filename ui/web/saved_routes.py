"""Saved queries: the ``/saved`` page and its forms, and the ``/api/v1/saved-queries`` JSON API.

Both go through :class:`ui.web.saved.SavedQueryStore` (tenant-scoped, in OpenSearch); the API
takes keys or the session (via the bridge), the forms need the session and its CSRF token.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from ui.auth import has_scope
from ui.errors import ApiError
from ui.http import authenticate, json_object, json_response
from ui.web.render import render
from ui.web.saved import OPENAPI_PATHS, OPENAPI_SCHEMAS, SavedQueryError
from ui.web.sessions import require_session, signed_form
from ui.web.state import STATE, opensearch_as_503
from ui.web.views import SearchState, state_from_saved

__all__ = ["OPENAPI_PATHS", "OPENAPI_SCHEMAS", "ROUTES"]


async def _saved_call(coro: Awaitable[Any]) -> Any:
    try:
        with opensearch_as_503("saved queries unavailable"):
            return await coro
    except SavedQueryError as exc:
        raise ApiError(400, str(exc)) from None


async def _may_change(request: web.Request, tenant: str, query_id: str, key_id: str, admin: bool) -> None:
    """Renaming and deleting: the query's owner (the key that saved it) or an admin only (issue
    16: a read key could rename or delete every saved query of its tenant, an admin's included).
    A missing query is 404 before any ownership question."""
    doc = await _saved_call(request.app[STATE]["saved"].get(tenant, query_id))
    if doc is None:
        raise ApiError(404, f"no saved query with id {query_id!r}")
    if not admin and doc.get("created_by") != key_id:
        raise ApiError(403, f"saved query {query_id!r} belongs to key {doc.get('created_by')}; only its owner "
                            "or a key with the 'admin' scope may change or delete it")


# ---------------------------------------------------------------- page and forms


async def saved_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    items = await _saved_call(request.app[STATE]["saved"].list(session.tenant))
    for item in items:
        item["open_url"] = state_from_saved(item.get("query") or {}).url()
    return await render(request, "saved.html", items=items)


async def saved_create_form(request: web.Request) -> web.StreamResponse:
    session, form = await signed_form(request)
    state = SearchState.from_query(form)
    doc = await _saved_call(request.app[STATE]["saved"].create(session.tenant, session.key_id, {
        "name": form.get("name"), "description": form.get("description"), "query": state.saved_form()}))
    raise web.HTTPSeeOther("/saved#q-" + doc["id"])


async def saved_rename_form(request: web.Request) -> web.StreamResponse:
    session, form = await signed_form(request)
    await _may_change(request, session.tenant, request.match_info["id"], session.key_id, session.is_admin)
    body = {"name": form.get("name")}
    if "description" in form:
        body["description"] = form.get("description")
    doc = await _saved_call(request.app[STATE]["saved"].update(session.tenant, request.match_info["id"], body))
    if doc is None:
        raise ApiError(404, "no such saved query")
    raise web.HTTPSeeOther("/saved")


async def saved_delete_form(request: web.Request) -> web.StreamResponse:
    session, _form = await signed_form(request)
    await _may_change(request, session.tenant, request.match_info["id"], session.key_id, session.is_admin)
    if not await _saved_call(request.app[STATE]["saved"].delete(session.tenant, request.match_info["id"])):
        raise ApiError(404, "no such saved query")
    raise web.HTTPSeeOther("/saved")


# ---------------------------------------------------------------- JSON API


async def api_saved_list(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response({"saved_queries": await _saved_call(request.app[STATE]["saved"].list(p.tenant))})


async def api_saved_create(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    body = await json_object(request)
    return json_response(await _saved_call(request.app[STATE]["saved"].create(p.tenant, p.key_id, body)), 201)


async def api_saved_update(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    await _may_change(request, p.tenant, request.match_info["id"], p.key_id, has_scope(p, "admin"))
    body = await json_object(request)
    doc = await _saved_call(request.app[STATE]["saved"].update(p.tenant, request.match_info["id"], body))
    if doc is None:
        raise ApiError(404, f"no saved query with id {request.match_info['id']!r}")
    return json_response(doc)


async def api_saved_delete(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    await _may_change(request, p.tenant, request.match_info["id"], p.key_id, has_scope(p, "admin"))
    if not await _saved_call(request.app[STATE]["saved"].delete(p.tenant, request.match_info["id"])):
        raise ApiError(404, f"no saved query with id {request.match_info['id']!r}")
    return json_response({"deleted": request.match_info["id"]})


ROUTES = [
    web.get("/api/v1/saved-queries", api_saved_list),
    web.post("/api/v1/saved-queries", api_saved_create),
    web.put("/api/v1/saved-queries/{id}", api_saved_update),
    web.delete("/api/v1/saved-queries/{id}", api_saved_delete),
    web.get("/saved", saved_page),
    web.post("/saved", saved_create_form),
    web.post("/saved/{id}/rename", saved_rename_form),
    web.post("/saved/{id}/delete", saved_delete_form),
]
