"""Dashboard sessions at request time: the signing secret, key re-checks, the API verifier, guards.

A session is a signed cookie (:mod:`ui.web.session`, pure functions) naming the API key that
signed in. :func:`session_verifier` is what the API's :class:`ui.auth.Authenticator` consults
for ``Bearer lhs.<cookie>`` tokens (registered by ``ui.web.routes.setup``), so pages, their
JavaScript and scripts all pass the same tenant, scope and rate checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from opensearchpy import NotFoundError
from opensearchpy.exceptions import TransportError

from opensearch.keys import KeyStore
from ui.auth import AuthError, Principal, Verifier
from ui.errors import ApiError
from ui.web import session as sess
from ui.web.state import SESSION, STATE, WEB, opensearch_as_503

SECRETS_INDEX = ".logharbor-ui-secrets"


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
        with opensearch_as_503("cannot read the session secret"):
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
        with opensearch_as_503("cannot check the API key"):
            record = await KeyStore(self._client_getter()).get(key_id)
        # A rotated key (replaced_by) keeps working for shippers during its grace period, but
        # no longer backs dashboard sessions: rotation ends them like revocation does.
        ok = record is not None and record.status() == "active" and not record.replaced_by
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key_id] = (now, ok)
        return ok


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
    revoked = app[STATE].get("revoked")
    if revoked is not None and await revoked.is_revoked(session.sid):
        return None  # signed out (ui.web.revocations): a copied cookie ends with the session
    return session


def session_verifier(app: web.Application) -> Verifier:
    """The API authenticator's verifier for ``lhs.<cookie>`` tokens (the prefix already removed)."""

    async def verify(cookie: str) -> Principal:
        session = await resolve_session(app, cookie)
        if session is None:
            raise AuthError(401, "session expired or signed out; sign in again")
        return principal_of(session)

    return verify


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


async def signed_form(request: web.Request, admin: bool = False) -> tuple[sess.Session, Any]:
    """A state-changing form post: the session (admin if asked), the form, its CSRF token checked."""
    session = await require_session(request, admin=admin)
    form = await request.post()
    await require_csrf(request, session, str(form.get("csrf_token") or ""))
    return session, form


def cookie_secure(request: web.Request) -> bool:
    configured = request.app[WEB].cookie_secure
    if configured is not None:
        return configured
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"
