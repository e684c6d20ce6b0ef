"""A lease in OpenSearch: one holder at a time for a named job (snapshot scheduler, lifecycle).

The lease is one document in ``.logharbor-leases`` (``_id`` = job name) holding the holder id
and an expiry. Taking or renewing it is a compare-and-set on ``_seq_no``/``_primary_term``,
so two processes racing for an expired lease cannot both win: OpenSearch answers 409 to the
loser. Expiry uses the processes' wall clocks; keep ``ttl_s`` well above any clock skew
between the hosts that run schedulers (NTP keeps it to milliseconds).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field

from opensearchpy import ConflictError, NotFoundError, OpenSearch, TransportError

LEASE_INDEX = ".logharbor-leases"


def default_holder() -> str:
    """host:pid:random — unique per process, readable in the lease document."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _ensure_index(client: OpenSearch) -> None:
    if client.indices.exists(index=LEASE_INDEX):
        return
    try:
        client.indices.create(index=LEASE_INDEX, body={
            "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
            "mappings": {"properties": {"holder": {"type": "keyword"}, "kind": {"type": "keyword"},
                                        "expires_at": {"type": "double"}, "acquired_at": {"type": "double"}}},
        })
    except TransportError as exc:
        if "resource_already_exists" not in str(exc):
            raise


@dataclass
class Lease:
    """``acquire()`` takes or renews the lease; True while this process holds it."""

    client: OpenSearch
    name: str
    ttl_s: float = 60.0
    holder: str = field(default_factory=default_holder)

    def acquire(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        _ensure_index(self.client)
        body = {"holder": self.holder, "expires_at": now + self.ttl_s, "acquired_at": now}
        try:
            got = self.client.get(index=LEASE_INDEX, id=self.name)
        except NotFoundError:
            try:
                self.client.index(index=LEASE_INDEX, id=self.name, body=body, op_type="create", refresh="true")
                return True
            except ConflictError:
                return False
        src = got["_source"]
        if src.get("holder") != self.holder and float(src.get("expires_at", 0)) > now:
            return False
        if src.get("holder") == self.holder:
            body["acquired_at"] = src.get("acquired_at", now)
        try:
            self.client.index(index=LEASE_INDEX, id=self.name, body=body, refresh="true",
                              if_seq_no=got["_seq_no"], if_primary_term=got["_primary_term"])
            return True
        except ConflictError:
            return False

    def release(self) -> None:
        """Give the lease up (only if still ours), so another process takes over at once."""
        try:
            got = self.client.get(index=LEASE_INDEX, id=self.name)
        except NotFoundError:
            return
        if got["_source"].get("holder") != self.holder:
            return
        try:
            self.client.delete(index=LEASE_INDEX, id=self.name, refresh="true",
                               if_seq_no=got["_seq_no"], if_primary_term=got["_primary_term"])
        except (ConflictError, NotFoundError):
            pass

    def current(self) -> dict | None:
        """The lease document (holder, expires_at), or None."""
        try:
            return self.client.get(index=LEASE_INDEX, id=self.name)["_source"]
        except NotFoundError:
            return None
