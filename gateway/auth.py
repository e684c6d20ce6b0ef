"""Authentication for ingest: Bearer key → verdict, from a key cache refreshed every few seconds.

Why a cache: a lookup in OpenSearch per request would put a round trip on the hot path and
make ingest depend on OpenSearch being up. The cache reloads all keys every
``key_refresh_s`` (5 s by default), which is the documented delay for a revocation to reach
every gateway. A key id not in the cache (just created) is looked up once and remembered —
also when absent, for one refresh interval, so a flood of random ids cannot hammer
OpenSearch. If OpenSearch is unreachable the last good snapshot keeps serving; a key outside
it gets 503 (retry), not 401, because the gateway cannot tell whether it exists.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable

from logharbor.tasks import stop_task
from opensearch.keys import KeyRecord, Verdict, judge, split_key

log = logging.getLogger(__name__)

Loader = Callable[[], Awaitable[dict[str, KeyRecord]]]
Getter = Callable[[str], Awaitable[KeyRecord | None]]


def parse_networks(cidrs: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Settings' ``trusted_proxies`` (addresses or CIDRs) → networks; a typo fails at start."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def client_address(
    peer: str | None,
    forwarded_for: str | None,
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> str | None:
    """The client's address for the audit log.

    ``X-Forwarded-For`` is believed only when the TCP peer is a trusted proxy, and then walked
    from the right (nearest hop) past further trusted proxies: anything left of the first
    untrusted hop could have been written by the client itself.
    """
    if not peer or not trusted or not forwarded_for:
        return peer

    def is_trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in trusted)

    if not is_trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: fall back to what we know
    return hops[0] if hops else peer


def bearer_token(header: str | None) -> str | None:
    """The token from ``Authorization: Bearer <token>``, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def missing_verdict(header: str | None) -> Verdict:
    if not header:
        return Verdict("missing", 401, "missing Authorization header: send 'Authorization: Bearer lh_live_…'")
    return Verdict("malformed", 401, "Authorization must be 'Bearer <key>'")


class KeyStoreUnavailable(Exception):
    """A key not in the cache could not be looked up (OpenSearch unreachable)."""


class KeyCache:
    """All keys by id, refreshed in the background; lookups never wait on OpenSearch except misses."""

    def __init__(self, load_all: Loader, get_one: Getter, refresh_s: float = 5.0, max_negative: int = 10_000) -> None:
        self._load_all = load_all
        self._get_one = get_one
        self.refresh_s = refresh_s
        self.max_negative = max_negative
        self._keys: dict[str, KeyRecord] = {}
        self._negative: dict[str, float] = {}
        self.loaded_at: float | None = None
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> bool:
        try:
            self._keys = await self._load_all()
        except Exception as exc:
            self.last_error = str(exc)
            log.warning("keys: refresh failed (%s); serving the last snapshot", exc)
            return False
        self._negative.clear()
        self.loaded_at = time.monotonic()
        self.last_error = None
        return True

    async def lookup(self, key_id: str) -> KeyRecord | None:
        record = self._keys.get(key_id)
        if record is not None:
            return record
        now = time.monotonic()
        until = self._negative.get(key_id)
        if until is not None and until > now:
            return None
        try:
            record = await self._get_one(key_id)
        except Exception as exc:
            log.warning("keys: lookup of %s failed (%s)", key_id, exc)
            raise KeyStoreUnavailable(str(exc)) from exc
        if record is None:
            if len(self._negative) >= self.max_negative:
                self._negative.clear()
            self._negative[key_id] = now + self.refresh_s
        else:
            self._keys[key_id] = record
        return record

    async def verify(self, authorization: str | None, scope: str = "ingest") -> tuple[Verdict, str | None]:
        """(verdict, key id or None) for an Authorization header."""
        token = bearer_token(authorization)
        if token is None:
            return missing_verdict(authorization), None
        parts = split_key(token)
        if parts is None:
            return Verdict("malformed", 401, "malformed API key: expected lh_live_<id>_<secret>"), None
        key_id, secret = parts
        try:
            record = await self.lookup(key_id)
        except KeyStoreUnavailable:
            # not "unknown key": a shipper must retry this, not give up on its key
            return Verdict("unavailable", 503, "cannot verify the API key: the key store is unreachable"), key_id
        return judge(record, secret, scope), key_id

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            await self.refresh()

    async def start(self) -> None:
        await self.refresh()
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="key-cache")

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None
