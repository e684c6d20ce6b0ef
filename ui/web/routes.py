"""The web dashboard's routes: pages, the session bridge to the query API, saved-query API.

``setup(app)`` is called by :func:`ui.app.create_app`. Pages are server-rendered Jinja
(autoescape on) over the same :class:`ui.api.QueryService` calls the JSON API makes; the
JavaScript in ``static/`` calls the ``/api/v1`` endpoints themselves with the session cookie,
which the middleware here turns into the API's own ``Authorization`` header
(``Bearer lhs.<cookie>``), so the browser never holds an API key and every page is a view
over an API call a script can make too.

Security model (log content is attacker-controlled): templates autoescape, JavaScript builds
DOM with ``textContent`` only, and a strict Content-Security-Policy (no inline script or
style) backs both. Sessions are HMAC-signed, HttpOnly, SameSite=Strict cookies; every
state-changing request needs the session's CSRF token (form field or ``X-CSRF-Token``), and
a cookie-authenticated WebSocket must come from our own origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import jinja2
import orjson
from aiohttp import hdrs, web
from multidict import CIMultiDict
from opensearchpy import NotFoundError
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from logharbor.levels import LEVELS
from opensearch.audit import audit_record
from opensearch.keys import KeyStore
from ui.auth import (
    Authenticator,
    AuthError,
    Principal,
    RateLimiter,
    bearer_token,
    check_tenant,
    require_scope,
)
from ui.errors import ApiError
from ui.params import parse_filters
from ui.web import session as sess
from ui.web.saved import OPENAPI_PATHS, OPENAPI_SCHEMAS, SavedQueryError, SavedQueryStore
from ui.web.settings import WebSettings
from ui.web.views import (
    RANGES,
    SearchState,
    add_clause,
    analytics_panels,
    level_options,
    mark_position,
    overview_panels,
    sort_link,
    state_from_saved,
)

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SECRETS_INDEX = ".logharbor-ui-secrets"
WEB = web.AppKey("web_settings", WebSettings)
JINJA = web.AppKey("jinja", jinja2.Environment)
STATE = web.AppKey("web_state", dict)
SESSION: web.RequestKey[sess.Session | None] = web.RequestKey("lh_session", object)  # type: ignore[arg-type]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
SIDEBAR_FIRST = ("log.level", "service.name", "host.name", "http.response.status_code", "http.request.method",
                 "url.path", "error.type", "user.id", "labels.env", "labels.environment", "client.geo.country_name")
SIDEBAR_SKIP = frozenset({"@timestamp", "event.id", "event.ingested", "event.received", "message.keyword",
                          "labels.tenant", "trace.id", "http.request.id", "event.duration", "event.original"})
STATIC_VERSION = str(int(time.time()))  # cache-busting per process start


# ---------------------------------------------------------------- secrets and sessions


class SessionSecret:
    """The HMAC secret: configured, or generated once and shared through OpenSearch."""

    def __init__(self, configured: str, client_getter: Callable[[], Any]) -> None:
        self._value = configured.encode() if configured else None
        self._client_getter = client_getter
        self._lock = asyncio.Lock()

    async def get(self) -> bytes:
        if self._value is not None:
            return self._value
        async with self._lock:
            if self._value is None:
                self._value = await self._load_or_create()
        return self._value

    async def _load_or_create(self) -> bytes:
        client = self._client_getter()
        with _opensearch_as_503("cannot read the session secret"):
            for _ in range(3):
                try:
                    doc = await client.get(index=SECRETS_INDEX, id="session")
                    return str(doc["_source"]["secret"]).encode()
                except NotFoundError:
                    pass
                with contextlib.suppress(TransportError):  # index exists, or another process won
                    await client.indices.create(index=SECRETS_INDEX, body={"settings": {"index": {
                        "number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}}})
                with contextlib.suppress(TransportError):  # 409: another ui process created it first
                    await client.index(index=SECRETS_INDEX, id="session", op_type="create", refresh="wait_for",
                                       body={"secret": secrets.token_urlsafe(48)})
        raise ApiError(503, "cannot create the session secret in OpenSearch")


@contextlib.contextmanager
def _opensearch_as_503(what: str) -> Any:
    try:
        yield
    except ApiError:
        raise
    except (OSConnectionError, TransportError) as exc:
        raise ApiError(503, f"{what}: OpenSearch unavailable ({exc})") from exc


class KeyChecker:
    """Is the key behind a session still active? Cached for ``ttl`` seconds per key id."""

    def __init__(self, client_getter: Callable[[], Any], ttl: float) -> None:
        self._client_getter = client_getter
        self._ttl = ttl
        self._cache: dict[str, tuple[float, bool]] = {}

    async def active(self, key_id: str) -> bool:
        if key_id.startswith("static:"):
            return True  # config-file keys live as long as the config; the session expiry bounds them
        hit = self._cache.get(key_id)
        now = time.monotonic()
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        with _opensearch_as_503("cannot check the API key"):
            record = await KeyStore(self._client_getter()).get(key_id)
        ok = record is not None and record.status() == "active"
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_id] = (now, ok)
        return ok


class SessionAuthenticator(Authenticator):
    """The API's authenticator, extended: ``Bearer lhs.<cookie>`` is a dashboard session."""

    def __init__(self, inner: Authenticator, resolve: Callable[[str], Awaitable[sess.Session | None]]) -> None:
        super().__init__([], RateLimiter())
        self._inner = inner
        self._resolve = resolve
        self._session_limiter = RateLimiter()

    async def authenticate(self, authorization: str | None, scope: str) -> Principal:
        token = bearer_token(authorization)
        if not token.startswith(sess.TOKEN_PREFIX):
            return await self._inner.authenticate(authorization, scope)
        session = await self._resolve(token[len(sess.TOKEN_PREFIX):])
        if session is None:
            raise AuthError(401, "session expired or signed out; sign in again")
        principal = principal_of(session)
        check_tenant(principal.tenant)
        require_scope(principal, scope)
        self._session_limiter.check(principal)
        return principal


