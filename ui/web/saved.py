"""Saved queries: named searches shared by everyone of a tenant, in ``.logharbor-saved-queries``.

One small hidden index for all tenants; every read and write filters on the caller's tenant
(taken from the verified key, never from the request), so one tenant cannot list, open,
rename or delete another's queries even by guessing ids.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from opensearchpy import AsyncOpenSearch, NotFoundError

SAVED_INDEX = ".logharbor-saved-queries"
MAX_NAME = 120
MAX_DESCRIPTION = 2000
QUERY_KEYS = ("q", "range", "from", "to", "bh", "level", "source")

_MAPPING = {
    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
    "mappings": {"dynamic": "strict", "properties": {
        "id": {"type": "keyword"},
        "tenant": {"type": "keyword"},
        "name": {"type": "keyword"},
        "description": {"type": "text"},
        "query": {"type": "object", "enabled": False},
        "created_at": {"type": "date"},
        "updated_at": {"type": "date"},
        "created_by": {"type": "keyword"},
    }},
}


class SavedQueryError(ValueError):
    """Invalid input (400) — the message says which member and why."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def clean_name(value: Any) -> str:
    name = str(value or "").strip()
    if not name:
        raise SavedQueryError("'name' is required")
    if len(name) > MAX_NAME:
        raise SavedQueryError(f"'name' is longer than {MAX_NAME} characters")
    return name


