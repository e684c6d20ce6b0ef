"""Who is calling and may they: Bearer keys, scopes and a per-key token bucket.

Decisions only (no HTTP): the app turns :class:`AuthError` into a JSON response. Keys come
from the gateway's key store (``opensearch.keys.KeyStore``, index ``.logharbor-keys``) and from
``ui.static_keys`` in the config (bootstrap before any key exists). The tenant of the key is the only
tenant a request can read: every index pattern is built from :attr:`Principal.tenant`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from logharbor import tenancy
from ui.errors import ApiError
from ui.settings import StaticKey

OPERATOR = "operator"
SCOPES: frozenset[str] = frozenset({"ingest", "read", "admin", OPERATOR})
# What each scope implies. ``operator`` runs the installation (every tenant): it is the only
# scope that sees cluster-wide figures or changes cluster-wide defaults, and it implies the
# tenant scopes ``admin`` and ``read`` within its own tenant. ``admin`` implies ``read``.
IMPLIES: dict[str, frozenset[str]] = {
    OPERATOR: frozenset({OPERATOR, "admin", "read"}),
    "admin": frozenset({"admin", "read"}),
    "read": frozenset({"read"}),
    "ingest": frozenset({"ingest"}),
}
# Data stream names are lowercase and must not contain wildcards or list separators, else a
# tenant name could widen the index pattern built from it.
DEFAULT_RATE = 50.0
DEFAULT_BURST = 100
TENANT_RE = tenancy.TENANT_RE  # the one rule (logharbor/tenancy.py): the key store uses it too


class AuthError(Exception):
    """Refusal with the HTTP status it maps to (401, 403 or 429)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified key: its tenant, scopes and rate limit."""

    key_id: str
    tenant: str
    scopes: frozenset[str]
    rate: float = 50.0
    burst: int = 100


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; 401 when absent or malformed."""
    if not authorization:
        raise AuthError(401, "missing Authorization header (expected 'Bearer <key>')")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "malformed Authorization header (expected 'Bearer <key>')")
    return token.strip()


def effective_scopes(scopes: frozenset[str] | set[str] | list[str] | tuple[str, ...]) -> frozenset[str]:
    """The scopes a key may act with: its own plus what they imply (:data:`IMPLIES`)."""
    out: set[str] = set()
    for s in scopes:
        out |= IMPLIES.get(s, frozenset({s}))
    return frozenset(out)


def has_scope(principal: Principal, scope: str) -> bool:
    return scope in effective_scopes(principal.scopes)


def require_scope(principal: Principal, scope: str) -> None:
    """403 unless the key carries ``scope`` (``admin`` implies ``read``; ``operator`` implies both)."""
    if has_scope(principal, scope):
        return
    raise AuthError(403, f"key {principal.key_id} lacks the '{scope}' scope")


def is_operator(principal: Principal) -> bool:
    """True for an operator key: the one place that decides who may act cluster-wide."""
    return OPERATOR in principal.scopes


def require_operator(principal: Principal, what: str = "this operation") -> None:
    """403 unless ``principal`` holds the ``operator`` scope (cluster-wide actions: retention
    defaults for every tenant, cluster figures). Call this before anything cluster-wide."""
    if not is_operator(principal):
        raise AuthError(403, f"{what} is cluster-wide and needs a key with the 'operator' scope "
                             f"(key {principal.key_id} has {', '.join(sorted(principal.scopes)) or 'none'})")


def check_grant(principal: Principal, scopes: list[str] | tuple[str, ...]) -> None:
    """A key may only create keys whose scopes it holds itself (no escalation: a tenant admin
    cannot mint an operator key)."""
    missing = sorted(set(scopes) - effective_scopes(principal.scopes) - {"ingest"})
    if missing:
        raise AuthError(403, f"key {principal.key_id} cannot grant scope(s) {', '.join(missing)} "
                             "it does not hold itself")


def check_tenant(tenant: str) -> str:
    """Refuse tenant names that could widen an index pattern (``*``, ``,``, upper case)."""
    if not TENANT_RE.match(tenant):
        raise AuthError(403, f"key tenant {tenant!r} is not a valid tenant name")
    return tenant


