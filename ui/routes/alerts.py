"""``/api/v1/alerts*`` and ``/api/v1/silences``: alert rules, their state and history, silences.

Thin: authentication and JSON here, the work in :mod:`alerting.manage` (tenant-scoped, secrets
masked). Writing rules and silences needs the admin scope; reading, testing previews and
acknowledging need read. Documented in ``ui/alerts_openapi.py`` (merged into ui/openapi.py).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from alerting import manage
from alerting.evaluator import Context
from alerting.settings import AlertingSettings
from ui.alerts_openapi import ALERT_SCHEMAS, alert_paths
from ui.errors import ApiError
from ui.http import SERVICE, audit_ok, authenticate, json_body, json_object, json_response


def alert_context(request: web.Request) -> Context:
    """The alerting services over the ui's OpenSearch client (cheap; built per request)."""
    return Context(request.app[SERVICE].client, AlertingSettings())


async def call(coro: Awaitable[Any]) -> Any:
    try:
        return await coro
    except manage.AlertError as exc:
        raise ApiError(exc.status, str(exc), details=exc.details or None) from None


async def list_alerts(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response({"alerts": await call(manage.list_rules(alert_context(request), p.tenant))})


async def create_alert(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    out = await call(manage.create_rule(alert_context(request), p.tenant, await json_object(request)))
    audit_ok(request, p, "alert.create", out["id"], status=201)
    return json_response(out, 201)


async def get_alert(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await call(manage.get_rule(alert_context(request), p.tenant, request.match_info["id"])))


async def update_alert(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    out = await call(manage.update_rule(alert_context(request), p.tenant, request.match_info["id"],
                                        await json_object(request)))
    audit_ok(request, p, "alert.update", out["id"])
    return json_response(out)


async def delete_alert(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    await call(manage.delete_rule(alert_context(request), p.tenant, request.match_info["id"]))
    audit_ok(request, p, "alert.delete", request.match_info["id"])
    return json_response({"deleted": request.match_info["id"]})


async def test_alert(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    return json_response(await call(manage.test_rule(alert_context(request), p.tenant, request.match_info["id"])))


async def ack_alert(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    body = await json_body(request, required=False) or {}
    group = body.get("group") if isinstance(body, dict) else None
    out = await call(manage.ack(alert_context(request), p.tenant, request.match_info["id"], p.key_id, group))
    audit_ok(request, p, "alert.ack", request.match_info["id"])
    return json_response(out)


async def active_alerts(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response({"active": await call(manage.active(alert_context(request), p.tenant))})


async def alert_history(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    try:
        limit = min(1000, max(1, int(request.query.get("limit", "100"))))
    except ValueError:
        raise ApiError(400, "limit: an integer 1..1000") from None
    return json_response(await call(manage.history(alert_context(request), p.tenant, request.match_info["id"], limit)))


async def preview(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    try:
        hours = min(168, max(1, int(request.query.get("hours", "6"))))
    except ValueError:
        raise ApiError(400, "hours: an integer 1..168") from None
    interval = {1: "5m", 6: "10m", 24: "1h"}.get(hours, "1h")
    return json_response(await call(manage.preview(alert_context(request), p.tenant, request.query.get("q", ""),
                                                   hours, interval)))


async def list_silences(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response({"silences": await call(manage.list_silences(alert_context(request), p.tenant))})


async def create_silence(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    out = await call(manage.create_silence(alert_context(request), p.tenant, await json_object(request), p.key_id))
    audit_ok(request, p, "silence.create", out["id"], status=201)
    return json_response(out, 201)


async def delete_silence(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    await call(manage.delete_silence(alert_context(request), p.tenant, request.match_info["id"]))
    audit_ok(request, p, "silence.delete", request.match_info["id"])
    return json_response({"deleted": request.match_info["id"]})


ROUTES = [
    web.get("/api/v1/alerts", list_alerts),
    web.post("/api/v1/alerts", create_alert),
    web.get("/api/v1/alerts/active", active_alerts),
    web.get("/api/v1/alerts/preview", preview),
    web.get("/api/v1/alerts/{id}", get_alert),
    web.put("/api/v1/alerts/{id}", update_alert),
    web.delete("/api/v1/alerts/{id}", delete_alert),
    web.post("/api/v1/alerts/{id}/test", test_alert),
    web.post("/api/v1/alerts/{id}/ack", ack_alert),
    web.get("/api/v1/alerts/{id}/history", alert_history),
    web.get("/api/v1/silences", list_silences),
    web.post("/api/v1/silences", create_silence),
    web.delete("/api/v1/silences/{id}", delete_silence),
]

OPENAPI_PATHS: dict[str, Any] = alert_paths()
OPENAPI_SCHEMAS: dict[str, Any] = ALERT_SCHEMAS