def principal_of(session: sess.Session) -> Principal:
    return Principal(key_id=session.key_id, tenant=session.tenant, scopes=frozenset(session.scopes))


async def resolve_session(app: web.Application, cookie: str | None) -> sess.Session | None:
    """A valid, unexpired session whose key is still active, or None."""
    if not cookie:
        return None
    secret = await app[STATE]["secret"].get()
    session = sess.decode_session(cookie, secret)
    if session is None:
        return None
    if not await app[STATE]["keys"].active(session.key_id):
        return None
    return session


def _service(request: web.Request) -> Any:
    from ui.app import SERVICE

    return request.app[SERVICE]


async def current_session(request: web.Request) -> sess.Session | None:
    if SESSION not in request:
        request[SESSION] = await resolve_session(request.app, request.cookies.get(sess.COOKIE))
    return request[SESSION]


async def require_session(request: web.Request, admin: bool = False) -> sess.Session:
    """The signed-in session, or a redirect to the sign-in page that comes back here."""
    session = await current_session(request)
    if session is None:
        raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
    if admin and not session.is_admin:
        raise ApiError(403, "this page needs an API key with the 'admin' scope")
    return session


async def require_csrf(request: web.Request, session: sess.Session, presented: str | None) -> None:
    secret = await request.app[STATE]["secret"].get()
    if not sess.check_csrf(secret, session.sid, presented):
        raise ApiError(403, "missing or invalid CSRF token; reload the page and try again")


# ---------------------------------------------------------------- rendering


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


# ---------------------------------------------------------------- middleware and headers


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
        return await _error_page(request, exc.status, exc.reason)
    except ApiError as exc:
        return await _error_page(request, exc.status, exc.message)
    except AuthError as exc:
        return await _error_page(request, exc.status, exc.message)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        log.exception("unhandled error on page %s", request.path)
        return await _error_page(request, 500, "internal error (logged by the ui process)")


