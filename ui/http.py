"""What the JSON API and the web pages both need: the app keys, ``authenticate``, JSON in and out, audit.

A leaf of ``ui``: it imports no handler module, so ``ui.app`` (the API) and ``ui.web.*`` (the
pages) both build on it without importing each other. Everything a handler reads from the
application is one of the keys below (``request.app[SERVICE]`` ...).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from logharbor.config import KafkaSettings
from opensearch.audit import AuditWriter, audit_record
from opensearch.keys import KeyStore
from ui.api import QueryService
from ui.auth import Authenticator, AuthError, Principal
from ui.errors import bad_request
from ui.live_tail import TailHub
from ui.settings import UISettings

SETTINGS = web.AppKey("settings", UISettings)
SERVICE = web.AppKey("service", QueryService)
AUTH = web.AppKey("auth", Authenticator)
HUB = web.AppKey("hub", TailHub)
AUDIT = web.AppKey("audit", AuditWriter)
KAFKA = web.AppKey("kafka", KafkaSettings)
STATUS_CACHE = web.AppKey("status_cache", dict)
KEYS = web.AppKey("keys", KeyStore)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status,
                        content_type="application/json", headers=headers)


async def json_body(request: web.Request, required: bool = True) -> Any:
    """The request body as JSON (None for an empty optional body); 400 when it is not JSON."""
    raw = await request.read()
    if not raw and not required:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"request body is not JSON: {exc}") from None


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; 400 for anything else."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    return body


def audit_ok(request: web.Request, p: Principal, action: str, detail: str | None = None,
             status: int = 200) -> None:
    """One audit record for a change a caller made (keys, retention, sign-in)."""
    request.app[AUDIT].record(audit_record(
        action=action, outcome="ok", key_id=p.key_id, tenant=p.tenant, client_ip=request.remote,
        status=status, path=request.path, component="ui", detail=detail))


def audit_denied(request: web.Request, action: str, status: int, detail: str) -> None:
    """One audit record for a refused credential (401/403)."""
    request.app[AUDIT].record(audit_record(
        action=action, outcome="denied", key_id=None, client_ip=request.remote,
        status=status, path=request.path, component="ui", detail=detail))


async def authenticate(request: web.Request, scope: str, allow_query_token: bool = False) -> Principal:
    """The caller of an API request (key or dashboard session), with ``scope``; refusals audited."""
    header = request.headers.get("Authorization")
    if header is None and allow_query_token and request.query.get("access_token"):
        header = "Bearer " + request.query["access_token"]
    try:
        return await request.app[AUTH].authenticate(header, scope)
    except AuthError as exc:
        if exc.status in (401, 403):
            audit_denied(request, f"ui.{scope}", exc.status, exc.message)
        raise