def clean_description(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_DESCRIPTION:
        raise SavedQueryError(f"'description' is longer than {MAX_DESCRIPTION} characters")
    return text


def clean_query(value: Any) -> dict[str, Any]:
    """The stored search: the search page's URL state (q, range, from, to, bh, level, source)."""
    if not isinstance(value, dict):
        raise SavedQueryError("'query' must be an object like {\"q\": \"level:ERROR\", \"range\": \"24h\"}")
    unknown = sorted(set(value) - set(QUERY_KEYS))
    if unknown:
        raise SavedQueryError(f"'query' has unknown members {unknown}; known: {', '.join(QUERY_KEYS)}")
    out: dict[str, Any] = {}
    for k in ("q", "range", "from", "to"):
        v = value.get(k)
        if v is not None and not isinstance(v, str):
            raise SavedQueryError(f"'query.{k}' must be a string")
        out[k] = v or ""
    out["bh"] = bool(value.get("bh"))
    for k in ("level", "source"):
        v = value.get(k) or []
        if isinstance(v, str):
            v = [p for p in v.split(",") if p]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise SavedQueryError(f"'query.{k}' must be a list of strings")
        out[k] = v
    if len(out["q"]) > 10_000:
        raise SavedQueryError("'query.q' is longer than 10000 characters")
    return out


class SavedQueryStore:
    """CRUD over the saved-queries index, always within one tenant."""

    def __init__(self, client: AsyncOpenSearch, index: str = SAVED_INDEX) -> None:
        self.client = client
        self.index = index
        self._ready = False

    async def ensure_index(self) -> None:
        if self._ready:
            return
        if not await self.client.indices.exists(index=self.index):
            try:
                await self.client.indices.create(index=self.index, body=_MAPPING)
            except Exception as exc:  # a concurrent creator won the race
                if "resource_already_exists" not in str(exc):
                    raise
        self._ready = True

    async def list(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's saved queries by name (at most 1000: a list a human picks from)."""
        if not self._ready and not await self.client.indices.exists(index=self.index):
            return []
        resp = await self.client.search(index=self.index, body={
            "query": {"term": {"tenant": tenant}}, "size": 1000, "sort": [{"name": "asc"}]})
        return [h["_source"] for h in resp["hits"]["hits"]]

    async def get(self, tenant: str, query_id: str) -> dict[str, Any] | None:
        try:
            doc = await self.client.get(index=self.index, id=query_id)
        except NotFoundError:
            return None
        src = doc["_source"]
        return src if src.get("tenant") == tenant else None

    async def create(self, tenant: str, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        await self.ensure_index()
        now = _now()
        doc = {"id": secrets.token_urlsafe(9), "tenant": tenant, "name": clean_name(body.get("name")),
               "description": clean_description(body.get("description")),
               "query": clean_query(body.get("query", {})), "created_at": now, "updated_at": now,
               "created_by": key_id}
        await self.client.index(index=self.index, id=doc["id"], body=doc, op_type="create", refresh="wait_for")
        return doc

    async def update(self, tenant: str, query_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Rename, redescribe or replace the query; members left out stay as they are."""
        doc = await self.get(tenant, query_id)
        if doc is None:
            return None
        if "name" in body:
            doc["name"] = clean_name(body["name"])
        if "description" in body:
            doc["description"] = clean_description(body["description"])
        if "query" in body:
            doc["query"] = clean_query(body["query"])
        doc["updated_at"] = _now()
        await self.client.index(index=self.index, id=query_id, body=doc, refresh="wait_for")
        return doc

    async def delete(self, tenant: str, query_id: str) -> bool:
        if await self.get(tenant, query_id) is None:
            return False
        await self.client.delete(index=self.index, id=query_id, refresh="wait_for")
        return True


# ---------------------------------------------------------------- OpenAPI (merged into /api/v1/openapi.json)

_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ONE = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/SavedQuery"}}}}
_BODY = {"required": True,
         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SavedQueryInput"}}}}
_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
_COMMON = {"401": {"description": "No key or session", **_ERR}, "403": {"description": "Missing CSRF token "
           "(cookie sessions), scope, or (rename/delete) neither owner nor admin", **_ERR},
           "503": {"description": "OpenSearch unavailable", **_ERR}}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "SavedQueryQuery": {"type": "object", "description": "The search page's URL state.", "properties": {
        "q": {"type": "string"}, "range": {"type": "string", "examples": ["24h"]},
        "from": {"type": "string"}, "to": {"type": "string"}, "bh": {"type": "boolean"},
        "level": {"type": "array", "items": {"type": "string"}},
        "source": {"type": "array", "items": {"type": "string"}}}},
    "SavedQueryInput": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": MAX_NAME}, "description": {"type": "string"},
        "query": {"$ref": "#/components/schemas/SavedQueryQuery"}}},
    "SavedQuery": {"type": "object", "required": ["id", "tenant", "name", "query"], "properties": {
        "id": {"type": "string"}, "tenant": {"type": "string"}, "name": {"type": "string"},
        "description": {"type": "string"}, "query": {"$ref": "#/components/schemas/SavedQueryQuery"},
        "created_at": {"type": "string"}, "updated_at": {"type": "string"}, "created_by": {"type": "string"}}},
}
OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/saved-queries": {
        "get": {"summary": "Saved queries of the caller's tenant (read scope)", "responses": {
            "200": {"description": "List", "content": {"application/json": {"schema": {
                "type": "object", "required": ["saved_queries"], "properties": {"saved_queries": {
                    "type": "array", "items": {"$ref": "#/components/schemas/SavedQuery"}}}}}}}, **_COMMON}},
        "post": {"summary": "Save a query for the tenant", "requestBody": _BODY, "responses": {
            "201": {"description": "Created", **_ONE}, "400": {"description": "Invalid body", **_ERR}, **_COMMON}},
    },
    "/api/v1/saved-queries/{id}": {
        "put": {"summary": "Rename, redescribe or replace (members left out stay)", "parameters": _ID,
                "requestBody": _BODY, "responses": {"200": {"description": "Updated", **_ONE},
                                                    "400": {"description": "Invalid body", **_ERR},
                                                    "404": {"description": "No such saved query", **_ERR},
                                                    **_COMMON}},
        "delete": {"summary": "Delete", "parameters": _ID, "responses": {
            "200": {"description": "Deleted", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"deleted": {"type": "string"}}}}}},
            "404": {"description": "No such saved query", **_ERR}, **_COMMON}},
    },
}
