"""Server-side session revocation (issue 16 item 7): signing out ends the session everywhere.

A session cookie is signed, so without server state a copied cookie kept working until it
expired (8 h) even after its owner signed out. Sign-out now records the session id in
``.logharbor-ui-revoked-sessions`` (shared by every ui process through OpenSearch), and every
request's session is checked against it: at once in the process that signed out, within
``web.key_recheck_s`` in the others (the same window as key revocation). Records carry the
session's expiry, after which they are useless and removed by the next sign-out's clean-up.

Key revocation and rotation end the sessions they back through ``KeyChecker`` (ui.web.sessions):
a revoked, expired or replaced (rotated) key no longer backs any session.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opensearchpy import NotFoundError
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from ui.web import session as sess

log = logging.getLogger(__name__)
REVOKED_INDEX = ".logharbor-ui-revoked-sessions"
_MAPPING = {
    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
    "mappings": {"dynamic": "strict", "properties": {
        "sid": {"type": "keyword"}, "key_id": {"type": "keyword"}, "tenant": {"type": "keyword"},
        "revoked_at": {"type": "date"}, "expires_at": {"type": "date"}}},
}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class SessionRevocations:
    """Revoked session ids: this process's own at once, others' within ``ttl`` seconds."""

    def __init__(self, client_getter: Callable[[], Any], ttl: float, index: str = REVOKED_INDEX) -> None:
        self._client_getter = client_getter
        self._ttl = ttl
        self.index = index
        self._local: dict[str, int] = {}  # sid -> expiry (epoch s)
        self._cache: dict[str, tuple[float, bool]] = {}

    async def revoke(self, session: sess.Session) -> None:
        """Record ``session`` as ended (idempotent)."""
        self._local[session.sid] = session.expires
        self._cache.pop(session.sid, None)
        client = self._client_getter()
        try:
            if not await client.indices.exists(index=self.index):
                with contextlib.suppress(TransportError):  # another process created it first
                    await client.indices.create(index=self.index, body=_MAPPING)
            await client.index(index=self.index, id=session.sid, refresh="wait_for", body={
                "sid": session.sid, "key_id": session.key_id, "tenant": session.tenant,
                "revoked_at": _iso(time.time()), "expires_at": _iso(session.expires)})
        except (OSConnectionError, TransportError) as exc:
            # Signing out never fails: this process refuses the session from now on; other
            # processes learn of it only once it is recorded, so say so loudly.
            log.warning("sign-out of session %s… not recorded in OpenSearch (%s); other ui processes "
                        "accept it until it expires", session.sid[:6], exc)
            return
        with contextlib.suppress(TransportError):  # records of expired sessions are useless now
            await client.delete_by_query(index=self.index, body={"query": {"range": {"expires_at": {"lt": "now"}}}},
                                         params={"conflicts": "proceed", "wait_for_completion": "false"})
        now = time.time()
        for sid in [s for s, exp in self._local.items() if exp <= now]:
            del self._local[sid]

    async def is_revoked(self, sid: str) -> bool:
        if sid in self._local:
            return True
        now = time.monotonic()
        hit = self._cache.get(sid)
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        try:
            await self._client_getter().get(index=self.index, id=sid, params={"_source": "false"})
            revoked = True
        except NotFoundError:  # no such record, or no index yet: nobody signed out
            revoked = False
        except (OSConnectionError, TransportError) as exc:
            # OpenSearch down: this process's own sign-outs still count (above), and the key
            # check fails closed for store keys anyway; only other processes' sign-outs of
            # config-file (static) key sessions go unseen until it is back. Not cached.
            log.warning("cannot check session revocation (%s); using this process's record only", exc)
            return hit[1] if hit else False
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[sid] = (now, revoked)
        return revoked
