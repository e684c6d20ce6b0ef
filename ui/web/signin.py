"""Sign-in and sign-out pages: an API key in, a signed session cookie out.

Sessions are HMAC-signed, HttpOnly, SameSite=Strict cookies; the sign-in form carries a CSRF
token bound to a short-lived pre-session cookie. Every sign-in, good or refused, is audited.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ui.auth import AuthError
from ui.errors import ApiError
from ui.http import AUTH, audit_denied, audit_ok
from ui.web import session as sess
from ui.web.render import render
from ui.web.sessions import cookie_secure, current_session, signed_form
from ui.web.state import SESSION, STATE, WEB


async def login_page(request: web.Request) -> web.StreamResponse:
    if await current_session(request) is not None:
        raise web.HTTPSeeOther(sess.safe_next(request.query.get("next")))
    return await _login_form(request, 200, None)


async def _login_form(request: web.Request, status: int, error: str | None, next_: str | None = None
                      ) -> web.Response:
    # Always a fresh, server-signed value (issue 16 item 8): a pre-session cookie planted by
    # someone else (session fixation / login CSRF) is never adopted, only replaced.
    secret = await request.app[STATE]["secret"].get()
    pre = sess.new_pre_session(secret)
    resp = await render(request, "login.html", status=status, error=error, login_csrf=sess.csrf_token(secret, pre),
                        next=sess.safe_next(next_ if next_ is not None else request.query.get("next")))
    resp.set_cookie(sess.PRE_COOKIE, pre, httponly=True, samesite="Strict", path="/login",
                    secure=cookie_secure(request), max_age=3600)
    return resp


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    secret = await request.app[STATE]["secret"].get()
    pre = sess.verified_pre_session(secret, request.cookies.get(sess.PRE_COOKIE))
    if not sess.check_csrf(secret, pre, str(form.get("csrf_token") or "")):
        raise ApiError(403, "missing or invalid CSRF token; reload the sign-in page and try again")
    key = str(form.get("api_key") or "").strip()
    next_ = str(form.get("next") or "")
    request[SESSION] = None
    if not key or key.startswith(sess.TOKEN_PREFIX):
        return await _login_form(request, 401, "Enter an API key with the 'read' or 'admin' scope.", next_)
    try:
        principal = await request.app[AUTH].authenticate("Bearer " + key, "read")
    except AuthError as exc:
        audit_denied(request, "ui.login", exc.status, exc.message)
        return await _login_form(request, exc.status, exc.message, next_)
    except ApiError as exc:
        return await _login_form(request, exc.status, exc.message, next_)
    settings = request.app[WEB]
    session = sess.new_session(principal.key_id, principal.tenant, sorted(principal.scopes), settings.session_ttl_s)
    audit_ok(request, principal, "ui.login", status=303)
    resp = web.HTTPSeeOther(sess.safe_next(str(form.get("next") or "")))
    resp.set_cookie(sess.COOKIE, sess.encode_session(session, secret), httponly=True, samesite="Strict", path="/",
                    secure=cookie_secure(request), max_age=settings.session_ttl_s)
    resp.del_cookie(sess.PRE_COOKIE, path="/login")
    raise resp


async def logout(request: web.Request) -> web.StreamResponse:
    session, _form = await signed_form(request)
    await request.app[STATE]["revoked"].revoke(session)  # server-side: the cookie is dead everywhere
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(sess.COOKIE, path="/")
    raise resp


async def session_info(request: web.Request) -> web.Response:
    """Who is signed in, for the sign-in page's script. A shared link opened from another site
    arrives without the SameSite=Strict cookie and lands on /login; the page's own same-site
    request does carry it, so a signed-in user is sent straight on instead of asked again."""
    session = await current_session(request)
    body: dict[str, Any] = {"signed_in": session is not None}
    if session is not None:
        body.update(tenant=session.tenant, scopes=list(session.scopes), key_id=session.key_id,
                    expires=session.expires)
    return web.Response(body=orjson.dumps(body), content_type="application/json",
                        headers={"Cache-Control": "no-store"})


async def index(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/search")


ROUTES = [
    web.get("/", index),
    web.get("/login", login_page),
    web.post("/login", login_submit),
    web.post("/logout", logout),
    web.get("/session", session_info),
]
