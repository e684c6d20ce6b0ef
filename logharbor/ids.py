"""Event ids: ULIDs for fresh events, deterministic ids for replays.

The id is the backbone of "nothing lost, nothing doubled" (docs/ARCHITECTURE.md §2): the pipeline indexes
with ``op_type=create`` and ``_id = id``, so anything that can be re-sent must get the same id
the second time. The shipper hashes (host, path, file identity, offset); the gateway hashes
(key id, Idempotency-Key, position in batch). Fresh events get a ULID, which sorts by time.
"""

from __future__ import annotations

import hashlib
import os
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_ulid(now_ms: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds, 80 random bits."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    return _b32(ms, 10) + _b32(rand, 16)


def stable_id(*parts: object) -> str:
    """A deterministic 32-hex-char id from the given parts (same parts → same id)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(str(part).encode())
        h.update(b"\x1f")
    return h.hexdigest()
