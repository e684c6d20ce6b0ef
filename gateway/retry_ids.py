"""Ids for the retry of a batch that Kafka took only in part, so the retry is a duplicate, not a double.

A 503 tells the client to resend the whole batch. When Kafka acknowledged some of its records
before failing, those are already on their way to the index; their ids decide whether the
resend doubles them. Client ids (the shipper's) and ``Idempotency-Key`` ids are stable by
construction. Ids the gateway minted (ULIDs) are not, so after a partial write this process
remembers the minted ids by (key, digest of the body) for ``ttl_s``; an identical resend to
the same process within that time gets the same ids and the pipeline drops the written ones
as 409 duplicates. Scope, said plainly in docs/GATEWAY.md: per gateway process and bounded
in size; clients that need more send ids or an ``Idempotency-Key``.

The memo is empty in normal operation, so the hot path pays one dict lookup per request.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict


def body_digest(key_id: str, body: bytes) -> bytes:
    """The memo key of a request body (blake2b is ~1 GB/s: 1 ms for a 1 MB batch)."""
    return hashlib.blake2b(body, digest_size=16, key=key_id.encode()[:64]).digest()


class PartialWriteMemo:
    """(key id, body digest) → {entry index: id} for batches answered 503 after a partial write."""

    def __init__(self, ttl_s: float = 600.0, max_batches: int = 1000) -> None:
        self.ttl_s = ttl_s
        self.max_batches = max_batches
        self._ids: OrderedDict[bytes, tuple[float, dict[int, str]]] = OrderedDict()

    def __bool__(self) -> bool:
        return bool(self._ids)

    def remember(self, digest: bytes, ids: dict[int, str]) -> None:
        self._ids[digest] = (time.monotonic() + self.ttl_s, ids)
        self._ids.move_to_end(digest)
        while len(self._ids) > self.max_batches:
            self._ids.popitem(last=False)

    def recall(self, digest: bytes) -> dict[int, str] | None:
        found = self._ids.get(digest)
        if found is None:
            return None
        if found[0] < time.monotonic():
            del self._ids[digest]
            return None
        return found[1]

    def forget(self, digest: bytes) -> None:
        self._ids.pop(digest, None)
