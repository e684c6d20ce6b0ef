"""The web dashboard's assembly: which page modules exist, and ``setup(app)`` that mounts them.

``setup(app)`` is called by :func:`ui.app.create_app`. Pages are server-rendered Jinja
(autoescape on) over the same :class:`ui.api.QueryService` calls the JSON API makes; the
JavaScript in ``static/`` calls the ``/api/v1`` endpoints themselves with the session cookie,
which :mod:`ui.web.middleware` turns into the API's own ``Authorization`` header
(``Bearer lhs.<cookie>``), and the API's authenticator consults
:func:`ui.web.sessions.session_verifier` for such tokens. So the browser never holds an API
key and every page is a view over an API call a script can make too.

A new page (or group of pages) is a module in ``ui/web/`` ending in a ``ROUTES`` list of
``web.get(...)``/``web.post(...)`` route definitions, plus one line in :data:`PAGE_MODULES`. A
module that serves ``/api/`` paths also defines ``OPENAPI_PATHS`` and ``OPENAPI_SCHEMAS`` so
``/api/v1/openapi.json`` documents them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from aiohttp import web

from ui.http import AUTH, SERVICE
from ui.openapi import document_paths
from ui.web import admin, alerts_pages, lifecycle_page, pages, patterns_page, saved_routes, search, signin
from ui.web import session as sess
from ui.web.middleware import security_headers, web_middleware
from ui.web.render import make_env
from ui.web.revocations import SessionRevocations
from ui.web.saved import SavedQueryStore
from ui.web.sessions import KeyChecker, SessionSecret, session_verifier
from ui.web.settings import WebSettings
from ui.web.state import HERE, JINJA, STATE, WEB

# Every page module, mounted in this order (each has a ROUTES table). Add yours here.
PAGE_MODULES: tuple[ModuleType, ...] = (
    saved_routes,
    signin,
    search,
    pages,
    admin,
    alerts_pages,
    lifecycle_page,
    patterns_page,
)


def setup(app: web.Application, settings: WebSettings | None = None) -> None:
    """Mount the dashboard on the ui app (called by ``ui.app.create_app``)."""
    app[WEB] = settings or WebSettings()
    app[JINJA] = make_env()
    state: dict[str, Any] = {}
    app[STATE] = state
    app.middlewares.append(web_middleware)
    app.on_response_prepare.append(security_headers)

    def client() -> Any:
        return app[SERVICE].client

    state["secret"] = SessionSecret(app[WEB].session_secret, client)
    state["keys"] = KeyChecker(client, app[WEB].key_recheck_s)
    state["revoked"] = SessionRevocations(client, app[WEB].key_recheck_s)

    async def on_startup(app: web.Application) -> None:
        # on_startup handlers run after every cleanup_ctx has started (aiohttp runs the contexts
        # as its first startup handler), so the API's service and authenticator exist by now.
        state["saved"] = SavedQueryStore(app[SERVICE].client)
        app[AUTH].consult(sess.TOKEN_PREFIX, session_verifier(app))

    app.on_startup.append(on_startup)
    for module in PAGE_MODULES:
        app.router.add_routes(module.ROUTES)
        if hasattr(module, "OPENAPI_PATHS"):
            document_paths(app, module.OPENAPI_PATHS, module.OPENAPI_SCHEMAS)
    app.router.add_static("/static/", HERE / "static", append_version=False)
