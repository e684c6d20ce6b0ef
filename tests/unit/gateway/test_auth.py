"""Key format, verdicts (401 unknown/expired, 403 revoked/scope) and the refreshing key cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gateway.auth import KeyCache, bearer_token
from opensearch.keys import (
    KeyRecord,
    KeyStoreError,
    check_name,
    format_key,
    hash_secret,
    judge,
    key_id_of,
    new_key_id,
    parse_duration,
    split_key,
)

SECRET = "s" * 43
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def record(**kw) -> KeyRecord:
    base = dict(
        key_id="abcdefgh2345",
        secret_hash=hash_secret(SECRET),
        tenant="acme",
        source="web",
        scopes=["ingest"],
        created_at="2026-01-01T00:00:00Z",
    )
    base.update(kw)
    return KeyRecord(**base)


def test_key_format_round_trip_with_underscores_in_secret() -> None:
    kid = new_key_id()
    secret = "ab_cd-" * 8
    token = format_key(kid, secret)
    assert token.startswith("lh_live_")
    assert split_key(token) == (kid, secret)
    assert key_id_of(token) == kid and key_id_of(kid) == kid


@pytest.mark.parametrize(
    "token",
    [
        "",
        "lh_live_",
        "lh_test_abcdefgh2345_" + SECRET,
        "lh_live_short_" + SECRET,
        "lh_live_abcdefgh2345_tooshort",
        "Bearer x",
    ],
)
def test_malformed_keys(token: str) -> None:
    assert split_key(token) is None


def test_key_id_of_rejects_junk() -> None:
    with pytest.raises(KeyStoreError):
        key_id_of("nope")


def test_verdicts() -> None:
    assert judge(record(), SECRET, "ingest", NOW).ok
    assert judge(None, SECRET, "ingest", NOW).status == 401
    wrong = judge(record(), "t" * 43, "ingest", NOW)
    assert (wrong.status, wrong.message) == (401, "unknown API key")
    expired = judge(record(expires_at="2026-04-30T00:00:00Z"), SECRET, "ingest", NOW)
    assert expired.status == 401 and expired.outcome == "expired"
    assert "expired at 2026-04-30T00:00:00Z" in expired.message
    assert "logharbor keys rotate abcdefgh2345" in expired.message
    revoked = judge(record(revoked_at="2026-04-01T00:00:00Z"), SECRET, "ingest", NOW)
    assert (revoked.status, revoked.outcome) == (403, "revoked")
    scope = judge(record(scopes=["read"]), SECRET, "ingest", NOW)
    assert scope.status == 403 and "lacks the 'ingest' scope" in scope.message
    # a revoked key with the wrong secret says nothing about being revoked
    assert judge(record(revoked_at="2026-04-01T00:00:00Z"), "x" * 43, "ingest", NOW).status == 401


def test_status_for_listing() -> None:
    assert record().status(NOW) == "active"
    assert record(expires_at="2026-04-30T00:00:00Z").status(NOW) == "expired"
    assert record(revoked_at="2026-04-30T00:00:00Z").status(NOW) == "revoked"
    assert "secret_hash" not in record().public()


def test_durations_and_names() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("90m") == timedelta(minutes=90)
    with pytest.raises(KeyStoreError, match="unit"):
        parse_duration("30 days")
    assert check_name("tenant", "acme-1") == "acme-1"
    for bad in ("Acme", "", "-x", "a b", "x" * 64):
        with pytest.raises(KeyStoreError):
            check_name("tenant", bad)


def test_bearer_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


class Store:
    """An in-memory stand-in for KeyStore's two read calls (a fake, not a mock: real behaviour)."""

    def __init__(self) -> None:
        self.keys: dict[str, KeyRecord] = {}
        self.gets = 0
        self.fail = False

    async def load_all(self) -> dict[str, KeyRecord]:
        if self.fail:
            raise ConnectionError("opensearch down")
        return dict(self.keys)

    async def get(self, key_id: str) -> KeyRecord | None:
        self.gets += 1
        return self.keys.get(key_id)


async def test_cache_sees_revocation_after_refresh_and_survives_outage() -> None:
    store = Store()
    store.keys["abcdefgh2345"] = record()
    cache = KeyCache(store.load_all, store.get, refresh_s=0.05)
    await cache.start()
    try:
        header = "Bearer " + format_key("abcdefgh2345", SECRET)
        verdict, kid = await cache.verify(header)
        assert verdict.ok and kid == "abcdefgh2345"
        store.keys["abcdefgh2345"] = record(revoked_at="2026-04-01T00:00:00Z")
        await asyncio.sleep(0.2)
        assert (await cache.verify(header))[0].status == 403
        store.fail = True  # OpenSearch down: the last snapshot keeps answering
        await asyncio.sleep(0.2)
        assert (await cache.verify(header))[0].status == 403
        assert cache.last_error == "opensearch down"
    finally:
        await cache.close()


async def test_cache_misses_hit_the_store_once_per_interval() -> None:
    store = Store()
    cache = KeyCache(store.load_all, store.get, refresh_s=60)
    await cache.refresh()
    header = "Bearer " + format_key("zzzzzzzzzzzz", SECRET)
    for _ in range(5):
        assert (await cache.verify(header))[0].status == 401
    assert store.gets == 1
    # a key created after the last refresh works at once
    store.keys["newkey234567"] = record(key_id="newkey234567")
    assert (await cache.verify("Bearer " + format_key("newkey234567", SECRET)))[0].ok


async def test_missing_and_malformed_headers() -> None:
    store = Store()
    cache = KeyCache(store.load_all, store.get)
    assert (await cache.verify(None))[0].message.startswith("missing Authorization header")
    assert (await cache.verify("Token x"))[0].status == 401
    assert (await cache.verify("Bearer nope"))[0].outcome == "malformed"
    assert store.gets == 0


async def test_unreachable_store_is_503_for_uncached_keys_but_cached_keys_keep_working() -> None:
    store = Store()
    store.keys["abcdefgh2345"] = record()
    cache = KeyCache(store.load_all, store.get, refresh_s=60)
    await cache.refresh()
    store.fail = True

    async def down(key_id: str):
        raise ConnectionError("opensearch down")

    cache._get_one = down
    assert (await cache.verify("Bearer " + format_key("abcdefgh2345", SECRET)))[0].ok
    verdict, kid = await cache.verify("Bearer " + format_key("otherkey2345", SECRET))
    assert (verdict.status, verdict.outcome, kid) == (503, "unavailable", "otherkey2345")


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    from gateway.auth import client_address, parse_networks

    lb = parse_networks(["10.0.0.0/8", "192.168.1.5"])
    assert client_address("203.0.113.9", "1.2.3.4", lb) == "203.0.113.9"  # untrusted peer: header ignored
    assert client_address("10.1.2.3", "198.51.100.7", lb) == "198.51.100.7"
    # the client may prepend anything; the nearest untrusted hop counts
    assert client_address("10.1.2.3", "6.6.6.6, 198.51.100.7, 10.9.9.9", lb) == "198.51.100.7"
    assert client_address("10.1.2.3", "not-an-ip", lb) == "10.1.2.3"
    assert client_address("10.1.2.3", None, lb) == "10.1.2.3"
    assert client_address("10.1.2.3", "198.51.100.7", ()) == "10.1.2.3"  # nothing trusted by default
    with pytest.raises(ValueError):
        parse_networks(["10.0.0.0/33"])