async def _bridge(request: web.Request) -> web.Request:
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
        if origin and urlparse(origin).netloc != request.host:
            raise ApiError(403, f"cross-origin request from {origin!r} refused")
    headers = CIMultiDict(request.headers)
    headers[hdrs.AUTHORIZATION] = "Bearer " + sess.TOKEN_PREFIX + cookie
    return request.clone(headers=headers)


async def _error_page(request: web.Request, status: int, message: str | None) -> web.Response:
    with contextlib.suppress(Exception):  # the error page must not fail on a second outage
        await current_session(request)
    request.setdefault(SESSION, None)
    return await render(request, "error.html", status=status, status_code=status,
                        message=message or "error")


_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


def content_security_policy(host: str | None) -> str:
    """The CSP, with the live tail's WebSocket origin spelled out: some browsers do not count
    ws(s)://same-host as 'self'. Hosts that are not plain host[:port] are left out."""
    if host and _HOST_RE.match(host):
        return CSP.replace("connect-src 'self'", f"connect-src 'self' ws://{host} wss://{host}")
    return CSP


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Strict CSP and friends on every response (JSON and static files included)."""
    response.headers.setdefault("Content-Security-Policy", content_security_policy(request.host))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")


def _cookie_secure(request: web.Request) -> bool:
    configured = request.app[WEB].cookie_secure
    if configured is not None:
        return configured
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


# ---------------------------------------------------------------- sign in / out


async def login_page(request: web.Request) -> web.StreamResponse:
    if await current_session(request) is not None:
        raise web.HTTPSeeOther(sess.safe_next(request.query.get("next")))
    return await _login_form(request, 200, None)


async def _login_form(request: web.Request, status: int, error: str | None, next_: str | None = None
                      ) -> web.Response:
    pre = request.cookies.get(sess.PRE_COOKIE) or secrets.token_urlsafe(24)
    secret = await request.app[STATE]["secret"].get()
    resp = await render(request, "login.html", status=status, error=error, login_csrf=sess.csrf_token(secret, pre),
                        next=sess.safe_next(next_ if next_ is not None else request.query.get("next")))
    resp.set_cookie(sess.PRE_COOKIE, pre, httponly=True, samesite="Strict", path="/login",
                    secure=_cookie_secure(request), max_age=3600)
    return resp


async def login_submit(request: web.Request) -> web.StreamResponse:
    from ui.app import AUDIT, AUTH

    form = await request.post()
    secret = await request.app[STATE]["secret"].get()
    if not sess.check_csrf(secret, request.cookies.get(sess.PRE_COOKIE), str(form.get("csrf_token") or "")):
        raise ApiError(403, "missing or invalid CSRF token; reload the sign-in page and try again")
    key = str(form.get("api_key") or "").strip()
    next_ = str(form.get("next") or "")
    request[SESSION] = None
    if not key or key.startswith(sess.TOKEN_PREFIX):
        return await _login_form(request, 401, "Enter an API key with the 'read' or 'admin' scope.", next_)
    try:
        principal = await request.app[AUTH].authenticate("Bearer " + key, "read")
    except AuthError as exc:
        request.app[AUDIT].record(audit_record(action="ui.login", outcome="denied", key_id=None,
                                               client_ip=request.remote, status=exc.status, path=request.path,
                                               component="ui", detail=exc.message))
        return await _login_form(request, exc.status, exc.message, next_)
    except ApiError as exc:
        return await _login_form(request, exc.status, exc.message, next_)
    settings = request.app[WEB]
    session = sess.new_session(principal.key_id, principal.tenant, sorted(principal.scopes), settings.session_ttl_s)
    request.app[AUDIT].record(audit_record(action="ui.login", outcome="ok", key_id=principal.key_id,
                                           tenant=principal.tenant, client_ip=request.remote, status=303,
                                           path=request.path, component="ui"))
    resp = web.HTTPSeeOther(sess.safe_next(str(form.get("next") or "")))
    resp.set_cookie(sess.COOKIE, sess.encode_session(session, secret), httponly=True, samesite="Strict", path="/",
                    secure=_cookie_secure(request), max_age=settings.session_ttl_s)
    resp.del_cookie(sess.PRE_COOKIE, path="/login")
    raise resp


async def logout(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    form = await request.post()
    await require_csrf(request, session, str(form.get("csrf_token") or ""))
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


# ---------------------------------------------------------------- search


def _error_view(exc: BaseException, q: str) -> dict[str, Any]:
    """What the page shows for a failed API call: message, status and the marked query."""
    if isinstance(exc, ApiError):
        position = exc.extra.get("position")
        return {"status": exc.status, "message": exc.message,
                "marked": mark_position(q, position) if exc.status == 400 and exc.extra.get("position") else None,
                "expected": exc.extra.get("expected")}
    if isinstance(exc, AuthError):
        return {"status": exc.status, "message": exc.message, "marked": None, "expected": None}
    log.error("search page failed: %r", exc)
    return {"status": 500, "message": "internal error (logged by the ui process)", "marked": None, "expected": None}


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
    svc = _service(request)
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
        error = _error_view(results, state.effective_q())
        results = None
    rows = []
    paging: dict[str, Any] = {"first": None, "prev": None, "next": None, "from": 0, "to": 0}
    if results is not None:
        for r in results["results"]:
            rows.append({"id": r["id"], "timestamp": r.get("timestamp") or "", "level": r.get("level") or "",
                         "source": r.get("source") or "", "host": r.get("host") or "",
                         "message": table_message(r.get("message")),
                         "link": "/event/" + _quote_id(r["id"])})
        max_offset = _service(request).settings.max_offset
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
    names = sorted(s["source"] for s in (await _service(request).sources(p))["sources"])
    if len(cache) > 10_000:
        cache.clear()
    cache[p.tenant] = (time.monotonic(), names)
    return names


def _quote_id(event_id: str) -> str:
    from urllib.parse import quote

    return quote(str(event_id), safe="")


# ---------------------------------------------------------------- one event, live tail, dashboards


async def event_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    event_id = request.match_info["id"]
    event = await _service(request).detail(principal_of(session), event_id, {})
    fields = event.get("fields") or {}
    stack = (fields.get("error") or {}).get("stack_trace") if isinstance(fields.get("error"), dict) else None
    ctx = request.app[WEB].context_events
    return await render(request, "event.html", event=event, stack_trace=stack, context_n=ctx,
                        json_link=f"/api/v1/logs/{_quote_id(event_id)}?context={ctx}&related=request_id,trace_id,"
                                  "user_id",
                        api_path=f"/api/v1/logs/{_quote_id(event_id)}", permalink=f"/event/{_quote_id(event_id)}")


async def tail_page(request: web.Request) -> web.StreamResponse:
    await require_session(request)
    state = SearchState.from_query(request.query)
    params = {k: v for k, v in state.filter_params().items() if k not in ("from", "to")}
    error = None
    try:  # the WebSocket handshake cannot carry the API's 400 body, so check the query here
        parse_filters(params, datetime.now(UTC))
    except ApiError as exc:
        error = _error_view(exc, state.effective_q())
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


# ---------------------------------------------------------------- saved queries (pages and API)


async def saved_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    items = await _saved_call(request.app[STATE]["saved"].list(session.tenant))
    for item in items:
        item["open_url"] = state_from_saved(item.get("query") or {}).url()
    return await render(request, "saved.html", items=items)


async def _saved_call(coro: Awaitable[Any]) -> Any:
    try:
        with _opensearch_as_503("saved queries unavailable"):
            return await coro
    except SavedQueryError as exc:
        raise ApiError(400, str(exc)) from None


async def saved_create_form(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    form = await request.post()
    await require_csrf(request, session, str(form.get("csrf_token") or ""))
    state = SearchState.from_query(form)
    doc = await _saved_call(request.app[STATE]["saved"].create(session.tenant, session.key_id, {
        "name": form.get("name"), "description": form.get("description"), "query": state.saved_form()}))
    raise web.HTTPSeeOther("/saved#q-" + doc["id"])


async def saved_rename_form(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    form = await request.post()
    await require_csrf(request, session, str(form.get("csrf_token") or ""))
    body = {"name": form.get("name")}
    if "description" in form:
        body["description"] = form.get("description")
    doc = await _saved_call(request.app[STATE]["saved"].update(session.tenant, request.match_info["id"], body))
    if doc is None:
        raise ApiError(404, "no such saved query")
    raise web.HTTPSeeOther("/saved")


async def saved_delete_form(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    form = await request.post()
    await require_csrf(request, session, str(form.get("csrf_token") or ""))
    if not await _saved_call(request.app[STATE]["saved"].delete(session.tenant, request.match_info["id"])):
        raise ApiError(404, "no such saved query")
    raise web.HTTPSeeOther("/saved")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


async def api_saved_list(request: web.Request) -> web.Response:
    from ui.app import authenticate

    p = await authenticate(request, "read")
    return _json({"saved_queries": await _saved_call(request.app[STATE]["saved"].list(p.tenant))})


async def api_saved_create(request: web.Request) -> web.Response:
    from ui.app import authenticate

    p = await authenticate(request, "read")
    body = await _json_body(request)
    return _json(await _saved_call(request.app[STATE]["saved"].create(p.tenant, p.key_id, body)), 201)


async def api_saved_update(request: web.Request) -> web.Response:
    from ui.app import authenticate

    p = await authenticate(request, "read")
    body = await _json_body(request)
    doc = await _saved_call(request.app[STATE]["saved"].update(p.tenant, request.match_info["id"], body))
    if doc is None:
        raise ApiError(404, f"no saved query with id {request.match_info['id']!r}")
    return _json(doc)


async def api_saved_delete(request: web.Request) -> web.Response:
    from ui.app import authenticate

    p = await authenticate(request, "read")
    if not await _saved_call(request.app[STATE]["saved"].delete(p.tenant, request.match_info["id"])):
        raise ApiError(404, f"no saved query with id {request.match_info['id']!r}")
    return _json({"deleted": request.match_info["id"]})


# ---------------------------------------------------------------- sources & keys (admin)


async def admin_page(request: web.Request, new_key: dict[str, Any] | None = None, error: str | None = None,
                     status: int = 200) -> web.StreamResponse:
    """Sources (GET /api/v1/sources) and keys (GET /api/v1/keys) of the admin's tenant."""
    from ui import keys_api
    from ui.app import KEYS

    session = await require_session(request, admin=True)
    p = principal_of(session)
    sources, keys = await asyncio.gather(_service(request).sources(p), _keys_call(keys_api.list_keys(
        request.app[KEYS], p)), return_exceptions=True)
    if isinstance(keys, BaseException):
        if not isinstance(keys, ApiError):
            raise keys
        error, keys = keys.message, {"keys": []}
    source_error = None
    if isinstance(sources, BaseException):
        source_error = _error_view(sources, "")["message"]
        sources = {"sources": []}
    return await render(request, "admin.html", status=status, sources=sources["sources"], source_error=source_error,
                        keys=keys["keys"], new_key=new_key, error=error)


