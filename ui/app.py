"""The ``logharbor ui`` aiohttp application: routing and HTTP concerns only.

Handlers authenticate, hand the query parameters to :class:`ui.api.QueryService` (or the
live-tail hub) and serialise what comes back; every decision lives in plain modules
(``ui.params``, ``ui.auth``, ``ui.api``, ``opensearch.search|aggregate|export``). Errors on
``/api/`` paths are always JSON ``{"error": ...}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import WSMsgType, web
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from logharbor.config import KafkaSettings, OpenSearchSettings, StorageSettings
from opensearch.audit import AuditWriter, audit_record
from opensearch.client import async_client
from opensearch.keys import KeyStore
from opensearch.search import OrjsonSerializer
from ui import keys_api
from ui import metrics as ui_metrics
from ui.api import QueryService, opensearch_errors
from ui.auth import Authenticator, AuthError, Principal, keystore_verifier, static_verifier
from ui.errors import ApiError, bad_request
from ui.live_tail import TailHub, build_matcher, pump
from ui.openapi import app_document
from ui.params import parse_filters
from ui.rollups import run_rollups
from ui.settings import UISettings
from ui.status import gather_status

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", UISettings)
SERVICE = web.AppKey("service", QueryService)
AUTH = web.AppKey("auth", Authenticator)
HUB = web.AppKey("hub", TailHub)
AUDIT = web.AppKey("audit", AuditWriter)
KAFKA = web.AppKey("kafka", KafkaSettings)
STATUS_CACHE = web.AppKey("status_cache", dict)
KEYS = web.AppKey("keys", KeyStore)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status,
                        content_type="application/json", headers=headers)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure under /api/ becomes JSON with the right status (never an HTML error page)."""
    try:
        return await handler(request)
    except ApiError as exc:
        # Unavailable dependencies are usually brief: tell clients when to retry.
        return json_response(exc.body(), exc.status, {"Retry-After": "5"} if exc.status == 503 else None)
    except AuthError as exc:
        headers = {"Retry-After": str(max(1, int(exc.retry_after + 0.999)))} if exc.retry_after else None
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="logharbor"'}
        return json_response({"error": exc.message}, exc.status, headers)
    except web.HTTPException as exc:
        if not request.path.startswith("/api/") or exc.status < 400:
            raise
        return json_response({"error": exc.reason}, exc.status)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except (OSConnectionError, TransportError) as exc:
        # Anything that reached OpenSearch outside QueryService (key store, audit): same mapping.
        try:
            with opensearch_errors():
                raise exc
        except ApiError as api:
            return json_response(api.body(), api.status)
    except Exception:
        if not request.path.startswith("/api/"):
            raise
        log.exception("unhandled error on %s", request.path)
        return json_response({"error": "internal error (logged by the ui process)"}, 500)


async def authenticate(request: web.Request, scope: str, allow_query_token: bool = False) -> Principal:
    header = request.headers.get("Authorization")
    if header is None and allow_query_token and request.query.get("access_token"):
        header = "Bearer " + request.query["access_token"]
    try:
        return await request.app[AUTH].authenticate(header, scope)
    except AuthError as exc:
        if exc.status in (401, 403):
            request.app[AUDIT].record(audit_record(
                action=f"ui.{scope}", outcome="denied", key_id=None, client_ip=request.remote,
                status=exc.status, path=request.path, component="ui", detail=exc.message))
        raise


# ---------------------------------------------------------------- handlers


async def search(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].search(p, request.query))


async def detail(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].detail(p, request.match_info["id"], request.query))


async def aggregate(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].aggregate(p, request.query))


async def export(request: web.Request) -> web.StreamResponse:
    """Streamed download: the first batch is fetched before the headers go out, so a bad query
    is still a JSON 400; after that a failure can only cut the stream short (and is logged)."""
    p = await authenticate(request, "read")
    plan = await request.app[SERVICE].export(p, request.query)
    batches = plan.batches
    try:
        with opensearch_errors():
            first = await anext(batches, None)
        resp = web.StreamResponse(headers={
            "Content-Type": plan.content_type,
            "Content-Disposition": f'attachment; filename="{plan.filename}"',
            "Cache-Control": "no-store",
        })
        await resp.prepare(request)
        await resp.write(plan.formatter.head())
        if first is not None:
            await resp.write(plan.formatter.batch(first))
            async for batch in batches:
                await resp.write(plan.formatter.batch(batch))
        await resp.write(plan.formatter.tail())
        await resp.write_eof()
        return resp
    finally:
        await batches.aclose()  # closes the point in time even when the client went away


