"""Rendering pages: the Jinja environment (autoescape on), ``render``, and how errors are shown."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import jinja2
from aiohttp import web

from logharbor.levels import LEVELS
from ui.auth import AuthError
from ui.errors import ApiError
from ui.web import session as sess
from ui.web.sessions import current_session
from ui.web.state import HERE, JINJA, SESSION, STATE
from ui.web.views import mark_position

log = logging.getLogger(__name__)

STATIC_VERSION = str(int(time.time()))  # cache-busting per process start


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.globals["static"] = lambda name: f"/static/{name}?v={STATIC_VERSION}"
    env.globals["levels"] = LEVELS
    env.filters["level_class"] = level_class
    return env


def level_class(level: Any) -> str:
    """A CSS class from a fixed list: an event's level never becomes markup."""
    text = str(level or "").upper()
    return "lvl-" + text.lower() if text in LEVELS else "lvl-unknown"


async def render(request: web.Request, template: str, status: int = 200, **ctx: Any) -> web.Response:
    session = request.get(SESSION)
    csrf = ""
    if session is not None:
        csrf = sess.csrf_token(await request.app[STATE]["secret"].get(), session.sid)
    html = request.app[JINJA].get_template(template).render(session=session, csrf=csrf, path=request.path, **ctx)
    return web.Response(text=html, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


async def error_page(request: web.Request, status: int, message: str | None) -> web.Response:
    with contextlib.suppress(Exception):  # the error page must not fail on a second outage
        await current_session(request)
    request.setdefault(SESSION, None)
    return await render(request, "error.html", status=status, status_code=status,
                        message=message or "error")


def error_view(exc: BaseException, q: str) -> dict[str, Any]:
    """What a page shows for a failed API call: message, status and the marked query."""
    if isinstance(exc, ApiError):
        position = exc.extra.get("position")
        return {"status": exc.status, "message": exc.message,
                "marked": mark_position(q, position) if exc.status == 400 and exc.extra.get("position") else None,
                "expected": exc.extra.get("expected")}
    if isinstance(exc, AuthError):
        return {"status": exc.status, "message": exc.message, "marked": None, "expected": None}
    log.error("search page failed: %r", exc)
    return {"status": 500, "message": "internal error (logged by the ui process)", "marked": None, "expected": None}