async def _keys_call(coro: Awaitable[Any]) -> Any:
    with _opensearch_as_503("key store unavailable"):
        return await coro


async def _admin_form(request: web.Request) -> tuple[sess.Session, Any]:
    session = await require_session(request, admin=True)
    form = await request.post()
    await require_csrf(request, session, str(form.get("csrf_token") or ""))
    return session, form


def _audit(request: web.Request, session: sess.Session, action: str, detail: str) -> None:
    from ui.app import AUDIT

    request.app[AUDIT].record(audit_record(action=action, outcome="ok", key_id=session.key_id, tenant=session.tenant,
                                           client_ip=request.remote, status=200, path=request.path, component="ui",
                                           detail=detail))


async def admin_key_create(request: web.Request) -> web.StreamResponse:
    """The form twin of POST /api/v1/keys (same validation, same tenant confinement)."""
    from ui import keys_api
    from ui.app import KEYS

    session, form = await _admin_form(request)
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
    _audit(request, session, "key.create", out["record"]["key_id"])
    return await admin_page(request, new_key={"token": out["key"], "key_id": out["record"]["key_id"],
                                              "action": "created"})


async def admin_key_revoke(request: web.Request) -> web.StreamResponse:
    from ui import keys_api
    from ui.app import KEYS

    session, _form = await _admin_form(request)
    out = await _keys_call(keys_api.revoke_key(request.app[KEYS], principal_of(session), request.match_info["id"]))
    _audit(request, session, "key.revoke", out["record"]["key_id"])
    raise web.HTTPSeeOther("/admin")


