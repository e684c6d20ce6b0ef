"""The OpenAPI description of ``/api/v1/alerts*`` and ``/api/v1/silences`` (ui/routes/alerts.py).

Kept beside the base document; ``ui/routes/alerts.py`` hands it to ``ui.openapi.document_paths``
(its ``OPENAPI_PATHS``/``OPENAPI_SCHEMAS``), so the alerting paths are one block and ``ui.openapi``
need not import this module back (no cycle).
"""

from __future__ import annotations

from typing import Any

from ui.openapi import _json, _op, _param, _ref

ALERT_SCHEMAS: dict[str, Any] = {
    "AlertRule": {"type": "object", "required": ["name"], "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "query": {"type": "string"},
        "condition": {"type": "object", "properties": {
            "type": {"enum": ["count", "rate", "metric", "match"]}, "op": {"enum": [">", ">=", "<", "<="]},
            "threshold": {"type": "number"}, "window": {"type": "string", "examples": ["1m"]},
            "group_by": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "metric": {"type": "object", "properties": {
                "agg": {"enum": ["avg", "p95", "p99", "max", "min", "sum", "unique"]}, "field": {"type": "string"}}}}},
        "for": {"type": "string"}, "schedule": {"type": "object", "properties": {
            "every": {"type": "string"}, "cron": {"type": "string"}, "timezone": {"type": "string"}}},
        "active": {}, "throttle": {"type": "string"}, "grace": {"type": "string"}, "repeat": {"type": "string"},
        "severity": {"enum": ["info", "warning", "critical"]},
        "channels": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
            "type": {"enum": ["slack", "email", "pagerduty", "webhook"]}, "url": {"type": "string"},
            "to": {"type": "array", "items": {"type": "string"}}, "routing_key": {"type": "string"},
            "secret": {"type": "string"}, "test": {"type": "boolean"}}}},
        "enabled": {"type": "boolean"}, "summary_over": {"type": "integer"}, "labels": {"type": "object"},
        "state": {"type": "object"}}},
    "AlertList": {"type": "object", "required": ["alerts"], "properties": {
        "alerts": {"type": "array", "items": _ref("AlertRule")}}},
    "ActiveAlerts": {"type": "object", "required": ["active"], "properties": {"active": {"type": "array", "items": {
        "type": "object", "properties": {"rule_id": {"type": "string"}, "rule_name": {"type": "string"},
                                         "group": {"type": "string"}, "state": {"enum": ["error", "firing", "pending"]},
                                         "since": {}, "value": {}, "acked": {"type": "boolean"}, "silenced": {}}}}}},
    "AlertHistory": {"type": "object", "required": ["notifications", "deliveries"], "properties": {
        "notifications": {"type": "array", "items": {"type": "object"}},
        "deliveries": {"type": "array", "items": {"type": "object"}}}},
    "Silence": {"type": "object", "required": ["matchers"], "properties": {
        "id": {"type": "string"},
        "matchers": {"type": "array", "items": {"type": "object", "required": ["name", "value"], "properties": {
            "name": {"type": "string"}, "value": {"type": "string"}, "regex": {"type": "boolean"},
            "negate": {"type": "boolean"}}}},
        "starts_at": {"type": "integer"}, "ends_at": {"type": "integer"}, "duration": {"type": "string"},
        "author": {"type": "string"}, "comment": {"type": "string"}}},
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def alert_paths() -> dict[str, Any]:
    rid = [_param("id", "Rule id", where="path", required=True)]
    nf = {"404": _json(_ref("Error"), "No such rule in this tenant")}
    return {
        "/api/v1/alerts": {
            "get": _op("Alert rules of the caller's tenant, with state (secrets masked)", [], _json(_ref("AlertList"))),
            "post": {**_op("Create an alert rule", [], _json(_ref("AlertRule"), "Created"), scope="admin",
                           extra={"409": _json(_ref("Error"), "Id exists")}), **_body(_ref("AlertRule"))},
        },
        "/api/v1/alerts/active": {"get": _op("Firing, pending and failing alerts", [], _json(_ref("ActiveAlerts")))},
        "/api/v1/alerts/preview": {"get": _op("Counts of a query over the last hours (the builder's preview)", [
            _param("q", "LogHarbor query"), _param("hours", "1..168 (default 6)", {"type": "integer"})],
            _json({"type": "object", "properties": {"total": {"type": "integer"}, "buckets": {"type": "array"}}}))},
        "/api/v1/alerts/{id}": {
            "get": _op("One rule with its state and groups", rid, _json(_ref("AlertRule")), extra=nf),
            "put": {**_op("Replace a rule (masked secrets sent back keep the stored ones)", rid,
                          _json(_ref("AlertRule")), scope="admin", extra=nf), **_body(_ref("AlertRule"))},
            "delete": _op("Delete a rule", rid, _json({"type": "object"}), scope="admin", extra=nf),
        },
        "/api/v1/alerts/{id}/test": {"post": _op("Evaluate now and notify the channels marked test", rid,
                                                 _json({"type": "object"}), scope="admin", extra=nf)},
        "/api/v1/alerts/{id}/ack": {"post": _op("Acknowledge the firing groups (body {\"group\"} for one)", rid,
                                                _json({"type": "object"}), extra=nf)},
        "/api/v1/alerts/{id}/history": {"get": _op("Notifications and every delivery attempt", [
            *rid, _param("limit", "1..1000", {"type": "integer"})], _json(_ref("AlertHistory")), extra=nf)},
        "/api/v1/silences": {
            "get": _op("Silences of the tenant", [], _json({"type": "object", "properties": {
                "silences": {"type": "array", "items": _ref("Silence")}}})),
            "post": {**_op("Create a silence (matchers on rule and group labels)", [],
                           _json(_ref("Silence"), "Created"), scope="admin"), **_body(_ref("Silence"))},
        },
        "/api/v1/silences/{id}": {"delete": _op("Delete a silence", [_param("id", "Silence id", where="path",
                                                                            required=True)],
                                                _json({"type": "object"}), scope="admin")},
    }
