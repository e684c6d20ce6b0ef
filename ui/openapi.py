"""The OpenAPI 3.1 document served at ``/api/v1/openapi.json``.

Written by hand next to the handlers (not generated) so it documents intent; the integration
tests validate real responses against these schemas with jsonschema, so it cannot drift.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from aiohttp import web

from logharbor import __version__

OPENAPI_EXTRA = web.AppKey("openapi_extra", dict)

NULLABLE_STR = {"type": ["string", "null"]}
ANY = {}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, description: str, schema: dict[str, Any] | None = None, where: str = "query",
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema or {"type": "string"}}


FILTER_PARAMS = [
    _param("q", "Search expression (LogHarbor search syntax, docs/QUERY.md)."),
    _param("level", "Comma-separated levels (error,warn); 'WARN+' means WARN and above."),
    _param("source", "Comma-separated sources (service.name)."),
    _param("from", "Start: ISO 8601, epoch ms, now-15m, 15m, or a time expression."),
    _param("to", "End, same forms as 'from'."),
    _param("class", "Comma-separated retention classes to search (default: all but dlq)."),
]


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _json(_ref("Error"), "Bad parameter or query syntax (with position/expected)"),
    "401": _json(_ref("Error"), "Missing, unknown or expired key"),
    "403": _json(_ref("Error"), "Revoked key or missing scope"),
    "429": _json(_ref("Error"), "Per-key rate limit exceeded (see Retry-After)"),
    "502": _json(_ref("Error"), "OpenSearch error"),
    "503": _json(_ref("Error"), "OpenSearch or Kafka unavailable"),
}


def _op(summary: str, params: list[dict[str, Any]], ok: dict[str, Any], scope: str = "read",
        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "parameters": params,
                          "responses": {"200": ok, **ERRORS, **(extra or {})},
                          "security": [{"bearer": [scope]}]}
    return op


RESULT = {
    "type": "object",
    "required": ["id", "link", "timestamp", "level", "source", "host", "message", "fields"],
    "properties": {
        "id": {"type": "string"}, "link": {"type": "string"}, "timestamp": NULLABLE_STR,
        "level": NULLABLE_STR, "source": NULLABLE_STR, "host": NULLABLE_STR, "message": ANY,
        "data_stream": {"type": "string"}, "fields": {"type": "object"},
    },
}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"}, "position": {"type": "integer"}, "expected": ANY,
        "param": {"type": "string"}, "limit": ANY}},
    "Result": RESULT,
    "SearchResponse": {"type": "object", "required": ["total", "results", "took_ms", "next"], "properties": {
        "total": {"type": "integer", "minimum": 0}, "results": {"type": "array", "items": _ref("Result")},
        "took_ms": {"type": "integer", "minimum": 0}, "next": NULLABLE_STR}},
    "Detail": {"allOf": [_ref("Result"), {"type": "object", "properties": {
        "context": {"type": "object", "required": ["before", "after"], "properties": {
            "before": {"type": "array", "items": _ref("Result")},
            "after": {"type": "array", "items": _ref("Result")}}},
        "related": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["field", "value", "results"], "properties": {
                "field": {"type": "string"}, "value": ANY,
                "results": {"type": "array", "items": _ref("Result")}}}}}}]},
    "AggregateRow": {"type": "object", "required": ["key", "count", "value"], "properties": {
        "key": {"type": "object"}, "count": {"type": "integer"},
        "value": {"type": ["number", "object", "null"]}, "errors": {"type": "integer"}}},
    "AggregateResponse": {"type": "object", "required": ["aggregations", "metric", "total", "took_ms"],
                          "properties": {
        "aggregations": {"type": "array", "items": _ref("AggregateRow")},
        "metric": {"type": "string"}, "field": NULLABLE_STR,
        "group_by": {"type": "array", "items": {"type": "string"}}, "interval": NULLABLE_STR,
        "from": NULLABLE_STR, "to": NULLABLE_STR, "total": {"type": "integer"}, "took_ms": {"type": "integer"},
        "source": {"enum": ["events", "rollup"],
                   "description": "Answered on demand from the events, or from a rollup (hourly counts or "
                                  "the pipeline's streaming rollup)"},
        "rollup": {"type": "string", "description": "Which rollup answered: hourly, or stream-<window>s"}}},
    "Probe": {"type": "object", "required": ["ok"], "properties": {
        "ok": {"type": "boolean"}, "error": {"type": "string"}, "latency_ms": {"type": "number"}}},
    "Status": {"type": "object", "required": ["status", "components"], "properties": {
        "status": {"enum": ["ok", "degraded"]},
        "enrichment": {"type": "object", "description": "GeoIP database in use: database_type, build_date, "
                       "source (configured|bundled), licence, advice to point pipeline.geoip_path at a current file",
                       "properties": {"geoip": {"type": "object", "required": ["ok"]}}},
        "components": {"type": "object", "required": ["opensearch", "kafka", "gateway"], "properties": {
            "opensearch": _ref("Probe"),
            "kafka": {"allOf": [_ref("Probe"), {"type": "object", "properties": {
                "pipeline_lag": {"type": "object", "required": ["total", "partitions"], "properties": {
                    "group": {"type": "string"}, "total": {"type": "integer"},
                    "partitions": {"type": "object"}}}}}]},
            "gateway": _ref("Probe")}},
        "field_overflow": {"allOf": [_ref("Probe"), {"type": "object", "description": "operator view: events stored "
                           "with fields beyond their index's total-fields limit (docs/STORAGE.md)", "properties": {
                               "events": {"type": "integer"}, "tenants": {"type": "object"}}}]}}},
    "Metrics": {"type": "object", "required": ["tenant", "window_s", "events", "errors", "ingest_rate_per_s",
                                               "error_rate", "storage"], "properties": {
        "tenant": {"type": "string"}, "window_s": {"type": "integer"}, "events": {"type": "integer"},
        "errors": {"type": "integer"}, "ingest_rate_per_s": {"type": "number"},
        "error_rate": {"type": ["number", "null"]},
        "storage": {"type": "array", "items": {"type": "object", "required": [
            "data_stream", "docs", "store_bytes", "primary_store_bytes", "backing_indices"], "properties": {
            "data_stream": {"type": "string"}, "docs": {"type": "integer"}, "store_bytes": {"type": "integer"},
            "primary_store_bytes": {"type": "integer"}, "backing_indices": {"type": "integer"}}}},
        "live_tail": {"type": "object"}}},
    "Sources": {"type": "object", "required": ["sources"], "properties": {"sources": {"type": "array", "items": {
        "type": "object", "required": ["source", "tenant", "first_seen", "last_seen", "events_last_hour",
                                       "events_last_day", "error_ratio"], "properties": {
            "source": {"type": "string"}, "tenant": {"type": "string"}, "first_seen": NULLABLE_STR,
            "last_seen": NULLABLE_STR, "events_total": {"type": "integer"},
            "events_last_hour": {"type": "integer"}, "events_last_day": {"type": "integer"},
            "error_ratio": {"type": ["number", "null"]}}}}}},
    "Fields": {"type": "object", "required": ["fields"], "properties": {
        "sampled": {"type": "integer"}, "took_ms": {"type": "integer"},
        "fields": {"type": "array", "items": {"type": "object", "required": ["name", "type", "top_values"],
                                              "properties": {
            "name": {"type": "string"},
            "type": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            "top_values": {"type": "array", "items": {"type": "object", "required": ["value", "count"]}}}}}}},
    "Retention": {"type": "object", "required": ["retention_days", "source"], "properties": {
        "retention_days": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
        "source": {"enum": ["lifecycle", "settings"]}}},
    "KeyRecord": {"type": "object", "required": ["key_id", "tenant", "source", "scopes", "created_at", "status"],
                  "properties": {
        "key_id": {"type": "string"}, "tenant": {"type": "string"}, "source": {"type": "string"},
        "scopes": {"type": "array", "items": {"enum": ["ingest", "read", "admin", "operator"]}},
        "created_at": {"type": "string"}, "expires_at": {"type": "string"}, "revoked_at": {"type": "string"},
        "status": {"enum": ["active", "expired", "revoked"]}, "environment": {"type": "string"},
        "rate": {"type": "number"}, "burst": {"type": "number"}, "description": {"type": "string"},
        "rotated_from": {"type": "string"}, "replaced_by": {"type": "string"}},
        "not": {"required": ["secret_hash"]}},
    "KeyList": {"type": "object", "required": ["keys"], "properties": {
        "keys": {"type": "array", "items": _ref("KeyRecord")}}},
    "KeyCreated": {"type": "object", "required": ["key", "record"], "properties": {
        "key": {"type": "string", "description": "The full key: shown once, store it now."},
        "record": _ref("KeyRecord")}},
    "KeyChanged": {"type": "object", "required": ["record"], "properties": {"record": _ref("KeyRecord")}},
    "LiveTick": {"type": "object", "properties": {
        "type": {"const": "tick"}, "now": {"type": "integer"}, "window_s": {"type": "integer"},
        "from": {"type": "integer", "description": "first second covered (epoch s)"},
        "to": {"type": "integer", "description": "end of the window (epoch s, exclusive)"},
        "events": {"type": "integer"}, "errors": {"type": "integer"},
        "error_rate": {"type": ["number", "null"]}, "rate_per_s": {"type": "number"},
        "late": {"type": "integer", "description": "events that arrived older than the window"},
        "seconds": {"type": "array", "items": {"type": "object", "properties": {
            "t": {"type": "integer"}, "events": {"type": "integer"}, "errors": {"type": "integer"},
            "levels": {"type": "object", "additionalProperties": {"type": "integer"}}}}},
        "recent_errors": {"type": "array", "items": _ref("Result")}}},
    "TailMessage": {"oneOf": [
        {"type": "object", "required": ["type"], "properties": {"type": {"enum": ["ready", "heartbeat"]}}},
        {"type": "object", "required": ["type", "data"], "properties": {
            "type": {"const": "log"}, "data": _ref("Result")}},
        {"type": "object", "required": ["type", "count"], "properties": {
            "type": {"const": "dropped"}, "count": {"type": "integer", "minimum": 1}}},
        {"type": "object", "required": ["type", "error"], "properties": {
            "type": {"const": "error"}, "error": {"type": "string"}}}]},
}


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The whole document (built once; it is static)."""
    paged = [_param("limit", "Results per page (default 100, max ui.max_limit).", {"type": "integer"}),
             _param("offset", "Skip this many (offset+limit ≤ 10,000; deeper: use 'cursor').", {"type": "integer"}),
             _param("sort", "field:asc|desc, comma-separated (default @timestamp:desc)."),
             _param("cursor", "The 'next' value of the previous page (point in time + search_after)."),
             _param("fields", "Only these fields (plus the result columns) in each result's 'fields' "
                              "(default: the whole document).")]
    export_params = [
        _param("format", "json | ndjson | csv | text", {"enum": ["json", "ndjson", "csv", "text"]}),
        _param("columns", "CSV columns (ECS or short names), default @timestamp,log.level,service.name,"
                          "host.name,message"),
        _param("limit", "Maximum rows (default ui.export_max_rows).", {"type": "integer"}),
        _param("sort", "As for search.")]
    agg_params = [
        _param("metric", "count|avg|sum|min|max|stats|stddev|percentiles|cardinality|error_rate",
               {"enum": ["count", "avg", "sum", "min", "max", "stats", "stddev", "percentiles", "cardinality",
                         "error_rate"]}),
        _param("field", "Field the metric is computed on (not for count/error_rate)."),
        _param("group_by", "Up to 3 comma-separated fields; top 'size' terms each."),
        _param("size", "Top-N per group_by field (default 10).", {"type": "integer"}),
        _param("interval", "Time series bucket: 1m, 5m, 1h, 1d… or auto."),
        _param("percents", "Percentiles for metric=percentiles (default ui.percentiles)."),
        _param("rollup", "auto (default): use a rollup (hourly, or the streaming rollup) when it answers exactly; "
               "never: aggregate the events.",
               {"enum": ["auto", "never"]})]
    file_content = {"description": "Streamed file (Content-Disposition: attachment)", "content": {
        "application/json": {"schema": {"type": "array"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string"}}}}
    paths: dict[str, Any] = {
        "/api/v1/logs/search": {"get": _op("Search events", FILTER_PARAMS + paged, _json(_ref("SearchResponse")),
                                          extra={"410": _json(_ref("Error"), "Cursor expired")})},
        "/api/v1/logs/aggregate": {"get": _op("Aggregate events", FILTER_PARAMS + agg_params,
                                              _json(_ref("AggregateResponse")))},
        "/api/v1/logs/export": {"get": _op("Export events (streamed)", FILTER_PARAMS + export_params,
                                           file_content)},
        "/api/v1/logs/{id}": {"get": _op("One event with context and related events", [
            _param("id", "Event id", where="path", required=True),
            _param("context", "N events before and after from the same source and host.", {"type": "integer"}),
            _param("related", "request_id, trace_id and/or user_id (comma-separated)."),
        ], _json(_ref("Detail")), extra={"404": _json(_ref("Error"), "No such event for this tenant")})},
        "/api/v1/status": {"get": _op("Health of OpenSearch, Kafka (+ pipeline lag) and the gateway", [],
                                      _json(_ref("Status")))},
        "/api/v1/metrics": {"get": _op("Ingest rate, error rate, storage by data stream", [],
                                       _json(_ref("Metrics")))},
        "/api/v1/sources": {"get": _op("Sources of this tenant", [], _json(_ref("Sources")))},
        "/api/v1/fields": {"get": _op("Field names, types and top values", [
            *FILTER_PARAMS, _param("fields", "Only these fields (comma-separated).")], _json(_ref("Fields")))},
        "/api/v1/retention": {
            "get": _op("Retention days per class", [], _json(_ref("Retention")), scope="admin"),
            "post": {**_op("Change retention days (re-applies the lifecycle policies)", [],
                           _json(_ref("Retention")), scope="admin"),
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["retention_days"], "properties": {
                             "retention_days": {"type": "object",
                                                "additionalProperties": {"type": "integer"}}}}}}}},
        },
        "/api/v1/keys": {
            "get": _op("API keys of the caller's tenant", [], _json(_ref("KeyList")), scope="admin"),
            "post": {**_op("Create a key for the caller's tenant", [], _json(_ref("KeyCreated"), "Created"),
                           scope="admin"),
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["source", "scopes"], "properties": {
                             "source": {"type": "string"},
                             "scopes": {"type": "array", "items": {"enum": ["ingest", "read", "admin", "operator"]}},
                             "environment": {"type": "string"}, "expires_in": {"type": "string"},
                             "rate": {"type": "number"}, "burst": {"type": "number"},
                             "description": {"type": "string"}}}}}}},
        },
        "/api/v1/keys/{key_id}": {"delete": _op("Revoke a key", [_param("key_id", "Key id", where="path",
                                                                          required=True)],
                                                _json(_ref("KeyChanged")), scope="admin",
                                                extra={"404": _json(_ref("Error"), "No such key in this tenant")})},
        "/api/v1/keys/{key_id}/rotate": {"post": {
            **_op("Replace a key (old one revoked, or valid for 'grace')", [
                _param("key_id", "Key id", where="path", required=True)], _json(_ref("KeyCreated")), scope="admin",
                extra={"404": _json(_ref("Error"), "No such key in this tenant")}),
            "requestBody": {"required": False, "content": {"application/json": {"schema": {
                "type": "object", "properties": {"grace": {"type": "string", "examples": ["1h"]}}}}}}}},
        "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                         "responses": {"200": _json({"type": "object"})}}},
        "/api/v1/stream": {"get": _op(
            "Live tail: WebSocket (or SSE with Accept: text/event-stream). Server messages are "
            "TailMessage; client messages {\"type\":\"pause\"} / {\"type\":\"resume\"}.",
            [*(p for p in FILTER_PARAMS if p["name"] in ("q", "level", "source")),
                _param("access_token", "Key, when ui.allow_query_token is on (browsers cannot set "
                                       "headers on WebSockets).")],
            {"description": "Switching protocols / event stream", "content": {
                "text/event-stream": {"schema": _ref("TailMessage")}}},
            extra={"101": {"description": "WebSocket upgrade"}})},
        "/api/v1/live/overview": {"get": _op(
            "Live overview from the stream (Server-Sent Events): one LiveTick a second with the "
            "tenant's per-second event counts by level (by the events' own @timestamp), totals, "
            "error rate and the newest errors — from the processed topic, not OpenSearch.",
            [_param("window", "Seconds covered, 10 to 300 (default 60).", {"type": "integer"}),
             _param("access_token", "Key, when ui.allow_query_token is on (EventSource cannot set headers).")],
            {"description": "Event stream", "content": {"text/event-stream": {"schema": _ref("LiveTick")}}})},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "LogHarbor query API", "version": __version__,
                 "description": "Search, aggregate, export and tail logs. Every request is scoped "
                                "to the tenant of its API key."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": {**SCHEMAS}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API key (read or admin scope)"}}},
    }


def document_paths(app: web.Application, paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Let other route modules on this app (e.g. ``ui.web.routes``) describe their ``/api/`` paths,
    so the served document still covers every endpoint. Call during setup, before startup."""
    extra = app.setdefault(OPENAPI_EXTRA, {"paths": {}, "schemas": {}})  # type: ignore[arg-type]
    extra["paths"].update(paths)
    extra["schemas"].update(schemas or {})


def app_document(app: web.Application) -> dict[str, Any]:
    """The base document plus what other modules registered with :func:`document_paths`."""
    extra = app.get(OPENAPI_EXTRA)
    if not extra:
        return openapi_document()
    doc = copy.deepcopy(openapi_document())
    doc["paths"].update(extra["paths"])
    doc["components"]["schemas"].update(extra["schemas"])
    return doc
