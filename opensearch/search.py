"""Search execution against a tenant's data streams: filters, pages, cursors, one event and its context.

Plain functions over an ``AsyncOpenSearch`` client; the ui decides *what* to ask, this module
knows *how* to ask OpenSearch. Tenant isolation starts here: :class:`StreamResolver` lists
only ``logs-<tenant>-<class>`` names (never a wildcard handed to OpenSearch), and every search
refuses an empty index list, which OpenSearch would otherwise read as "all indices".
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from opensearchpy import AsyncOpenSearch, NotFoundError
from opensearchpy.exceptions import SerializationError
from opensearchpy.serializer import JSONSerializer

from logharbor import ecs

DLQ_CLASS = "dlq"
_GENERATION = re.compile(r"-\d{6,}$")
_DATE_SUFFIX = re.compile(r"-\d{4}\.\d{2}\.\d{2}$")
SYSTEM_PREFIX = ".logharbor-"


class OrjsonSerializer(JSONSerializer):
    """Parse responses with orjson: search pages are MBs of JSON, and the standard library's
    parser was the single largest cost of an export (measured: ~30% of the ui's CPU)."""

    def loads(self, s: str | bytes) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError as exc:
            raise SerializationError(s, exc) from exc


def get_path(doc: dict[str, Any], path: str) -> Any:
    """A dotted field from an ECS document stored either nested or with dotted keys."""
    if path in doc:
        return doc[path]
    node: Any = doc
    parts = path.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict):
            return None
        if part in node:
            node = node[part]
            continue
        rest = ".".join(parts[i:])
        return node.get(rest)
    return node


@lru_cache(maxsize=4096)
def data_stream_of(index: str) -> str:
    """``.ds-logs-acme-errors-000001`` (or ``…-2026.11.29-000001``) → ``logs-acme-errors``."""
    if not index.startswith(".ds-"):
        return index
    name = _GENERATION.sub("", index[4:])
    return _DATE_SUFFIX.sub("", name)


def streams_of_tenant(names: Iterable[str], tenant: str, classes: Sequence[str] = (),
                      include_dlq: bool = False) -> list[str]:
    """Keep the names that are ``logs-<tenant>-<class>`` with a dash-free class.

    ``logs-acme-*`` would also match tenant ``acme-eu``'s ``logs-acme-eu-errors``; requiring the
    remainder after ``logs-<tenant>-`` to contain no dash keeps the tenants apart.
    """
    prefix = f"logs-{tenant}-"
    out = []
    for name in names:
        if not name.startswith(prefix):
            continue
        cls = name[len(prefix):]
        if not cls or "-" in cls:
            continue
        if classes and cls not in classes:
            continue
        if cls == DLQ_CLASS and not include_dlq and DLQ_CLASS not in classes:
            continue
        out.append(name)
    return sorted(set(out))


class StreamResolver:
    """Which data streams (or plain indices) a tenant owns, cached for a few seconds."""

    def __init__(self, client: AsyncOpenSearch, ttl_s: float = 5.0) -> None:
        self._client = client
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, list[str]]] = {}

    async def all_names(self, tenant: str) -> list[str]:
        hit = self._cache.get(tenant)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        try:
            resolved = await self._client.indices.resolve_index(name=f"logs-{tenant}-*")
        except NotFoundError:
            resolved = {}
        names = [d["name"] for d in resolved.get("data_streams", [])]
        names += [i["name"] for i in resolved.get("indices", []) if not i["name"].startswith(".")]
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[tenant] = (time.monotonic(), names)
        return names

    async def streams(self, tenant: str, classes: Sequence[str] = (), include_dlq: bool = False) -> list[str]:
        return streams_of_tenant(await self.all_names(tenant), tenant, classes, include_dlq)

    def forget(self, tenant: str | None = None) -> None:
        if tenant is None:
            self._cache.clear()
        else:
            self._cache.pop(tenant, None)


def _iso(t: datetime) -> str:
    return t.isoformat()


