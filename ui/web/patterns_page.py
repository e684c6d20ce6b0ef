"""The Patterns view (``/patterns``): the statements the tenant's logs make over a range.

Server-rendered from :func:`ui.patterns.pattern_summary` — the same call ``/api/v1/patterns``
answers (the page links it as JSON) — so it needs no script: per pattern its template, count,
a sparkline (inline SVG), the level mix, when it was first seen (new patterns first), and a link
to the search for it (``pattern:<id>``, with the ids it absorbed when it generalised).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ui.patterns import pattern_summary
from ui.web.render import render
from ui.web.sessions import principal_of, require_session
from ui.web.state import opensearch_as_503, service

RANGES = ("1h", "24h", "7d")


def sparkline_points(values: list[int], width: int = 120, height: int = 24) -> str:
    """SVG polyline points for ``values`` scaled into width × height (top = max)."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - v / top * (height - 2) - 1:.1f}" for i, v in enumerate(values))


async def patterns_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    rng = request.query.get("range", "24h")
    if rng not in RANGES:
        rng = "24h"
    query: dict[str, Any] = {k: v for k, v in request.query.items() if k in ("q", "level", "source")}
    query["from"] = f"now-{rng}"
    with opensearch_as_503("list patterns"):
        summary = await pattern_summary(service(request), principal_of(session), query)
    for row in summary["patterns"]:
        row["points"] = sparkline_points(row["sparkline"])
        row["href"] = "/search?" + urlencode({"q": row["search"], "range": rng})
    api = "/api/v1/patterns?" + urlencode(query)
    return await render(request, "patterns.html", summary=summary, range=rng, ranges=RANGES, api=api,
                        filters=query)


ROUTES = [web.get("/patterns", patterns_page)]
