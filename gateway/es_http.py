"""The Elasticsearch-compatible HTTP endpoint: handshake, the probes shippers make, and ``_bulk``.

Mounted under ``/es`` on the gateway's port (clients use ``http://gateway:8088/es`` as their
host) and, when ``protocols.es_port`` is set, at the root of a port of its own. Every response
carries ``X-Elastic-Product: Elasticsearch``: elasticsearch-py 8/9 and Logstash refuse a server
without it. Probes (templates, ILM, ingest pipelines, nodes, licence, cluster health) are
answered so that default Filebeat, Logstash and Vector configurations start; what they install
is acknowledged and ignored — LogHarbor's own index templates and lifecycle apply.

Backpressure is always a whole-request 429/503 with ``Retry-After`` — never per-item 4xx, which
shippers drop — and the body of a 200 always has one item per action.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from gateway.decompress import DecompressError
from gateway.door import (
    RecentIds,
    Refusal,
    Slot,
    authenticate,
    check_capacity,
    precheck_length,
    read_body,
    submit,
    token_from_authorization,
)
from gateway.es_bulk import BulkError, filter_path, item_body, parse_bulk
from gateway.state import STATE
from gateway.validate import format_timestamp
from opensearch.keys import KeyRecord

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PRODUCT = {"X-Elastic-Product": "Elasticsearch"}
_BULK_TYPES = (
    "application/x-ndjson",
    "application/json",
    "application/vnd.elasticsearch+x-ndjson",
    "application/vnd.elasticsearch+json",
    "text/plain",
    "",
)
RECENT = web.AppKey("es_recent_ids", RecentIds)
_CLUSTER_UUID = uuid.uuid5(uuid.NAMESPACE_DNS, "logharbor.es-compat").hex[:22]


def _state(request: web.Request) -> Any:
    return request.app[STATE]


def es_json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(value),
        content_type="application/json",
        headers={**PRODUCT, **(headers or {})},
    )


def es_error(status: int, type_: str, reason: str, retry_after: str | None = None) -> web.Response:
    """Elasticsearch's error shape: ``{"error": {"root_cause": [...], "type", "reason"}, "status"}``."""
    cause = {"type": type_, "reason": reason}
    headers = {"Retry-After": retry_after} if retry_after else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'ApiKey, Basic realm="logharbor", Bearer'
    return es_json({"error": {"root_cause": [cause], **cause}, "status": status}, status, headers)


def _refusal(r: Refusal) -> web.Response:
    type_ = {
        401: "security_exception",
        403: "security_exception",
        413: "content_too_long_exception",
        429: "es_rejected_execution_exception",
        503: "unavailable_shards_exception" if r.reason == "kafka_unavailable" else "es_rejected_execution_exception",
    }.get(r.status, "illegal_argument_exception")
    return es_error(r.status, type_, r.message, r.retry_after)


async def _key(request: web.Request) -> KeyRecord | Refusal:
    state = _state(request)
    token = token_from_authorization(request.headers.get("Authorization"))
    return await authenticate(state, token, protocol="es", client_ip=request.remote, path=request.path)