@dataclass(slots=True)
class TokenBucket:
    """Classic token bucket: ``rate`` tokens per second, at most ``burst`` saved up."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def take(self, now: float | None = None) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One bucket per key id, created with the key's own rate and burst."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        self._max_keys = max_keys

    def check(self, principal: Principal, now: float | None = None) -> None:
        bucket = self._buckets.get(principal.key_id)
        if bucket is None or bucket.rate != principal.rate or bucket.burst != principal.burst:
            if len(self._buckets) >= self._max_keys:
                self._buckets.clear()  # bounded memory; a reset bucket only errs towards allowing
            stamp = time.monotonic() if now is None else now
            bucket = self._buckets[principal.key_id] = TokenBucket(principal.rate, principal.burst, stamp=stamp)
        wait = bucket.take(now)
        if wait > 0:
            raise AuthError(429, f"rate limit of key {principal.key_id} exceeded", retry_after=wait)


Verifier = Callable[[str], Awaitable[Principal]]


def static_verifier(keys: Mapping[str, StaticKey]) -> Verifier:
    """Verify against keys from the config file (compared in constant time)."""
    items = list(keys.items())

    async def verify(token: str) -> Principal:
        for secret, key in items:
            if hmac.compare_digest(secret.encode(), token.encode()):
                return Principal(
                    key_id="static:" + secret[:4],
                    tenant=key.tenant,
                    scopes=frozenset(key.scopes),
                    rate=key.rate,
                    burst=key.burst,
                )
        raise AuthError(401, "unknown API key")

    return verify


def principal_from_record(record: Any) -> Principal:
    """Map a key-store :class:`opensearch.keys.KeyRecord` onto :class:`Principal`."""
    return Principal(
        key_id=record.key_id,
        tenant=record.tenant,
        scopes=frozenset(record.scopes),
        rate=float(record.rate or DEFAULT_RATE),
        burst=int(record.burst or DEFAULT_BURST),
    )


def keystore_verifier(store: Any, cache_ttl_s: float = 5.0) -> Verifier:
    """Verify through the gateway's :class:`opensearch.keys.KeyStore`.

    Verdicts are cached for a few seconds by the SHA-256 of the token so a busy dashboard does
    not put a key lookup in front of every search; a revocation takes effect within the TTL
    (the gateway's own cache has the same property).
    """
    cache: dict[str, tuple[float, Any]] = {}

    async def verify(token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = cache.get(digest)
        if hit is not None and now - hit[0] < cache_ttl_s:
            verdict = hit[1]
        else:
            # Scope is judged by require_scope (admin implies read); ask for "read" here so the
            # store's verdict is about the key itself.
            try:
                verdict = await store.verify(token, scope="read")
            except (OSConnectionError, TransportError) as exc:
                # Not the caller's fault: say the key store is unreachable rather than "unknown key".
                raise ApiError(503, f"cannot verify the API key: key store unavailable ({exc})") from exc
            if len(cache) > 10_000:
                cache.clear()
            cache[digest] = (now, verdict)
        if verdict.ok or (verdict.outcome == "forbidden" and verdict.record is not None):
            return principal_from_record(verdict.record)
        raise AuthError(verdict.status, verdict.message)

    return verify


class Authenticator:
    """Token → Principal (static keys first, then the key store), scope check, rate limit.

    Other credential kinds plug in with :meth:`consult`: a token with a registered prefix goes
    to that verifier only (the web dashboard's sessions are ``lhs.<cookie>``), with a rate
    limiter of its own, and through the same tenant and scope checks as a key.
    """

    def __init__(self, verifiers: list[Verifier], limiter: RateLimiter | None = None) -> None:
        self._verifiers = verifiers
        self._limiter = limiter or RateLimiter()
        self._prefixed: dict[str, tuple[Verifier, RateLimiter]] = {}

    def consult(self, prefix: str, verifier: Verifier, limiter: RateLimiter | None = None) -> None:
        """Send tokens starting with ``prefix`` to ``verifier`` (given the token without the prefix)."""
        self._prefixed[prefix] = (verifier, limiter or RateLimiter())

    async def authenticate(self, authorization: str | None, scope: str) -> Principal:
        token = bearer_token(authorization)
        for prefix, (verify_prefixed, limiter) in self._prefixed.items():
            if token.startswith(prefix):
                found = await verify_prefixed(token[len(prefix):])
                check_tenant(found.tenant)
                require_scope(found, scope)
                limiter.check(found)
                return found
        principal: Principal | None = None
        last: AuthError = AuthError(401, "unknown API key")
        for verify in self._verifiers:
            try:
                principal = await verify(token)
                break
            except AuthError as exc:
                last = exc
                if exc.status != 401:
                    raise
        if principal is None:
            raise last
        check_tenant(principal.tenant)
        require_scope(principal, scope)
        self._limiter.check(principal)
        return principal