async def status(request: web.Request) -> web.Response:
    await authenticate(request, "read")
    cache = request.app[STATUS_CACHE]
    if cache.get("at", 0) + 2.0 < time.monotonic():
        settings = request.app[SETTINGS]
        cache["value"] = await gather_status(request.app[SERVICE].client, request.app[KAFKA],
                                             settings.gateway_health_url, settings.probe_timeout_s)
        cache["at"] = time.monotonic()
    return json_response(cache["value"])


async def metrics(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    out = await request.app[SERVICE].metrics(p)
    hub = request.app[HUB]
    out["live_tail"] = {"subscribers": hub.subscriber_count, "records_seen": hub.records,
                        "events_delivered": hub.delivered}
    return json_response(out)


async def sources(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].sources(p))


async def fields(request: web.Request) -> web.Response:
    p = await authenticate(request, "read")
    return json_response(await request.app[SERVICE].fields(p, request.query))


async def get_retention(request: web.Request) -> web.Response:
    await authenticate(request, "admin")
    return json_response(await request.app[SERVICE].get_retention())


async def set_retention(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    out = await request.app[SERVICE].set_retention(await _json_body(request))
    _audit_admin(request, p, "retention.set", orjson.dumps(out["retention_days"]).decode())
    return json_response(out)


async def _json_body(request: web.Request, required: bool = True) -> Any:
    raw = await request.read()
    if not raw and not required:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"request body is not JSON: {exc}") from None


def _audit_admin(request: web.Request, p: Principal, action: str, detail: str | None = None) -> None:
    request.app[AUDIT].record(audit_record(
        action=action, outcome="ok", key_id=p.key_id, tenant=p.tenant, client_ip=request.remote,
        status=200, path=request.path, component="ui", detail=detail))


