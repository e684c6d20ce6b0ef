"""A session lives only as long as its key: revocation and expiry end it (after the recheck TTL)."""

from __future__ import annotations

import pytest
from opensearchpy import NotFoundError
from opensearchpy.exceptions import ConnectionError as OSConnectionError

from ui.errors import ApiError
from ui.web.sessions import KeyChecker


class FakeKeysIndex:
    def __init__(self) -> None:
        self.docs: dict[str, dict] = {}
        self.down = False
        self.calls = 0

    async def get(self, index: str, id: str) -> dict:
        self.calls += 1
        if self.down:
            raise OSConnectionError("N/A", "refused", None)
        if id not in self.docs:
            raise NotFoundError(404, "not_found", {})
        return {"_source": self.docs[id]}


def record(**extra: object) -> dict:
    return {"key_id": "abcdefghijkm", "secret_hash": "0" * 64, "tenant": "acme", "source": "me",
            "scopes": ["read"], "created_at": "2026-01-01T00:00:00Z", **extra}


async def test_revoked_expired_and_deleted_keys_end_the_session() -> None:
    index = FakeKeysIndex()
    checker = KeyChecker(lambda: index, ttl=0)
    index.docs["abcdefghijkm"] = record()
    assert await checker.active("abcdefghijkm")
    index.docs["abcdefghijkm"] = record(revoked_at="2026-01-02T00:00:00Z")
    assert not await checker.active("abcdefghijkm")
    index.docs["abcdefghijkm"] = record(expires_at="2020-01-01T00:00:00Z")
    assert not await checker.active("abcdefghijkm")
    del index.docs["abcdefghijkm"]
    assert not await checker.active("abcdefghijkm")
    assert await checker.active("static:abcd")  # config-file keys have no record to check


async def test_verdicts_are_cached_for_the_ttl_and_outages_are_503() -> None:
    index = FakeKeysIndex()
    index.docs["abcdefghijkm"] = record()
    checker = KeyChecker(lambda: index, ttl=60)
    assert await checker.active("abcdefghijkm") and await checker.active("abcdefghijkm")
    assert index.calls == 1
    index.down = True
    with pytest.raises(ApiError) as err:
        await KeyChecker(lambda: index, ttl=60).active("abcdefghijkm")
    assert err.value.status == 503
