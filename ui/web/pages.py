"""One event, the live tail, the overview dashboard and analytics: pages over single API calls."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web

from ui.errors import ApiError
from ui.params import parse_filters
from ui.web.render import error_view, render
from ui.web.sessions import principal_of, require_session
from ui.web.state import WEB, quote_id, service
from ui.web.views import SearchState, analytics_panels, level_options, overview_panels


async def event_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    event_id = request.match_info["id"]
    event = await service(request).detail(principal_of(session), event_id, {})
    fields = event.get("fields") or {}
    stack = (fields.get("error") or {}).get("stack_trace") if isinstance(fields.get("error"), dict) else None
    ctx = request.app[WEB].context_events
    return await render(request, "event.html", event=event, stack_trace=stack, context_n=ctx,
                        json_link=f"/api/v1/logs/{quote_id(event_id)}?context={ctx}&related=request_id,trace_id,"
                                  "user_id",
                        api_path=f"/api/v1/logs/{quote_id(event_id)}", permalink=f"/event/{quote_id(event_id)}")


async def tail_page(request: web.Request) -> web.StreamResponse:
    await require_session(request)
    state = SearchState.from_query(request.query)
    params = {k: v for k, v in state.filter_params().items() if k not in ("from", "to")}
    error = None
    try:  # the WebSocket handshake cannot carry the API's 400 body, so check the query here
        parse_filters(params, datetime.now(UTC))
    except ApiError as exc:
        error = error_view(exc, state.effective_q())
    return await render(request, "tail.html", state=state, level_opts=level_options(state.levels), error=error,
                        stream_params=urlencode(params), search_link=state.url())


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    await require_session(request)
    return await render(request, "dashboard.html", panels=overview_panels())


async def analytics_page(request: web.Request) -> web.StreamResponse:
    await require_session(request)
    rng = request.query.get("range", "24h")
    if rng not in ("1h", "24h", "7d"):
        rng = "24h"
    tabs = analytics_panels(rng)
    tab = request.query.get("tab", "errors")
    if tab not in tabs:
        tab = "errors"
    return await render(request, "analytics.html", tabs=list(tabs), tab=tab, panels=tabs[tab], range=rng)


ROUTES = [
    web.get("/event/{id}", event_page),
    web.get("/tail", tail_page),
    web.get("/dashboard", dashboard_page),
    web.get("/analytics", analytics_page),
]