async def admin_key_rotate(request: web.Request) -> web.StreamResponse:
    from ui import keys_api
    from ui.app import KEYS

    session, form = await _admin_form(request)
    grace = str(form.get("grace") or "").strip()
    try:
        out = await _keys_call(keys_api.rotate_key(request.app[KEYS], principal_of(session), request.match_info["id"],
                                                   {"grace": grace} if grace else {}))
    except ApiError as exc:
        if exc.status != 400:
            raise
        return await admin_page(request, error=exc.message, status=400)
    _audit(request, session, "key.rotate", f"{request.match_info['id']} -> {out['record']['key_id']}")
    return await admin_page(request, new_key={"token": out["key"], "key_id": out["record"]["key_id"],
                                              "action": "rotated"})


# ---------------------------------------------------------------- setup


def setup(app: web.Application, settings: WebSettings | None = None) -> None:
    """Mount the dashboard on the ui app (called by ``ui.app.create_app``)."""
    from ui.app import AUTH, SERVICE

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

    async def on_startup(app: web.Application) -> None:
        # on_startup handlers run after every cleanup_ctx has started (aiohttp runs the contexts
        # as its first startup handler), so the API's service and authenticator exist whatever
        # order create_app set things up in.
        state["saved"] = SavedQueryStore(app[SERVICE].client)

        async def resolve(cookie: str) -> sess.Session | None:
            return await resolve_session(app, cookie)

        app[AUTH] = SessionAuthenticator(app[AUTH], resolve)

    app.on_startup.append(on_startup)
    r = app.router
    r.add_get("/api/v1/saved-queries", api_saved_list)
    r.add_post("/api/v1/saved-queries", api_saved_create)
    r.add_put("/api/v1/saved-queries/{id}", api_saved_update)
    r.add_delete("/api/v1/saved-queries/{id}", api_saved_delete)
    r.add_get("/", index)
    r.add_get("/login", login_page)
    r.add_post("/login", login_submit)
    r.add_post("/logout", logout)
    r.add_get("/session", session_info)
    r.add_get("/search", search_page)
    r.add_get("/event/{id}", event_page)
    r.add_get("/tail", tail_page)
    r.add_get("/dashboard", dashboard_page)
    r.add_get("/analytics", analytics_page)
    r.add_get("/saved", saved_page)
    r.add_post("/saved", saved_create_form)
    r.add_post("/saved/{id}/rename", saved_rename_form)
    r.add_post("/saved/{id}/delete", saved_delete_form)
    r.add_get("/admin", admin_page)
    r.add_post("/admin/keys", admin_key_create)
    r.add_post("/admin/keys/{id}/revoke", admin_key_revoke)
    r.add_post("/admin/keys/{id}/rotate", admin_key_rotate)
    r.add_static("/static/", HERE / "static", append_version=False)
    try:
        from ui.openapi import document_paths
    except ImportError:  # an older ui.openapi without the hook: the routes work, just undocumented
        return
    document_paths(app, OPENAPI_PATHS, OPENAPI_SCHEMAS)

