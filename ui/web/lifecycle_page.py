"""The lifecycle page (``/lifecycle``): backing indices with phase, age, size, docs and the next
action with its due time; retention per class (editable, with confirmation; audited by the API);
disk per node against the watermarks; snapshots with their state, the last verify and restore
(dry run first, then confirmation).

The page is a shell: its script reads the same JSON endpoints scripts use
(``/api/v1/lifecycle``, ``/api/v1/retention``, ``/api/v1/lifecycle/disk``, ``/api/v1/snapshots``),
so every panel is also reachable as JSON and the API's scope checks apply unchanged (disk and
snapshots need the operator scope; the panel says so otherwise).
"""

from __future__ import annotations

from aiohttp import web

from ui.errors import ApiError
from ui.web.render import render
from ui.web.sessions import require_session


async def lifecycle_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    operator = "operator" in session.scopes
    if not (session.is_admin or operator):
        raise ApiError(403, "the lifecycle page needs an API key with the 'admin' or 'operator' scope")
    return await render(request, "lifecycle.html", operator=operator)


ROUTES = [web.get("/lifecycle", lifecycle_page)]
