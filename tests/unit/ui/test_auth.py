"""Auth decisions without a server: bearer parsing, scopes, token bucket, key-store verdicts."""

from __future__ import annotations

import pytest

from opensearch.keys import KeyRecord, hash_secret, judge
from ui.auth import (
    Authenticator,
    AuthError,
    Principal,
    RateLimiter,
    TokenBucket,
    bearer_token,
    check_tenant,
    keystore_verifier,
    require_scope,
    static_verifier,
)
from ui.settings import StaticKey


def status_of(fn, *args) -> int:
    with pytest.raises(AuthError) as info:
        fn(*args)
    return info.value.status


def test_bearer_token():
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc ") == "abc"
    assert status_of(bearer_token, None) == 401
    assert status_of(bearer_token, "Basic abc") == 401
    assert status_of(bearer_token, "Bearer ") == 401


def test_scopes_admin_implies_read_only():
    admin = Principal("k", "t", frozenset({"admin"}))
    require_scope(admin, "read")
    require_scope(admin, "admin")
    reader = Principal("k", "t", frozenset({"read"}))
    assert status_of(require_scope, reader, "admin") == 403
    assert status_of(require_scope, Principal("k", "t", frozenset({"ingest"})), "read") == 403


@pytest.mark.parametrize("tenant", ["*", "a,b", "Acme", "", "a*"])
def test_tenants_that_could_widen_an_index_pattern_are_refused(tenant):
    assert status_of(check_tenant, tenant) == 403


def test_token_bucket_refills_at_rate():
    b = TokenBucket(rate=2.0, burst=2, stamp=0.0)
    assert b.take(0.0) == 0.0 and b.take(0.0) == 0.0
    assert b.take(0.0) == pytest.approx(0.5)
    assert b.take(0.5) == 0.0


def test_rate_limiter_gives_retry_after():
    limiter = RateLimiter()
    p = Principal("k1", "t", frozenset({"read"}), rate=1.0, burst=1)
    limiter.check(p, now=100.0)
    with pytest.raises(AuthError) as info:
        limiter.check(p, now=100.2)
    assert info.value.status == 429 and info.value.retry_after == pytest.approx(0.8)
    limiter.check(Principal("k2", "t", frozenset({"read"}), rate=1.0, burst=1), now=100.2)  # own bucket


class MemoryStore:
    """The KeyStore.verify contract (judge on a stored record) without OpenSearch."""

    def __init__(self, records: dict[str, KeyRecord]) -> None:
        self.records = records
        self.calls = 0

    async def verify(self, token: str, scope: str = "ingest"):
        self.calls += 1
        key_id, _, secret = token.partition(".")
        return judge(self.records.get(key_id), secret, scope)


def record(key_id: str, scopes: list[str], **kw) -> KeyRecord:
    return KeyRecord(key_id=key_id, secret_hash=hash_secret("s" * 40), tenant="acme", source="x",
                     scopes=scopes, created_at="2026-01-01T00:00:00Z", rate=5, burst=10, **kw)


async def test_keystore_verdicts_map_to_statuses():
    store = MemoryStore({
        "r": record("r", ["read"]), "i": record("i", ["ingest"]),
        "v": record("v", ["read"], revoked_at="2026-01-02T00:00:00Z"),
        "e": record("e", ["read"], expires_at="2026-01-02T00:00:00Z"),
    })
    auth = Authenticator([keystore_verifier(store)])
    p = await auth.authenticate("Bearer r." + "s" * 40, "read")
    assert (p.tenant, p.key_id, p.rate, p.burst) == ("acme", "r", 5.0, 10)
    for token, scope, status in (("i." + "s" * 40, "read", 403), ("v." + "s" * 40, "read", 403),
                                 ("e." + "s" * 40, "read", 401), ("r." + "x" * 40, "read", 401),
                                 ("r." + "s" * 40, "admin", 403)):
        with pytest.raises(AuthError) as info:
            await auth.authenticate("Bearer " + token, scope)
        assert info.value.status == status, token


async def test_keystore_verdicts_are_cached_briefly():
    store = MemoryStore({"r": record("r", ["read"])})
    verify = keystore_verifier(store, cache_ttl_s=60)
    for _ in range(3):
        await verify("r." + "s" * 40)
    assert store.calls == 1


async def test_static_keys_then_store_and_rate_limit():
    auth = Authenticator([static_verifier({"boot-key-123": StaticKey(tenant="ops", scopes=["admin"], rate=1,
                                                                      burst=1)})])
    p = await auth.authenticate("Bearer boot-key-123", "read")
    assert p.tenant == "ops"
    with pytest.raises(AuthError) as info:
        await auth.authenticate("Bearer boot-key-123", "read")
    assert info.value.status == 429
    with pytest.raises(AuthError) as info:
        await auth.authenticate("Bearer nope", "read")
    assert info.value.status == 401


async def test_consulted_prefix_verifier_gets_its_tokens_only():
    """The dashboard's session tokens go to the verifier registered for their prefix (never to the
    key verifiers), pass the same tenant and scope checks, and other tokens never reach it."""
    seen: list[str] = []

    async def sessions(token: str) -> Principal:
        seen.append(token)
        if token != "good":
            raise AuthError(401, "session expired or signed out; sign in again")
        return Principal("k-session", "acme", frozenset({"read"}))

    async def keys(token: str) -> Principal:
        if token == "key-1":
            return Principal("k-1", "acme", frozenset({"admin"}))
        raise AuthError(401, "unknown API key")

    auth = Authenticator([keys])
    auth.consult("lhs.", sessions)
    assert (await auth.authenticate("Bearer lhs.good", "read")).key_id == "k-session"
    with pytest.raises(AuthError) as info:
        await auth.authenticate("Bearer lhs.stale", "read")
    assert (info.value.status, info.value.message) == (401, "session expired or signed out; sign in again")
    with pytest.raises(AuthError) as info:
        await auth.authenticate("Bearer lhs.good", "admin")
    assert info.value.status == 403
    assert (await auth.authenticate("Bearer key-1", "admin")).key_id == "k-1"
    assert seen == ["good", "stale", "good"]
