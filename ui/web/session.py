"""Signed session cookies and CSRF tokens: pure functions, no HTTP.

A session is the verified API key's identity (key id, tenant, scopes) plus an expiry, as JSON
signed with HMAC-SHA256. It carries no secret: the key itself never leaves the sign-in form,
so a stolen cookie cannot be turned back into an API key, and it expires on its own. The key
is re-checked against the key store while the session lives (see ``ui.web.sessions.KeyChecker``), so
revoking a key also ends the sessions opened with it.

CSRF tokens are bound to the session id (HMAC of it), so they need no server-side storage;
before sign-in a random pre-session cookie plays the same role (double submit, signed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import orjson

COOKIE = "lh_session"
PRE_COOKIE = "lh_pre"
TOKEN_PREFIX = "lhs."  # "Bearer lhs.<cookie>" is how the session reaches the API's authenticator


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in, until when."""

    sid: str
    key_id: str
    tenant: str
    scopes: tuple[str, ...]
    issued: int
    expires: int

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes or "operator" in self.scopes  # operator implies admin (ui.auth)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, data: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}:{data}".encode(), hashlib.sha256).digest())


def new_session(key_id: str, tenant: str, scopes: list[str] | tuple[str, ...], ttl_s: int,
                now: float | None = None) -> Session:
    now_i = int(time.time() if now is None else now)
    return Session(secrets.token_urlsafe(16), key_id, tenant, tuple(sorted(scopes)), now_i, now_i + ttl_s)


def encode_session(session: Session, secret: bytes) -> str:
    """Cookie value ``<payload>.<mac>``; both parts are URL-safe base64 (no cookie quoting)."""
    payload = _b64(orjson.dumps({"sid": session.sid, "kid": session.key_id, "t": session.tenant,
                                 "s": list(session.scopes), "iat": session.issued, "exp": session.expires}))
    return f"{payload}.{_mac(secret, 'session', payload)}"


def decode_session(value: str | None, secret: bytes, now: float | None = None) -> Session | None:
    """The session of a cookie value, or None when absent, tampered with, malformed or expired."""
    if not value or value.count(".") != 1:
        return None
    payload, mac = value.split(".")
    if not hmac.compare_digest(mac, _mac(secret, "session", payload)):
        return None
    try:
        d = orjson.loads(_unb64(payload))
        session = Session(str(d["sid"]), str(d["kid"]), str(d["t"]), tuple(str(s) for s in d["s"]),
                          int(d["iat"]), int(d["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires <= (time.time() if now is None else now):
        return None
    return session


def new_pre_session(secret: bytes) -> str:
    """A pre-session cookie value: random, signed by the server (``<random>.<mac>``)."""
    value = secrets.token_urlsafe(24)
    return f"{value}.{_mac(secret, 'pre', value)}"


def verified_pre_session(secret: bytes, cookie: str | None) -> str | None:
    """The pre-session cookie if this server made it, else None (a client-chosen value)."""
    if not cookie or cookie.count(".") != 1:
        return None
    value, mac = cookie.split(".")
    return cookie if hmac.compare_digest(mac, _mac(secret, "pre", value)) else None


def csrf_token(secret: bytes, bound_to: str) -> str:
    """The CSRF token for a session id (or a pre-session cookie value)."""
    return _mac(secret, "csrf", bound_to)


def check_csrf(secret: bytes, bound_to: str | None, presented: str | None) -> bool:
    """True only when a token was presented and it is the one bound to this session."""
    if not bound_to or not presented:
        return False
    return hmac.compare_digest(presented, csrf_token(secret, bound_to))


def safe_next(target: str | None, default: str = "/search") -> str:
    """Where to go after sign-in: a local path only, so the login form is no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 0x20 for c in target):
        return default
    return target