def build_query(query: Any | None = None, levels: Sequence[str] = (), sources: Sequence[str] = (),
                start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
    """One ``bool`` query: the compiled search expression plus level, source and time filters."""
    filters: list[dict[str, Any]] = []
    must: list[dict[str, Any]] = []
    if query is not None:
        from opensearch.query import compile_query

        must.append(compile_query(query))
    if levels:
        filters.append({"terms": {ecs.LEVEL: list(levels)}})
    if sources:
        filters.append({"terms": {ecs.SERVICE: list(sources)}})
    if start is not None or end is not None:
        rng: dict[str, Any] = {"format": "strict_date_optional_time"}
        if start is not None:
            rng["gte"] = _iso(start)
        if end is not None:
            rng["lt"] = _iso(end)  # half-open [from, to), as in the query engine
        filters.append({"range": {ecs.TIMESTAMP: rng}})
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


SCORE = "_score"


def build_sort(sort: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Sort clauses with ``event.id`` appended as tie-breaker, so ``search_after`` is exact."""
    out: list[dict[str, Any]] = []
    for fld, order in sort:
        if fld == SCORE:  # relevance (§5.5.1 "most relevant first"); newest first breaks ties
            out.append({SCORE: {"order": order}})
            if len(sort) == 1:
                out.append({ecs.TIMESTAMP: {"order": "desc", "unmapped_type": "date", "missing": "_last"}})
            continue
        unmapped = "date" if fld == ecs.TIMESTAMP else "keyword"
        out.append({fld: {"order": order, "unmapped_type": unmapped, "missing": "_last"}})
    if not any(ecs.EVENT_ID in clause for clause in out):
        order = sort[0][1] if sort else "desc"
        out.append({ecs.EVENT_ID: {"order": order, "unmapped_type": "keyword", "missing": "_last"}})
    return out


RESULT_COLUMNS: tuple[str, ...] = (ecs.TIMESTAMP, ecs.LEVEL, ecs.SERVICE, ecs.HOST, ecs.MESSAGE)


def source_includes(fields: Sequence[str]) -> Any:
    """``_source`` for a result list: everything (no ``fields``), or the result columns plus ``fields``."""
    if not fields:
        return True
    return list(dict.fromkeys([*RESULT_COLUMNS, *fields]))


def event_result(doc: dict[str, Any], event_id: str, data_stream: str) -> dict[str, Any]:
    """The one result shape of an event (search, event detail, live tail, alerts): the usual
    columns up front, the whole ECS document in ``fields``. Links are the caller's to add
    (the ui adds ``link``, see ``ui.results``): this layer knows no URLs."""
    return {
        "id": event_id,
        "timestamp": get_path(doc, ecs.TIMESTAMP),
        "level": get_path(doc, ecs.LEVEL),
        "source": get_path(doc, ecs.SERVICE),
        "host": get_path(doc, ecs.HOST),
        "message": get_path(doc, ecs.MESSAGE),
        "data_stream": data_stream,
        "fields": doc,
    }


def hit_to_result(hit: dict[str, Any]) -> dict[str, Any]:
    """A search hit as :func:`event_result`."""
    return event_result(hit.get("_source") or {}, hit["_id"], data_stream_of(hit.get("_index", "")))


def doc_to_result(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored document outside a search (the pipeline's ``logharbor.processed`` messages carry
    ``data_stream.name``) as :func:`event_result`."""
    stream = get_path(doc, "data_stream.name")
    return event_result(doc, str(get_path(doc, ecs.EVENT_ID) or doc.get("id") or ""),
                        stream if isinstance(stream, str) else "")


@dataclass(slots=True)
class Page:
    hits: list[dict[str, Any]]
    total: int
    took_ms: int
    pit_id: str | None = None


def _require(indices: Sequence[str]) -> str:
    if not indices:
        raise ValueError("no indices: refusing a search that OpenSearch would run on all indices")
    return ",".join(indices)


def _total(resp: dict[str, Any]) -> int:
    total = resp.get("hits", {}).get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)


async def search_page(client: AsyncOpenSearch, indices: Sequence[str], query: dict[str, Any],
                      sort: list[dict[str, Any]], limit: int, offset: int = 0,
                      search_after: list[Any] | None = None, source: Any = True) -> Page:
    """One page by ``from`` (shallow) or ``search_after`` without a point in time."""
    body: dict[str, Any] = {"query": query, "sort": sort, "size": limit, "track_total_hits": True,
                            "_source": source}
    if search_after is not None:
        body["search_after"] = search_after
    else:
        body["from"] = offset
    resp = await client.search(
        index=_require(indices), body=body,
        params={"ignore_unavailable": "true", "allow_no_indices": "true", "pre_filter_shard_size": 1},
    )
    return Page(resp["hits"]["hits"], _total(resp), int(resp.get("took", 0)))


async def open_pit(client: AsyncOpenSearch, indices: Sequence[str], keep_alive: str) -> str:
    resp = await client.create_pit(index=_require(indices), params={"keep_alive": keep_alive})
    return resp["pit_id"]


async def close_pit(client: AsyncOpenSearch, pit_id: str) -> None:
    """Best effort: an expired PIT is already gone, and keep_alive bounds a leaked one."""
    try:
        await client.delete_pit(body={"pit_id": [pit_id]})
    except Exception:  # closing is an optimisation, never an error for the caller
        pass


async def pit_page(client: AsyncOpenSearch, pit_id: str, keep_alive: str, query: dict[str, Any],
                   sort: list[dict[str, Any]], limit: int, search_after: list[Any] | None,
                   source: Any = True, track_total: bool = False) -> Page:
    """One page of a point-in-time search after ``search_after`` (None for the first)."""
    body: dict[str, Any] = {
        "query": query, "sort": sort, "size": limit, "track_total_hits": track_total,
        "pit": {"id": pit_id, "keep_alive": keep_alive}, "_source": source,
    }
    if search_after is not None:
        body["search_after"] = search_after
    resp = await client.search(body=body)
    return Page(resp["hits"]["hits"], _total(resp), int(resp.get("took", 0)), resp.get("pit_id", pit_id))


async def get_event(client: AsyncOpenSearch, indices: Sequence[str], event_id: str) -> dict[str, Any] | None:
    """The hit with ``_id == event_id`` (with its sort values, for context paging), or None."""
    if not indices:
        return None
    resp = await client.search(
        index=_require(indices),
        body={"query": {"ids": {"values": [event_id]}}, "size": 1,
              "sort": build_sort([(ecs.TIMESTAMP, "desc")])},
        params={"ignore_unavailable": "true", "allow_no_indices": "true"},
    )
    hits = resp["hits"]["hits"]
    return hits[0] if hits else None


def _same_origin(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for fld in (ecs.SERVICE, ecs.HOST):
        value = get_path(doc, fld)
        if value is None:
            out.append({"bool": {"must_not": {"exists": {"field": fld}}}})
        else:
            out.append({"term": {fld: value}})
    return out


async def context_events(client: AsyncOpenSearch, indices: Sequence[str], hit: dict[str, Any],
                         n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``n`` events before and after ``hit`` from the same source and host, oldest first."""
    if n <= 0:
        return [], []
    query = {"bool": {"filter": _same_origin(hit.get("_source") or {})}}
    before = await search_page(client, indices, query, build_sort([(ecs.TIMESTAMP, "desc")]), n,
                               search_after=hit["sort"])
    after = await search_page(client, indices, query, build_sort([(ecs.TIMESTAMP, "asc")]), n,
                              search_after=hit["sort"])
    return list(reversed(before.hits)), after.hits


async def related_events(client: AsyncOpenSearch, indices: Sequence[str], field: str, value: Any,
                         exclude_id: str, limit: int) -> list[dict[str, Any]]:
    """Events sharing ``field == value`` (request, trace or user id), oldest first."""
    query = {"bool": {"filter": [{"term": {field: value}}],
                      "must_not": [{"ids": {"values": [exclude_id]}}]}}
    page = await search_page(client, indices, query, build_sort([(ecs.TIMESTAMP, "asc")]), limit)
    return page.hits
