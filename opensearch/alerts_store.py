"""Alert rules, rule state and silences in ``.logharbor-alerts*`` system indices.

* ``.logharbor-alerts``: one document per rule (``_id`` = rule id, ``tenant`` field). Every
  read and write names the tenant, so a tenant's admin never sees another tenant's rules.
* ``.logharbor-alerts-state``: one document per rule — last window evaluated, groups, error —
  written with ``if_seq_no``/``if_primary_term`` so only one evaluator's view of a window wins.
* ``.logharbor-alerts-silences``: matchers on rule and group labels with a start and an end.

Group lists are stored with ``enabled: false`` objects: group labels are user data (any field
names) and must not grow the system index's mapping.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from opensearchpy import AsyncOpenSearch, ConflictError, NotFoundError

RULES = ".logharbor-alerts"
STATE = ".logharbor-alerts-state"
SILENCES = ".logharbor-alerts-silences"
OUTBOX = ".logharbor-alerts-outbox"
DELIVERIES = ".logharbor-alerts-deliveries"
LEASES = ".logharbor-alerts-leases"
WATERMARKS = ".logharbor-watermarks"
_SETTINGS = {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True, "refresh_interval": "1s"}}
_KW = {"type": "keyword"}
_DATE = {"type": "date", "format": "epoch_millis||strict_date_optional_time"}
_OPAQUE = {"type": "object", "enabled": False}

MAPPINGS: dict[str, dict[str, Any]] = {
    RULES: {"dynamic": False, "properties": {
        "id": _KW, "tenant": _KW, "name": {"type": "text", "fields": {"raw": _KW}}, "enabled": {"type": "boolean"},
        "severity": _KW, "builtin": _KW, "condition": {"properties": {"type": _KW}}, "updated_at": _DATE}},
    STATE: {"dynamic": False, "properties": {
        "rule_id": _KW, "tenant": _KW, "last_end": {"type": "long"}, "groups": _OPAQUE, "error": {"type": "text"},
        "firing": {"type": "integer"}, "evaluated_at": {"type": "long"}}},
    SILENCES: {"dynamic": False, "properties": {
        "id": _KW, "tenant": _KW, "matchers": _OPAQUE, "starts_at": _DATE, "ends_at": _DATE, "author": _KW,
        "comment": {"type": "text"}}},
    OUTBOX: {"dynamic": False, "properties": {
        "key": _KW, "tenant": _KW, "rule_id": _KW, "group": _KW, "transition": _KW, "window_end": {"type": "long"},
        "status": _KW, "next_attempt_at": {"type": "long"}, "claimed_by": _KW, "claim_until": {"type": "long"},
        "created_at": {"type": "long"}, "notification": _OPAQUE, "channels": _OPAQUE}},
    DELIVERIES: {"dynamic": False, "properties": {
        "key": _KW, "tenant": _KW, "rule_id": _KW, "channel": _KW, "attempt": {"type": "integer"},
        "ok": {"type": "boolean"},
        "status": _KW, "error": {"type": "text"}, "at": {"type": "long"}, "duration_ms": {"type": "float"}}},
    LEASES: {"dynamic": False, "properties": {
        "holder": _KW, "expires_at": {"type": "long"}, "epoch": {"type": "long"}}},
    WATERMARKS: {"dynamic": False, "properties": {
        "group": _KW, "topic": _KW, "partition": {"type": "integer"}, "record_ts": {"type": "long"},
        "caught_up": {"type": "boolean"}, "updated_at": {"type": "long"}}},
}


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


async def ensure_indices(client: AsyncOpenSearch, names: tuple[str, ...] = tuple(MAPPINGS)) -> None:
    """Create the alerting system indices (idempotent, racing creators tolerated)."""
    for name in names:
        if await client.indices.exists(index=name):
            continue
        try:
            await client.indices.create(index=name, body={"settings": _SETTINGS, "mappings": MAPPINGS[name]})
        except Exception as exc:
            if "resource_already_exists" not in str(exc):
                raise


class RuleStore:
    """CRUD of rule documents, always scoped to one tenant (``tenant=None``: every tenant, for evaluators)."""

    def __init__(self, client: AsyncOpenSearch, seal: Callable[[dict], dict] | None = None,
                 unseal: Callable[[dict], dict] | None = None) -> None:
        """``seal``/``unseal``: how a document is written and read back (the alerting package
        encrypts channel secrets with them; the store does not know which fields are secret)."""
        self.client = client
        self._seal = seal or (lambda d: d)
        self._unseal = unseal or (lambda d: d)

    async def put(self, doc: dict[str, Any], create: bool = False) -> None:
        doc = self._seal({**doc, "updated_at": now_ms()})
        await self.client.index(index=RULES, id=doc["id"], body=doc, op_type="create" if create else "index",
                                refresh="wait_for")

    async def get(self, tenant: str | None, rule_id: str) -> dict[str, Any] | None:
        try:
            doc = (await self.client.get(index=RULES, id=rule_id))["_source"]
        except NotFoundError:
            return None
        if tenant is not None and doc.get("tenant") != tenant:
            return None
        return self._unseal(doc)

    async def delete(self, tenant: str, rule_id: str) -> bool:
        if await self.get(tenant, rule_id) is None:
            return False
        with contextlib.suppress(NotFoundError):
            await self.client.delete(index=RULES, id=rule_id, refresh="wait_for")
        for index in (STATE, LEASES):
            with contextlib.suppress(NotFoundError):
                await self.client.delete(index=index, id=rule_id)
        return True

    async def list(self, tenant: str | None = None, enabled_only: bool = False) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = []
        if tenant is not None:
            filters.append({"term": {"tenant": tenant}})
        if enabled_only:
            filters.append({"term": {"enabled": True}})
        try:
            resp = await self.client.search(index=RULES, body={
                "size": 10_000, "query": {"bool": {"filter": filters}}, "sort": [{"id": "asc"}]})
        except NotFoundError:
            return []
        return [self._unseal(h["_source"]) for h in resp["hits"]["hits"]]


class StateStore:
    """Rule state documents with their ``(seq_no, primary_term)`` for compare-and-set writes."""

    def __init__(self, client: AsyncOpenSearch) -> None:
        self.client = client

    async def get(self, rule_id: str) -> tuple[dict[str, Any] | None, tuple[int, int] | None]:
        try:
            doc = await self.client.get(index=STATE, id=rule_id)
        except NotFoundError:
            return None, None
        return doc["_source"], (doc["_seq_no"], doc["_primary_term"])

    async def put(self, rule_id: str, doc: dict[str, Any], version: tuple[int, int] | None) -> bool:
        """Write if nobody else wrote since ``version`` was read (None: only if absent)."""
        kw: dict[str, Any] = {"op_type": "create"} if version is None else {
            "if_seq_no": version[0], "if_primary_term": version[1]}
        try:
            await self.client.index(index=STATE, id=rule_id, body=doc, **kw)
        except ConflictError:
            return False
        return True

    async def many(self, tenant: str | None, rule_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        filters: list[dict[str, Any]] = []
        if tenant is not None:
            filters.append({"term": {"tenant": tenant}})
        if rule_ids is not None:
            filters.append({"terms": {"rule_id": rule_ids}})
        try:
            resp = await self.client.search(index=STATE, body={"size": 10_000, "query": {"bool": {"filter": filters}}})
        except NotFoundError:
            return {}
        return {h["_source"]["rule_id"]: h["_source"] for h in resp["hits"]["hits"]}


class SilenceStore:
    def __init__(self, client: AsyncOpenSearch) -> None:
        self.client = client

    async def put(self, doc: dict[str, Any]) -> None:
        await self.client.index(index=SILENCES, id=doc["id"], body=doc, refresh="wait_for")

    async def delete(self, tenant: str, silence_id: str) -> bool:
        try:
            doc = (await self.client.get(index=SILENCES, id=silence_id))["_source"]
        except NotFoundError:
            return False
        if doc.get("tenant") != tenant:
            return False
        await self.client.delete(index=SILENCES, id=silence_id, refresh="wait_for")
        return True

    async def list(self, tenant: str | None, active_at: int | None = None) -> list[dict[str, Any]]:
        filters: list[dict[str, Any]] = []
        if tenant is not None:
            filters.append({"term": {"tenant": tenant}})
        if active_at is not None:
            filters += [{"range": {"starts_at": {"lte": active_at}}}, {"range": {"ends_at": {"gt": active_at}}}]
        try:
            resp = await self.client.search(index=SILENCES, body={
                "size": 1000, "query": {"bool": {"filter": filters}}, "sort": [{"ends_at": "desc"}]})
        except NotFoundError:
            return []
        return [h["_source"] for h in resp["hits"]["hits"]]
