"""The notification outbox, its delivery log, and the per-rule evaluation lease.

Outbox documents are created with ``op_type=create`` and ``_id`` = a hash of the key
``rule|group|transition|window``: a second evaluator (or the same one after a crash) computing
the same transition gets a 409 and enqueues nothing — one notification per transition. Senders
claim a due entry with ``if_seq_no``/``if_primary_term`` (one sender wins), deliver, and write
the outcome back; a claim that expires (sender died) is picked up by another sender.

The lease (``.logharbor-alerts-leases``, one document per rule) is created, renewed and taken
over with the same compare-and-set; its ``epoch`` grows on every takeover, so a paused former
holder's writes (state with a stale ``seq_no``) are refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from opensearchpy import AsyncOpenSearch, ConflictError, NotFoundError

from opensearch.alerts_store import DELIVERIES, LEASES, OUTBOX, now_ms

OPEN_STATUSES = ("pending", "sending")


def outbox_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class Outbox:
    def __init__(self, client: AsyncOpenSearch) -> None:
        self.client = client

    async def create(self, doc: dict[str, Any], refresh: bool = True) -> tuple[bool, tuple[int, int] | None]:
        """Enqueue; (False, None) if this key was enqueued before (by anyone). ``refresh=False`` when
        the creator delivers the entry itself (nobody needs to find it by search at once)."""
        try:
            resp = await self.client.index(index=OUTBOX, id=outbox_id(doc["key"]), body=doc, op_type="create",
                                           refresh="true" if refresh else "false")
        except ConflictError:
            return False, None
        return True, (resp["_seq_no"], resp["_primary_term"])

    async def create_many(self, docs: list[dict[str, Any]]) -> list[bool]:
        """Enqueue many in one bulk request; per entry whether it was new (False = 409, already there)."""
        if not docs:
            return []
        if len(docs) == 1:
            return [(await self.create(docs[0]))[0]]
        body: list[dict[str, Any]] = []
        for d in docs:
            body += [{"create": {"_index": OUTBOX, "_id": outbox_id(d["key"])}}, d]
        resp = await self.client.bulk(body=body, refresh="true")
        out = []
        for item in resp["items"]:
            status = item["create"]["status"]
            if status not in (200, 201, 409):
                raise RuntimeError(f"outbox write failed: {item['create'].get('error')}")
            out.append(status in (200, 201))
        return out

    async def get(self, key: str) -> tuple[dict[str, Any], tuple[int, int]] | None:
        try:
            d = await self.client.get(index=OUTBOX, id=outbox_id(key))
        except NotFoundError:
            return None
        return d["_source"], (d["_seq_no"], d["_primary_term"])

    async def due(self, now: int, limit: int = 100) -> list[tuple[dict[str, Any], tuple[int, int]]]:
        """Entries to send now: pending and due, or claimed by a sender whose claim expired."""
        query = {"bool": {"should": [
            {"bool": {"filter": [{"term": {"status": "pending"}}, {"range": {"next_attempt_at": {"lte": now}}}]}},
            {"bool": {"filter": [{"term": {"status": "sending"}}, {"range": {"claim_until": {"lt": now}}}]}},
        ], "minimum_should_match": 1}}
        try:
            resp = await self.client.search(index=OUTBOX, body={
                "size": limit, "query": query, "seq_no_primary_term": True, "sort": [{"created_at": "asc"}]})
        except NotFoundError:
            return []
        return [(h["_source"], (h["_seq_no"], h["_primary_term"])) for h in resp["hits"]["hits"]]

    async def save(self, doc: dict[str, Any], version: tuple[int, int],
                   refresh: bool = False) -> tuple[int, int] | None:
        """Compare-and-set write; None if someone else changed the entry meanwhile."""
        try:
            resp = await self.client.index(index=OUTBOX, id=outbox_id(doc["key"]), body=doc, if_seq_no=version[0],
                                           if_primary_term=version[1], refresh="true" if refresh else "false")
        except ConflictError:
            return None
        return resp["_seq_no"], resp["_primary_term"]

    async def history(self, tenant: str, rule_id: str | None = None, limit: int = 100,
                      statuses: list[str] | None = None) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
        if rule_id:
            filters.append({"term": {"rule_id": rule_id}})
        if statuses:
            filters.append({"terms": {"status": statuses}})
        try:
            resp = await self.client.search(index=OUTBOX, body={
                "size": limit, "query": {"bool": {"filter": filters}}, "sort": [{"created_at": "desc"}]})
        except NotFoundError:
            return []
        return [h["_source"] for h in resp["hits"]["hits"]]

    async def log_attempt(self, doc: dict[str, Any]) -> None:
        await self.client.index(index=DELIVERIES, body=doc)

    async def attempts(self, tenant: str, rule_id: str | None = None, key: str | None = None,
                       limit: int = 200) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = [{"term": {"tenant": tenant}}]
        if rule_id:
            filters.append({"term": {"rule_id": rule_id}})
        if key:
            filters.append({"term": {"key": key}})
        try:
            resp = await self.client.search(index=DELIVERIES, body={
                "size": limit, "query": {"bool": {"filter": filters}}, "sort": [{"at": "desc"}]})
        except NotFoundError:
            return []
        return [h["_source"] for h in resp["hits"]["hits"]]


@dataclass
class Lease:
    rule_id: str
    holder: str
    epoch: int
    expires_at: int
    version: tuple[int, int]


class LeaseStore:
    """One lease document per rule: who evaluates it until when."""

    def __init__(self, client: AsyncOpenSearch, holder: str, ttl_ms: int) -> None:
        self.client = client
        self.holder = holder
        self.ttl_ms = ttl_ms

    async def acquire(self, rule_id: str, now: int | None = None) -> Lease | None:
        """Create, renew or take over (only if expired) the rule's lease; None if another holds it."""
        now = now_ms() if now is None else now
        try:
            cur = await self.client.get(index=LEASES, id=rule_id)
        except NotFoundError:
            cur = None
        if cur is None:
            body = {"holder": self.holder, "expires_at": now + self.ttl_ms, "epoch": 1}
            try:
                r = await self.client.index(index=LEASES, id=rule_id, body=body, op_type="create", refresh="false")
            except ConflictError:
                return None
            return Lease(rule_id, self.holder, 1, body["expires_at"], (r["_seq_no"], r["_primary_term"]))
        src = cur["_source"]
        mine = src.get("holder") == self.holder
        if not mine and src.get("expires_at", 0) > now:
            return None
        epoch = src.get("epoch", 0) + (0 if mine else 1)
        body = {"holder": self.holder, "expires_at": now + self.ttl_ms, "epoch": epoch}
        try:
            r = await self.client.index(index=LEASES, id=rule_id, body=body, if_seq_no=cur["_seq_no"],
                                        if_primary_term=cur["_primary_term"])
        except ConflictError:
            return None
        return Lease(rule_id, self.holder, epoch, body["expires_at"], (r["_seq_no"], r["_primary_term"]))

    async def renew(self, lease: Lease, now: int | None = None) -> Lease | None:
        """Extend a lease this process holds; None if it was taken over (fenced out)."""
        now = now_ms() if now is None else now
        body = {"holder": self.holder, "expires_at": now + self.ttl_ms, "epoch": lease.epoch}
        try:
            r = await self.client.index(index=LEASES, id=lease.rule_id, body=body, if_seq_no=lease.version[0],
                                        if_primary_term=lease.version[1])
        except (ConflictError, NotFoundError):
            return None
        return Lease(lease.rule_id, self.holder, lease.epoch, body["expires_at"], (r["_seq_no"], r["_primary_term"]))

    async def release(self, lease: Lease) -> None:
        try:
            await self.client.delete(index=LEASES, id=lease.rule_id, if_seq_no=lease.version[0],
                                     if_primary_term=lease.version[1])
        except (ConflictError, NotFoundError):
            pass