def _product(handler: Handler) -> Handler:
    """Authenticate, and make sure even an unexpected error answers as Elasticsearch would."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        record = await _key(request)
        if isinstance(record, Refusal):
            return _refusal(record)
        request["lh_es_key"] = record
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            return es_error(exc.status, "illegal_argument_exception", exc.reason)
        response.headers.update(PRODUCT)
        return response

    return wrapped


# -- handshake and probes ---------------------------------------------------------------------------
async def root(request: web.Request) -> web.StreamResponse:
    p = _state(request).settings.protocols
    if request.method == "HEAD":
        return web.Response(status=200, headers=PRODUCT)
    return es_json(
        {
            "name": "logharbor-gateway",
            "cluster_name": p.es_cluster_name,
            "cluster_uuid": _CLUSTER_UUID,
            "version": {
                "number": p.es_version,
                "build_flavor": p.es_build_flavor,
                "build_type": "logharbor",
                "build_hash": "logharbor",
                "build_date": "2026-01-01T00:00:00.000Z",
                "build_snapshot": False,
                "lucene_version": "9.12.0",
                "minimum_wire_compatibility_version": "7.17.0",
                "minimum_index_compatibility_version": "7.0.0",
            },
            "tagline": p.es_tagline,
        }
    )


async def license_(request: web.Request) -> web.Response:
    return es_json(
        {
            "license": {
                "status": "active",
                "uid": _CLUSTER_UUID,
                "type": "basic",
                "issue_date": "2026-01-01T00:00:00.000Z",
                "issue_date_in_millis": 1767225600000,
                "max_nodes": 1000,
                "issued_to": "logharbor",
                "issuer": "logharbor",
                "start_date_in_millis": -1,
            }
        }
    )


async def xpack(request: web.Request) -> web.Response:
    on = {"available": True, "enabled": True}
    return es_json(
        {
            "build": {"hash": "logharbor", "date": "2026-01-01T00:00:00.000Z"},
            "license": {"uid": _CLUSTER_UUID, "type": "basic", "mode": "basic", "status": "active"},
            "features": {"ilm": on, "security": on, "monitoring": {"available": True, "enabled": False}},
            "tagline": "LogHarbor",
        }
    )


async def health(request: web.Request) -> web.Response:
    p = _state(request).settings.protocols
    return es_json(
        {
            "cluster_name": p.es_cluster_name,
            "status": "green",
            "timed_out": False,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
            "active_primary_shards": 0,
            "active_shards": 0,
            "relocating_shards": 0,
            "initializing_shards": 0,
            "unassigned_shards": 0,
            "delayed_unassigned_shards": 0,
            "number_of_pending_tasks": 0,
            "number_of_in_flight_fetch": 0,
            "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": 100.0,
        }
    )


async def cat_health(request: web.Request) -> web.Response:
    """``_cat/health`` (rsyslog's omelasticsearch checks it before sending): text, or JSON with format=json."""
    p = _state(request).settings.protocols
    now = int(time.time())
    row = {"epoch": str(now), "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)), "cluster": p.es_cluster_name,
           "status": "green", "node.total": "1", "node.data": "1"}
    if request.query.get("format") == "json":
        return es_json([row])
    return web.Response(text=" ".join(row.values()) + "\n", content_type="text/plain", headers=PRODUCT)


async def nodes(request: web.Request) -> web.Response:
    p = _state(request).settings.protocols
    node = {
        "name": "logharbor-gateway",
        "version": p.es_version,
        "roles": ["data", "ingest", "master"],
        "ip": "127.0.0.1",
        "http": {"publish_address": request.host},
        "ingest": {"processors": [{"type": t} for t in ("set", "rename", "remove", "date", "json", "geoip")]},
    }
    return es_json(
        {"_nodes": {"total": 1, "successful": 1, "failed": 0}, "cluster_name": p.es_cluster_name,
         "nodes": {"logharbor-gateway": node}}
    )


async def acknowledged(request: web.Request) -> web.Response:
    """PUT/POST of templates, policies, pipelines, data streams, indices: accepted, not applied."""
    await request.read()
    return es_json({"acknowledged": True})


async def exists(request: web.Request, kind: str = "") -> web.Response:
    """GET/HEAD of a template, policy, pipeline, alias or index: reported as present."""
    name = request.match_info.get("name", "")
    if request.method == "HEAD":
        return web.Response(status=200, headers=PRODUCT)
    if kind == "_index_template":
        return es_json({"index_templates": [{"name": name, "index_template": {"index_patterns": [f"{name}*"],
                                                                              "template": {}, "composed_of": []}}]})
    if kind == "_ilm/policy":
        return es_json({name: {"version": 1, "modified_date": "2026-01-01T00:00:00.000Z",
                               "policy": {"phases": {"hot": {"min_age": "0ms", "actions": {}}}}}})
    if kind == "_data_stream":
        return es_json({"data_streams": [{"name": name, "timestamp_field": {"name": "@timestamp"}, "indices": [],
                                          "generation": 1, "status": "GREEN", "template": name}]})
    return es_json({name: {}})


async def unsupported(request: web.Request) -> web.Response:
    return es_error(
        400,
        "illegal_argument_exception",
        f"{request.method} {request.path} is not supported by LogHarbor's Elasticsearch-compatible endpoint "
        "(it ingests via _bulk; search LogHarbor through its query API)",
    )


# -- bulk ----------------------------------------------------------------------------------------------
async def bulk(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    async with Slot(state) as full:
        if full is not None:
            return _refusal(full)
        return await _bulk(request, state, request["lh_es_key"])


async def _bulk(request: web.Request, state: Any, record: KeyRecord) -> web.StreamResponse:
    started = time.perf_counter()
    mt = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if mt not in _BULK_TYPES:
        return es_error(406, "media_type_header_exception",
                        f"Content-Type header [{mt}] is not supported; send application/x-ndjson")
    refusal = precheck_length(state, request) or check_capacity(state, record)
    if refusal is not None:
        return _refusal(refusal)
    try:
        body = await read_body(request, state, request.headers.get("Content-Encoding"))
    except DecompressError as exc:
        return es_error(exc.status, "parse_exception", str(exc))
    except TimeoutError:
        response = es_error(408, "timeout_exception", f"body: not received within {state.settings.body_timeout_s:g} s")
        response.force_close()
        return response
    received_at = format_timestamp_now()
    try:
        parsed = parse_bulk(
            body,
            default_index=request.match_info.get("index"),
            tenant=record.tenant,
            source=record.source,
            received_at=received_at,
            max_entry_bytes=state.settings.max_entry_bytes,
        )
    except BulkError as exc:
        return es_error(exc.status, exc.type, str(exc))
    del body
    if len(parsed.items) > state.settings.max_events_per_batch:
        return es_error(413, "content_too_long_exception",
                        f"body: {len(parsed.items)} actions exceeds the limit of "
                        f"{state.settings.max_events_per_batch} per request")
    recent = request.app.get(RECENT)
    for item in parsed.items:
        if item.event is not None and item.action == "create" and recent is not None \
                and (record.tenant, item.event["id"]) in recent:
            item.fail(409, "version_conflict_engine_exception",
                      f"[{item.id}]: version conflict, document already exists")
    errors = {i: [it.error["reason"]] for i, it in enumerate(parsed.items) if it.error is not None}
    events = [it.event for it in parsed.items]
    result = await submit(state, record, events, protocol="es", errors=errors)
    if isinstance(result, Refusal):
        return _refusal(result)
    for pos, errs in result.rejected.items():
        item = parsed.items[pos]
        if item.error is None:
            item.fail(400, "document_parsing_exception", "; ".join(errs))
    if recent is not None:
        recent.add_all(record.tenant, list(result.ids.values()))
    items = [item_body(it) for it in parsed.items]
    payload = {
        "took": int((time.perf_counter() - started) * 1000),
        "errors": any(it.error is not None for it in parsed.items),
        "items": items,
    }
    return es_json(filter_path(payload, request.query.get("filter_path")))


def format_timestamp_now() -> str:
    return format_timestamp(datetime.now(UTC))


# -- routes ---------------------------------------------------------------------------------------------
def add_es_routes(app: web.Application, prefix: str = "/es") -> None:
    """Register the endpoint under ``prefix`` ("" for the root of a dedicated port)."""
    s = _settings_of(app)
    if s is not None and s.protocols.es_recent_ids and RECENT not in app:
        app[RECENT] = RecentIds(s.protocols.es_recent_ids)
    r = app.router
    p = prefix
    for path in sorted({p or "/", p + "/"}):
        r.add_get(path, _product(root))  # HEAD too (allow_head)
    r.add_route("*", p + "/_bulk", _product(bulk))
    r.add_route("*", p + "/{index}/_bulk", _product(bulk))
    r.add_get(p + "/_license", _product(license_))
    r.add_get(p + "/_xpack", _product(xpack))
    r.add_get(p + "/_cluster/health", _product(health))
    r.add_get(p + "/_cluster/health/{tail:.*}", _product(health))
    r.add_get(p + "/_cat/health", _product(cat_health))
    r.add_get(p + "/_nodes", _product(nodes))
    r.add_get(p + "/_nodes/{tail:.*}", _product(nodes))
    for kind in ("_index_template", "_template", "_component_template", "_ilm/policy", "_ingest/pipeline",
                 "_data_stream", "_alias"):
        path = p + "/" + kind + "/{name}"
        r.add_get(path, _product(_with_kind(kind)))
        r.add_route("PUT", path, _product(acknowledged))
        r.add_route("POST", path, _product(acknowledged))
    r.add_route("HEAD", p + "/{name}", _product(exists))
    r.add_route("PUT", p + "/{name}", _product(acknowledged))
    r.add_route("*", p + "/{tail:.*}", _product(unsupported))


def _with_kind(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await exists(request, kind)

    return handler


def _settings_of(app: web.Application) -> Any:
    return app[STATE].settings if STATE in app else None