async def list_keys(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    return json_response(await keys_api.list_keys(request.app[KEYS], p))


async def create_key(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    out = await keys_api.create_key(request.app[KEYS], p, await _json_body(request))
    _audit_admin(request, p, "key.create", out["record"]["key_id"])
    return json_response(out, 201)


async def revoke_key(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    out = await keys_api.revoke_key(request.app[KEYS], p, request.match_info["key_id"])
    _audit_admin(request, p, "key.revoke", out["record"]["key_id"])
    return json_response(out)


async def rotate_key(request: web.Request) -> web.Response:
    p = await authenticate(request, "admin")
    body = await _json_body(request, required=False)
    out = await keys_api.rotate_key(request.app[KEYS], p, request.match_info["key_id"], body)
    _audit_admin(request, p, "key.rotate", f"{request.match_info['key_id']} -> {out['record']['key_id']}")
    return json_response(out)


async def openapi(request: web.Request) -> web.Response:
    return json_response(app_document(request.app))


async def stream(request: web.Request) -> web.StreamResponse:
    """Live tail over WebSocket, or Server-Sent Events when the client asks for text/event-stream."""
    settings = request.app[SETTINGS]
    p = await authenticate(request, "read", allow_query_token=settings.allow_query_token)
    f = parse_filters(request.query, datetime.now(UTC))
    match = build_matcher(f.query, f.levels, f.sources)
    hub = request.app[HUB]
    is_sse = "text/event-stream" in request.headers.get("Accept", "")
    ws = web.WebSocketResponse(max_msg_size=64 * 1024)
    if not is_sse and not ws.can_prepare(request).ok:
        raise bad_request("use a WebSocket upgrade, or Accept: text/event-stream for SSE")
    try:
        sub = await hub.subscribe(p.tenant, match)
    except RuntimeError as exc:
        raise ApiError(503, str(exc)) from exc
    except Exception as exc:
        raise ApiError(503, f"live tail unavailable: cannot read Kafka ({exc})") from exc
    closed = asyncio.Event()
    try:
        if is_sse:
            return await _serve_sse(request, sub, settings.heartbeat_s, closed)
        await ws.prepare(request)

        async def send(message: dict[str, Any]) -> None:
            await ws.send_str(orjson.dumps(message).decode())

        await send({"type": "ready"})
        pump_task = asyncio.create_task(pump(sub, send, settings.heartbeat_s, closed))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    kind = orjson.loads(msg.data).get("type")
                except (orjson.JSONDecodeError, AttributeError):
                    await send({"type": "error", "error": "client messages are JSON objects with a 'type'"})
                    continue
                if kind == "pause":
                    sub.pause()
                elif kind == "resume":
                    sub.resume()
                else:
                    await send({"type": "error", "error": f"unknown message type {kind!r} (pause, resume)"})
        finally:
            closed.set()
            pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError, RuntimeError):
                await pump_task
        return ws
    finally:
        hub.unsubscribe(sub)


async def _serve_sse(request: web.Request, sub: Any, heartbeat_s: float, closed: asyncio.Event
                     ) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)

    async def send(message: dict[str, Any]) -> None:
        await resp.write(b"data: " + orjson.dumps(message) + b"\n\n")

    await send({"type": "ready"})
    # SSE is one-way, so a closed client shows up as a failed write (at the latest at the heartbeat).
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await pump(sub, send, heartbeat_s, closed)
    return resp


# ---------------------------------------------------------------- app


def add_routes(app: web.Application) -> None:
    r = app.router
    # Fixed paths before /logs/{id}: aiohttp matches in registration order.
    r.add_get("/api/v1/logs/search", search)
    r.add_get("/api/v1/logs/aggregate", aggregate)
    r.add_get("/api/v1/logs/export", export)
    r.add_get("/api/v1/logs/{id}", detail)
    r.add_get("/api/v1/status", status)
    r.add_get("/api/v1/metrics", metrics)
    r.add_get("/api/v1/sources", sources)
    r.add_get("/api/v1/fields", fields)
    r.add_get("/api/v1/retention", get_retention)
    r.add_post("/api/v1/retention", set_retention)
    r.add_get("/api/v1/keys", list_keys)
    r.add_post("/api/v1/keys", create_key)
    r.add_delete("/api/v1/keys/{key_id}", revoke_key)
    r.add_post("/api/v1/keys/{key_id}/rotate", rotate_key)
    r.add_get("/api/v1/openapi.json", openapi)
    r.add_get("/api/v1/stream", stream)


def create_app(settings: UISettings | None = None, *, opensearch: OpenSearchSettings | None = None,
               kafka: KafkaSettings | None = None, storage: StorageSettings | None = None) -> web.Application:
    """The ui app; the OpenSearch client, key store, audit writer and live-tail hub live as long as it."""
    settings = settings or UISettings()
    app = web.Application(middlewares=[json_errors])
    ui_metrics.install(app, lambda: app[HUB].subscriber_count if HUB in app else 0)  # GET /metrics
    app[SETTINGS] = settings
    app[KAFKA] = kafka or KafkaSettings()
    app[STATUS_CACHE] = {}
    os_settings = opensearch or OpenSearchSettings()

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        # Build the query parser now (~0.1 s) rather than on the first search.
        from opensearch.query import parse

        parse("warm:up")
        client = async_client(os_settings, serializer=OrjsonSerializer())
        app[SERVICE] = QueryService(client, settings, storage, os_settings=os_settings)
        verifiers = []
        if settings.static_keys:
            verifiers.append(static_verifier(settings.static_keys))
        app[KEYS] = KeyStore(client)
        verifiers.append(keystore_verifier(app[KEYS]))
        app[AUTH] = Authenticator(verifiers)
        app[AUDIT] = AuditWriter(client)
        app[AUDIT].start()
        app[HUB] = TailHub(app[KAFKA], settings.tail_buffer, settings.max_subscribers)
        rollups = None
        if settings.rollup_interval_s > 0:
            classes = list((storage or StorageSettings()).retention_days)
            rollups = asyncio.create_task(run_rollups(client, app[SERVICE].resolver, classes,
                                                      settings.rollup_interval_s, settings.rollup_lookback_hours),
                                          name="rollups")
        try:
            yield
        finally:
            if rollups is not None:
                rollups.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await rollups
            await app[HUB].close()
            with contextlib.suppress(Exception):
                await app[AUDIT].close()
            await app[SERVICE].close()
            await client.close()

    app.cleanup_ctx.append(lifetime)
    add_routes(app)
    try:
        pages = importlib.import_module("ui.web.routes")
    except ModuleNotFoundError as exc:
        if exc.name not in ("ui.web", "ui.web.routes"):
            raise
    else:
        pages.setup(app)
    return app


async def run_ui(settings: UISettings | None, stop_event: asyncio.Event) -> None:
    """Serve until ``stop_event`` is set (the all-in-one ``logharbor run`` and ``logharbor ui``)."""
    settings = settings or UISettings()
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        log.info("logharbor ui listening on http://%s:%s", settings.host, settings.port)
        await stop_event.wait()
    finally:
        await runner.cleanup()
