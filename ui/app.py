"""The ``logharbor ui`` aiohttp application: assembly, the JSON error middleware, serving.

Handlers live in ``ui.routes.*`` (the JSON API, one module per concern) and ``ui.web.*`` (the
pages); this module mounts their route tables, owns the clients' lifetime and turns every
failure under ``/api/`` into JSON ``{"error": ...}``. Decisions live in plain modules
(``ui.params``, ``ui.auth``, ``ui.api``, ``opensearch.search|aggregate|export``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType

from aiohttp import web
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from logharbor import quiet_client_errors
from logharbor.config import KafkaSettings, OpenSearchSettings, StorageSettings
from logharbor.tasks import stop_task
from opensearch.audit import AuditWriter
from opensearch.client import async_client
from opensearch.keys import KeyStore
from opensearch.search import OrjsonSerializer
from ui import metrics as ui_metrics
from ui.api import QueryService, opensearch_errors
from ui.auth import Authenticator, AuthError, keystore_verifier, static_verifier
from ui.concurrency import EXPORT_CAPS, KeyCaps
from ui.errors import ApiError
from ui.http import (  # noqa: F401  (re-exported: scripts and older code read the keys from ui.app)
    AUDIT,
    AUTH,
    HUB,
    KAFKA,
    KEYS,
    SERVICE,
    SETTINGS,
    STATUS_CACHE,
    authenticate,
    json_response,
)
from ui.keys_api import key_limits
from ui.live_tail import TailHub
from ui.openapi import document_paths
from ui.rollups import run_rollups
from ui.routes import admin, alerts, lifecycle, logs, patterns, stream, system
from ui.settings import UISettings
from ui.web import routes as web_routes

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The JSON API, one module per concern; each has a ROUTES table. Add a module here to mount it.
API_ROUTE_MODULES: tuple[ModuleType, ...] = (
    logs,
    system,
    admin,
    stream,
    lifecycle,
    alerts,
    patterns,
)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure under /api/ becomes JSON with the right status (never an HTML error page)."""
    try:
        return await handler(request)
    except ApiError as exc:
        # Unavailable dependencies are usually brief: tell clients when to retry (the error's own
        # retry_after_s where it knows better, e.g. a shard still starting).
        retry = exc.extra.get("retry_after_s") or 5
        return json_response(exc.body(), exc.status, {"Retry-After": str(retry)} if exc.status == 503 else None)
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


def add_routes(app: web.Application) -> None:
    """Mount the JSON API's route tables (the pages come from ``ui.web.routes.setup``)."""
    for module in API_ROUTE_MODULES:
        app.router.add_routes(module.ROUTES)
        if hasattr(module, "OPENAPI_PATHS"):
            document_paths(app, module.OPENAPI_PATHS, getattr(module, "OPENAPI_SCHEMAS", {}))


def create_app(settings: UISettings | None = None, *, opensearch: OpenSearchSettings | None = None,
               kafka: KafkaSettings | None = None, storage: StorageSettings | None = None) -> web.Application:
    """The ui app; the OpenSearch client, key store, audit writer and live-tail hub live as long as it."""
    settings = settings or UISettings()
    app = web.Application(middlewares=[json_errors])
    ui_metrics.install(app, lambda: app[HUB].subscriber_count if HUB in app else 0)  # GET /metrics
    app[SETTINGS] = settings
    app[KAFKA] = kafka or KafkaSettings()
    app[STATUS_CACHE] = {}
    app[EXPORT_CAPS] = KeyCaps("exports", settings.max_exports_per_key, settings.max_exports, "max_exports")
    quiet_client_errors.install()  # malformed HTTP: one log line, no traceback (issue 16)
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
        app[KEYS] = KeyStore(client, limits=key_limits(settings))
        verifiers.append(keystore_verifier(app[KEYS]))
        app[AUTH] = Authenticator(verifiers)
        app[AUDIT] = AuditWriter(client)
        app[AUDIT].start()
        app[HUB] = TailHub(app[KAFKA], settings.tail_buffer, settings.max_subscribers,
                           max_per_key=settings.max_streams_per_key)
        rollups = None
        if settings.rollup_interval_s > 0:
            classes = list((storage or StorageSettings()).retention_days)
            rollups = asyncio.create_task(run_rollups(client, app[SERVICE].resolver, classes,
                                                      settings.rollup_interval_s, settings.rollup_lookback_hours),
                                          name="rollups")
        try:
            yield
        finally:
            await stop_task(rollups)
            await app[HUB].close()
            with contextlib.suppress(Exception):
                await app[AUDIT].close()
            await app[SERVICE].close()
            await client.close()

    app.cleanup_ctx.append(lifetime)
    add_routes(app)
    web_routes.setup(app)
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
