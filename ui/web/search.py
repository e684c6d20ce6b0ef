"""The search page: results table, paging, field sidebar with +/− filters, saved-query shortcuts.

A view over ``GET /api/v1/logs/search`` and ``/api/v1/fields`` (the same QueryService calls),
which is why the page offers its own JSON and export links.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ui.auth import Principal
from ui.web.render import error_view, render
from ui.web.saved import SavedQueryStore
from ui.web.sessions import principal_of, require_session
from ui.web.state import STATE, WEB, quote_id, service
from ui.web.views import (
    RANGES,
    SearchState,
    add_clause,
    level_options,
    sort_link,
    state_from_saved,
)

SIDEBAR_FIRST = ("log.level", "service.name", "host.name", "http.response.status_code", "http.request.method",
                 "url.path", "error.type", "user.id", "labels.env", "labels.environment", "client.geo.country_name")
SIDEBAR_SKIP = frozenset({"@timestamp", "event.id", "event.ingested", "event.received", "message.keyword",
                          "labels.tenant", "trace.id", "http.request.id", "event.duration", "event.original"})


def sidebar(state: SearchState, fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fields with their top values and the +/− links that filter in or out."""
    by_name = {f["name"]: f for f in fields if f.get("top_values") and f["name"] not in SIDEBAR_SKIP}
    order = [n for n in SIDEBAR_FIRST if n in by_name] + sorted(n for n in by_name if n not in SIDEBAR_FIRST)
    out = []
    for name in order[:25]:
        values = []
        for tv in by_name[name]["top_values"]:
            values.append({"value": tv["value"], "count": tv["count"],
                           "include": state.url(q=add_clause(state.q, name, tv["value"])),
                           "exclude": state.url(q=add_clause(state.q, name, tv["value"], negate=True))})
        out.append({"name": name, "values": values})
    return out
async def search_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    state = SearchState.from_query(request.query)
    fb_field, fb_value = request.query.get("fb_field", "").strip(), request.query.get("fb_value", "")
    if fb_field and fb_value:  # the filter builder's form: fold it into q, then show the canonical URL
        raise web.HTTPSeeOther(state.url(q=add_clause(state.q, fb_field, fb_value,
                                                      negate=request.query.get("fb_op") == "!=")))
    p = principal_of(session)
    svc = service(request)
    limit = request.app[WEB].page_size
    store: SavedQueryStore = request.app[STATE]["saved"]
    results, fields, sources, saved = await asyncio.gather(
        svc.search(p, state.search_params(limit)),
        svc.fields(p, state.filter_params()),
        source_names_cached(request, p),
        store.list(p.tenant),
        return_exceptions=True)
    saved = [] if isinstance(saved, BaseException) else saved
    for item in saved:
        item["open_url"] = state_from_saved(item.get("query") or {}).url()
    error = None
    if isinstance(results, BaseException):
        error = error_view(results, state.effective_q())
        results = None
    rows = []
    paging: dict[str, Any] = {"first": None, "prev": None, "next": None, "from": 0, "to": 0}
    if results is not None:
        for r in results["results"]:
            rows.append({"id": r["id"], "timestamp": r.get("timestamp") or "", "level": r.get("level") or "",
                         "source": r.get("source") or "", "host": r.get("host") or "",
                         "message": table_message(r.get("message")),
                         "link": "/event/" + quote_id(r["id"])})
        max_offset = service(request).settings.max_offset
        if state.offset > 0 or state.cursor:
            paging["prev"] = state.url(offset=max(0, state.offset - limit)) if not state.cursor else state.url()
            paging["first"] = state.url()
        if results.get("next"):
            nxt_offset = state.offset + limit
            paging["next"] = (state.url(offset=nxt_offset) if not state.cursor and nxt_offset + limit <= max_offset
                              else state.url(cursor=results["next"], offset=nxt_offset))  # offset: display only
        paging["from"] = state.offset + 1 if rows else 0
        paging["to"] = state.offset + len(rows)
    sorts = {col: sort_link(state, col) for col in ("timestamp", "level", "source")}
    source_names = sorted(set(sources) | set(state.sources)) if not isinstance(sources, BaseException) \
        else sorted(state.sources)
    return await render(
        request, "search.html", state=state, ranges=RANGES, level_opts=level_options(state.levels),
        sources=source_names, results=results, rows=rows, error=error, paging=paging, sorts=sorts,
        fields=sidebar(state, fields["fields"]) if not isinstance(fields, BaseException) else None,
        field_names=[f["name"] for f in fields["fields"]] if not isinstance(fields, BaseException) else [],
        saved=saved,
        filter_params=urlencode(state.filter_params()),
        json_link="/api/v1/logs/search?" + urlencode(state.search_params(limit)),
        export_link="/api/v1/logs/export?" + urlencode({**state.filter_params(), "format": "csv"}),
        tail_link=state.url("/tail"), share_link=state.url())


def table_message(message: Any, limit: int = 400) -> str:
    """A message as one table line: its first line (a stack trace stays for the event page), cut."""
    text = "" if message is None else str(message)
    first, newline, _ = text.partition("\n")
    cut = len(first) > limit
    return first[:limit] + ("…" if cut or newline else "")


async def source_names_cached(request: web.Request, p: Principal, ttl_s: float = 60.0) -> list[str]:
    """The tenant's source names for the filter list. /api/v1/sources aggregates over all of the
    tenant's history, too heavy to repeat on every search page view, so it is cached a minute."""
    cache: dict[str, tuple[float, list[str]]] = request.app[STATE].setdefault("sources", {})
    hit = cache.get(p.tenant)
    if hit and time.monotonic() - hit[0] < ttl_s:
        return hit[1]
    names = sorted(s["source"] for s in (await service(request).sources(p))["sources"])
    if len(cache) > 10_000:
        cache.clear()
    cache[p.tenant] = (time.monotonic(), names)
    return names


ROUTES = [
    web.get("/search", search_page),
]
