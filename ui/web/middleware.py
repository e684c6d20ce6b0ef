"""The web layer's middleware: the session bridge into ``/api/``, HTML error pages, security headers.

Security model (log content is attacker-controlled): templates autoescape, JavaScript builds
DOM with ``textContent`` only, and a strict Content-Security-Policy (no inline script or
style) backs both. Every state-changing API request made with the session cookie needs the
session's CSRF token (``X-CSRF-Token``), and a cookie-authenticated WebSocket must come from
our own origin.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from aiohttp import hdrs, web
from multidict import CIMultiDict

from ui.auth import AuthError
from ui.errors import ApiError
from ui.web import session as sess
from ui.web.render import error_page
from ui.web.sessions import require_csrf, resolve_session
from ui.web.state import WEB

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


@web.middleware
async def web_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session bridge for /api/ (plus its CSRF and origin checks) and HTML error pages elsewhere."""
    if request.path.startswith("/api/"):
        return await handler(await _bridge(request))
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return await error_page(request, exc.status, exc.reason)
    except ApiError as exc:
        return await error_page(request, exc.status, exc.message)
    except AuthError as exc:
        return await error_page(request, exc.status, exc.message)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error on page %s", request.path)
        return await error_page(request, 500, "internal error (logged by the ui process)")


async def _bridge(request: web.Request) -> web.Request:
    """The session cookie as the API's own ``Authorization: Bearer lhs.<cookie>``."""
    cookie = request.cookies.get(sess.COOKIE)
    if hdrs.AUTHORIZATION in request.headers or not cookie:
        return request
    session = await resolve_session(request.app, cookie)
    if session is None:
        return request  # the API answers 401 as for any unauthenticated call
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await require_csrf(request, session, request.headers.get("X-CSRF-Token"))
    if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket" or "Origin" in request.headers:
        origin = request.headers.get("Origin")
        if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket" and not origin:
            raise ApiError(403, "a cookie-authenticated WebSocket needs an Origin header")
        expected = urlparse(request.app[WEB].public_origin).netloc or request.host
        if origin and urlparse(origin).netloc != expected:
            raise ApiError(403, f"cross-origin request from {origin!r} refused")
    headers = CIMultiDict(request.headers)
    headers[hdrs.AUTHORIZATION] = "Bearer " + sess.TOKEN_PREFIX + cookie
    return request.clone(headers=headers)


def content_security_policy(host: str | None, schemes: tuple[str, ...] = ("ws", "wss")) -> str:
    """The CSP, with the live tail's WebSocket origin spelled out: some browsers do not count
    ws(s)://same-host as 'self'. Hosts that are not plain host[:port] are left out."""
    if host and _HOST_RE.match(host):
        extra = " ".join(f"{s}://{host}" for s in schemes)
        return CSP.replace("connect-src 'self'", f"connect-src 'self' {extra}")
    return CSP


def csp_for_origin(public_origin: str) -> str:
    """The CSP for the configured ``web.public_origin`` (issue 16 item 12): the WebSocket origin
    comes from configuration, never from the request's Host header, which the client writes.
    Unset: ``connect-src 'self'`` only (CSP level 3 browsers count same-host ws(s) as 'self')."""
    if not public_origin:
        return CSP
    url = urlparse(public_origin)
    if url.scheme not in ("http", "https") or not url.netloc:
        return CSP
    return content_security_policy(url.netloc, ("wss",) if url.scheme == "https" else ("ws", "wss"))


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Strict CSP and friends on every response (JSON and static files included)."""
    response.headers.setdefault("Content-Security-Policy", csp_for_origin(request.app[WEB].public_origin))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
