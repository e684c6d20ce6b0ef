"""What each query endpoint does, as async functions over OpenSearch — no HTTP in here.

The aiohttp handlers in :mod:`ui.app` only authenticate, call one of these with the caller's
:class:`~ui.auth.Principal` and the query parameters, and serialise the dict returned. Every
index list comes from :meth:`StreamResolver.streams` for ``principal.tenant``, so no code path
can reach another tenant's data streams.

Why one module of ~400 lines: one method per endpoint, each a short orchestration (parameters →
indices → an ``opensearch/`` call → shaped answer); the request bodies live in ``opensearch/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import AsyncOpenSearch, NotFoundError
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from logharbor.config import ConfigError, OpenSearchSettings, StorageSettings
from opensearch import aggregate as agg
from opensearch import field_stats
from opensearch import tenant_overview as overview
from opensearch.client import shards_starting, sync_client
from opensearch.export import Formatter, formatter_for, iter_batches, source_filter
from opensearch.search import (
    Page,
    StreamResolver,
    build_query,
    build_sort,
    close_pit,
    context_events,
    get_event,
    get_path,
    open_pit,
    pit_page,
    related_events,
    search_page,
    source_includes,
)
from ui.auth import Principal
from ui.cursor import decode_cursor, encode_cursor
from ui.errors import ApiError, bad_request
from ui.params import (
    EXPORT_FORMATS,
    Filters,
    choose_interval,
    interval_seconds,
    parse_aggregate,
    parse_detail,
    parse_export,
    parse_filters,
    parse_list,
    parse_search,
    query_error,
    resolve_field,
)
from ui.results import hit_result
from ui.settings import UISettings


@contextlib.contextmanager
def opensearch_errors() -> Iterator[None]:
    """OpenSearch failures as API errors: its 400s are the caller's (bad field type…), the rest 502/503."""
    try:
        yield
    except ApiError:
        raise
    except OSConnectionError as exc:
        raise ApiError(503, f"OpenSearch is unreachable: {exc.error}") from exc
    except TransportError as exc:
        status = exc.status_code if isinstance(exc.status_code, int) else 502
        reason = _reason(exc)
        if status == 400:
            raise ApiError(400, f"OpenSearch rejected the request: {reason}") from exc
        if status == 429:
            raise ApiError(503, f"OpenSearch is overloaded: {reason}") from exc
        if shards_starting(exc):
            raise ApiError(503, "OpenSearch has no started copy of a shard this search needs (a new index "
                                "still starting, or a red cluster): retry shortly, and see GET /api/v1/status "
                                "if it persists", retry_after_s=1) from exc
        raise ApiError(502, f"OpenSearch error {status}: {reason}") from exc


def _reason(exc: TransportError) -> str:
    info = exc.info if isinstance(exc.info, dict) else {}
    err = info.get("error")
    if isinstance(err, dict):
        causes = err.get("root_cause") or []
        if causes and isinstance(causes[0], dict) and causes[0].get("reason"):
            return str(causes[0]["reason"])
        return str(err.get("reason") or err.get("type") or exc.error)
    return str(err or exc.error)


def _ms_since(t0: float) -> int:
    return int((time.perf_counter() - t0) * 1000)


def filters_query(f: Filters) -> dict[str, Any]:
    """The OpenSearch query for the shared filter parameters (compile errors are a 400 too)."""
    from opensearch.query import QuerySyntaxError

    try:
        return build_query(f.query, f.levels, f.sources, f.start, f.end)
    except QuerySyntaxError as exc:
        raise query_error(exc) from None


@dataclass(slots=True)
class ExportPlan:
    """Everything the HTTP layer needs to stream an export."""

    content_type: str
    filename: str
    formatter: Formatter
    batches: AsyncIterator[list[dict[str, Any]]]


class QueryService:
    """The query API's behaviour over one OpenSearch client."""

    def __init__(self, client: AsyncOpenSearch, settings: UISettings, storage: StorageSettings | None = None,
                 resolver: StreamResolver | None = None, os_settings: OpenSearchSettings | None = None) -> None:
        self.client = client
        self.os_settings = os_settings or OpenSearchSettings()
        self._sync: Any = None
        self._rollup_done: dict[str, tuple[float, int]] = {}
        self.settings = settings
        self.storage = storage or StorageSettings()
        self.resolver = resolver or StreamResolver(client)
        self.secret = (settings.cursor_secret or secrets.token_hex(32)).encode()

    async def _indices(self, principal: Principal, f: Filters | None = None,
                       include_dlq: bool = False) -> list[str]:
        with opensearch_errors():
            return await self.resolver.streams(principal.tenant, f.classes if f else (), include_dlq)

    # ------------------------------------------------------------ search

    async def search(self, principal: Principal, query: Mapping[str, str], now: datetime | None = None
                     ) -> dict[str, Any]:
        """A page of results; ``next`` is a cursor while more results exist."""
        t0 = time.perf_counter()
        now = now or datetime.now(UTC)
        p = parse_search(query, self.settings, now)
        if p.cursor:
            return await self._search_cursor(principal, p.cursor, p.limit, t0)
        indices = await self._indices(principal, p.filters)
        if not indices:
            return {"total": 0, "results": [], "took_ms": _ms_since(t0), "next": None}
        os_query = filters_query(p.filters)
        sort = build_sort(p.sort)
        source = source_includes(p.fields)
        with opensearch_errors():
            page = await search_page(self.client, indices, os_query, sort, p.limit, p.offset, source=source)
        position = p.offset + len(page.hits)
        nxt = None
        if page.hits and position < page.total:
            nxt = encode_cursor({
                "tenant": principal.tenant, "indices": indices, "query": os_query, "sort": sort,
                "sa": page.hits[-1]["sort"], "pit": None, "total": page.total, "pos": position,
                "source": source,
            }, self.secret)
        return self._page_response(page, t0, nxt)

    def _page_response(self, page: Page, t0: float, nxt: str | None) -> dict[str, Any]:
        return {
            "total": page.total,
            "results": [hit_result(h) for h in page.hits],
            "took_ms": _ms_since(t0),
            "next": nxt,
        }

    async def _search_cursor(self, principal: Principal, token: str, limit: int, t0: float) -> dict[str, Any]:
        c = decode_cursor(token, self.secret, principal.tenant)
        keep_alive = self.settings.pit_keep_alive
        with opensearch_errors():
            # The first deep page opens the point in time; later pages reuse it, so every page
            # after the first sees one consistent snapshot of the data.
            pit = c["pit"] or await open_pit(self.client, c["indices"], keep_alive)
            try:
                page = await pit_page(self.client, pit, keep_alive, c["query"], c["sort"], limit, c["sa"],
                                      source=c.get("source", True))
            except NotFoundError as exc:
                raise ApiError(410, "cursor expired (its point in time timed out); search again") from exc
        page.total = int(c["total"])
        position = int(c["pos"]) + len(page.hits)
        nxt = None
        if len(page.hits) == limit and position < page.total:
            nxt = encode_cursor({**c, "sa": page.hits[-1]["sort"], "pit": page.pit_id, "pos": position},
                                self.secret)
        else:
            await close_pit(self.client, page.pit_id or pit)
        return self._page_response(page, t0, nxt)

    # ------------------------------------------------------------ one event

    async def detail(self, principal: Principal, event_id: str, query: Mapping[str, str]) -> dict[str, Any]:
        """One event, optionally with ``context`` neighbours and ``related`` events."""
        p = parse_detail(query, self.settings)
        indices = await self._indices(principal, include_dlq=True)
        with opensearch_errors():
            hit = await get_event(self.client, indices, event_id)
            if hit is None:
                raise ApiError(404, f"no event with id {event_id!r}")
            out = hit_result(hit)
            if p.context:
                before, after = await context_events(self.client, indices, hit, p.context)
                out["context"] = {"before": [hit_result(h) for h in before],
                                  "after": [hit_result(h) for h in after]}
            if p.related:
                related: dict[str, Any] = {}
                for name, fld in p.related:
                    value = get_path(hit.get("_source") or {}, fld)
                    hits = [] if value is None else await related_events(
                        self.client, indices, fld, value, hit["_id"], self.settings.related_max)
                    related[name] = {"field": fld, "value": value,
                                     "results": [hit_result(h) for h in hits]}
                out["related"] = related
        return out

    # ------------------------------------------------------------ aggregations

    async def aggregate(self, principal: Principal, query: Mapping[str, str], now: datetime | None = None
                        ) -> dict[str, Any]:
        t0 = time.perf_counter()
        now = now or datetime.now(UTC)
        p = parse_aggregate(query, self.settings, now)
        f = p.filters
        interval = p.interval
        time_buckets = 1
        if interval is not None:
            assert f.start is not None and f.end is not None
            if interval == "auto":
                interval = choose_interval(f.start, f.end, self.settings.auto_interval_buckets)
            time_buckets = math.ceil((f.end - f.start).total_seconds() / interval_seconds(interval)) + 1
        estimate = agg.bucket_estimate([p.size] * len(p.group_by), time_buckets)
        if estimate > self.settings.max_buckets:
            raise bad_request(
                f"this request could create {estimate} buckets (limit {self.settings.max_buckets}); "
                "use a larger interval, a shorter range or a smaller size", param="interval")
        out: dict[str, Any] = {
            "metric": p.metric, "field": p.field, "group_by": p.group_by, "interval": interval,
            "from": f.start.isoformat() if f.start else None, "to": f.end.isoformat() if f.end else None,
        }
        indices = await self._indices(principal, f)
        if not indices:
            return {**out, "total": 0, "aggregations": [], "source": "events", "took_ms": _ms_since(t0)}
        if query.get("rollup", "auto") != "never":
            if await self._rollup_covers(principal, p, interval):
                return {**out, **await self._aggregate_rollup(principal, p, interval), "source": "rollup",
                        "rollup": "hourly", "took_ms": _ms_since(t0)}
            streamed = await self._aggregate_stream_rollup(principal, p, interval, indices)
            if streamed is not None:
                return {**out, **streamed, "source": "rollup", "took_ms": _ms_since(t0)}
        aggs = agg.build_aggs(p.metric, p.field, p.group_by, p.size, interval, f.start, f.end, p.percents)
        with opensearch_errors():
            total, aggregations = await agg.search_aggregate(self.client, indices, filters_query(f), aggs)
        rows = agg.flatten(p.metric, p.group_by, interval, aggregations, total)
        return {**out, "total": total, "aggregations": rows, "source": "events", "took_ms": _ms_since(t0)}

    async def _aggregate_stream_rollup(self, principal: Principal, p: Any, interval: str | None,
                                       indices: list[str]) -> dict[str, Any] | None:
        """The answer from the pipeline's streaming rollup when it covers the request (see
        :mod:`ui.stream_rollup`: rolled-up metric and dimensions, window-aligned range, and its
        count equal to the events' count), else None."""
        from ui import stream_rollup

        interval_s = interval_seconds(interval) if interval else None
        rules = stream_rollup.load_rules()
        plan = stream_rollup.plan(p, interval_s, rules)
        if plan is None:
            return None
        params = {"ignore_unavailable": "true", "allow_no_indices": "true"}
        query = filters_query(p.filters)
        with opensearch_errors():
            rows = await stream_rollup.read_rows(self.client, principal.tenant, plan, p, rules)
            if rows is None:
                return None
            total, out = stream_rollup.answer(rows, p, plan, interval_s, rules.count_dimensions)
            counted = await self.client.count(index=",".join(indices), body={"query": query}, params=params)
            if total == 0 or int(counted["count"]) != total:  # nothing rolled up, or not every event
                return None
            own = stream_rollup.own_dimensions(p, rules.count_dimensions)
            if own:  # groups by e.g. url.path: every event carrying it must be in the kind's cells
                with_dims = {"bool": {"filter": [query, *({"exists": {"field": d}} for d in own)]}}
                carrying = await self.client.count(index=",".join(indices), body={"query": with_dims}, params=params)
                if int(carrying["count"]) != stream_rollup.kind_count(rows, p, plan, own):
                    return None
        return {"total": total, "aggregations": out, "rollup": f"stream-{plan.window_s}s"}

    async def _rollup_covers(self, principal: Principal, p: Any, interval: str | None) -> bool:
        f = p.filters
        if not agg.rollup_eligible(p.metric, p.group_by, interval, f.query is not None, f.classes, f.start,
                                   f.end, interval_seconds(interval) if interval else None,
                                   self.settings.rollup_min_range_hours * 3600):
            return False
        hit = self._rollup_done.get(principal.tenant)
        if hit is not None and time.monotonic() - hit[0] < 10.0:
            done = hit[1]
        else:
            # Cached briefly: the job advances the state every few minutes, and this saves a
            # round trip on every dashboard refresh. A stale (lower) value only means raw events
            # answer; "no rollup yet" is not cached so a new rollup is used at once.
            with opensearch_errors():
                done = await agg.rollup_state(self.client, principal.tenant)
            if done is not None:
                if len(self._rollup_done) > 10_000:
                    self._rollup_done.clear()
                self._rollup_done[principal.tenant] = (time.monotonic(), done)
        return done is not None and f.end is not None and done >= int(f.end.timestamp() * 1000)

    async def _aggregate_rollup(self, principal: Principal, p: Any, interval: str | None) -> dict[str, Any]:
        f = p.filters
        assert f.start is not None and f.end is not None
        aggs = agg.build_rollup_aggs(p.metric, p.group_by, p.size, interval, f.start, f.end)
        with opensearch_errors():
            aggregations = await agg.search_rollup(self.client, principal.tenant,
                                                   agg.rollup_query(f.start, f.end, f.levels, f.sources), aggs)
        total, rows = agg.flatten_rollup(p.metric, p.group_by, interval, aggregations)
        return {"total": total, "aggregations": rows}

    # ------------------------------------------------------------ export

    async def export(self, principal: Principal, query: Mapping[str, str], now: datetime | None = None
                     ) -> ExportPlan:
        """Validate now (so errors are still a JSON 400), stream later."""
        now = now or datetime.now(UTC)
        p = parse_export(query, self.settings, now)
        indices = await self._indices(principal, p.filters)
        content_type, ext = EXPORT_FORMATS[p.format]
        batches = iter_batches(
            self.client, indices, filters_query(p.filters), build_sort(p.sort),
            batch_size=self.settings.export_batch_size, limit=p.limit,
            keep_alive=self.settings.pit_keep_alive, source=source_filter(p.format, p.columns),
        )
        filename = f"logharbor-{principal.tenant}-{now.strftime('%Y%m%dT%H%M%SZ')}.{ext}"
        return ExportPlan(content_type, filename, formatter_for(p.format, p.columns), batches)

    # ------------------------------------------------------------ fields

    async def fields(self, principal: Principal, query: Mapping[str, str], now: datetime | None = None
                     ) -> dict[str, Any]:
        """Field names and types across the tenant's streams, with top values among matching events."""
        t0 = time.perf_counter()
        now = now or datetime.now(UTC)
        f = parse_filters(query, now, self.settings)
        wanted = {resolve_field(n, "fields") for n in parse_list(query.get("fields"))}
        indices = await self._indices(principal, f)
        if not indices:
            return {"fields": [], "sampled": 0, "took_ms": _ms_since(t0)}
        with opensearch_errors():
            types = await field_stats.mapping_types(self.client, indices)
        if wanted:
            types = {k: v for k, v in types.items() if k in wanted}
        top: dict[str, list[dict[str, Any]]] = {}
        sampled = 0
        k = self.settings.fields_top_values
        candidates = field_stats.top_value_candidates(types)
        if k and candidates:
            with opensearch_errors():
                sampled, top = await field_stats.top_values(self.client, indices, filters_query(f), candidates, k,
                                                            self.settings.fields_sample_size)
        fields = field_stats.shape_fields(types, top)
        return {"fields": fields, "sampled": sampled, "took_ms": _ms_since(t0)}

    # ------------------------------------------------------------ sources, metrics

    async def sources(self, principal: Principal, now: datetime | None = None) -> dict[str, Any]:
        """Per source (service.name): first/last seen, events in the last hour/day, error ratio (last day)."""
        now = now or datetime.now(UTC)
        indices = await self._indices(principal)
        if not indices:
            return {"sources": []}
        with opensearch_errors():
            rows = await overview.source_stats(self.client, indices, principal.tenant, now, self.settings.max_sources)
        return {"sources": rows}

    async def metrics(self, principal: Principal, now: datetime | None = None, window_s: int = 300
                      ) -> dict[str, Any]:
        """Ingest and error rate over the last ``window_s`` (by arrival) and storage per data stream."""
        now = now or datetime.now(UTC)
        indices = await self._indices(principal, include_dlq=True)
        out: dict[str, Any] = {"tenant": principal.tenant, "window_s": window_s, "events": 0,
                               "errors": 0, "ingest_rate_per_s": 0.0, "error_rate": None, "storage": []}
        if not indices:
            return out
        with opensearch_errors():
            events, errors, storage = await overview.ingest_stats(self.client, indices,
                                                                  now - timedelta(seconds=window_s))
        out.update(events=events, errors=errors, ingest_rate_per_s=round(events / window_s, 3),
                   error_rate=(errors / events) if events else None, storage=storage)
        return out

    # ------------------------------------------------------------ retention

    async def get_retention(self, tenant: str | None = None) -> dict[str, Any]:
        """Effective days per retention class (configured, overridden by earlier POSTs; for
        ``tenant`` also by that tenant's own days)."""
        from opensearch import retention

        with opensearch_errors():
            days = await asyncio.to_thread(retention.get_retention, self._sync_client(), self.storage, tenant)
        return {"retention_days": dict(days), "source": "lifecycle"}

    async def set_retention(self, body: Any, tenant: str | None = None, actor: str | None = None) -> dict[str, Any]:
        """Store new days and re-apply the lifecycle policies (opensearch.retention): the
        cluster-wide defaults when ``tenant`` is None (operator only), else that tenant's."""
        from opensearch import retention

        days = parse_retention_body(body)
        with opensearch_errors():
            try:
                effective, _changes = await asyncio.to_thread(
                    lambda: retention.set_retention(self._sync_client(), days, self.storage, tenant=tenant,
                                                    actor=actor))
            except ConfigError as exc:
                raise bad_request(str(exc)) from None
        return {"retention_days": dict(effective), "source": "lifecycle"}

    def _sync_client(self) -> Any:
        # The lifecycle code is synchronous (it is shared with the CLI); run it in a thread.
        if self._sync is None:
            self._sync = sync_client(self.os_settings)
        return self._sync

    async def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None


def parse_retention_body(body: Any) -> dict[str, Any]:
    """``{"retention_days": {"debug": 3}}`` (or the bare mapping); values are checked by
    ``opensearch.retention.validate_retention`` against the known classes."""
    if isinstance(body, dict) and "retention_days" in body:
        body = body["retention_days"]
    if not isinstance(body, dict) or not body:
        raise bad_request('body must be {"retention_days": {"<class>": <days>, ...}}')
    return body
