"""Registration of the protocol doors on the gateway app, and their dedicated ports.

``register_protocols`` is the one line gateway/app.py calls; ``start_protocol_sites`` the one
gateway/server.py calls. Each door lives in its own module (es_http, otlp_http, gelf_http,
listeners) and all of them go through gateway/door.py.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import web

from gateway.es_http import add_es_routes
from gateway.gelf_http import add_gelf_routes
from gateway.listeners import Listener, start_listeners
from gateway.otlp_http import add_otlp_routes
from gateway.state import STATE, metrics_middleware

EXTRA_RUNNERS = web.AppKey("protocol_runners", list)
LISTENERS = web.AppKey("protocol_listeners", list)
GRPC_SERVERS = web.AppKey("protocol_grpc_servers", list)


def register_protocols(app: web.Application) -> None:
    """Routes on the main port: ``/es/...``, ``/v1/logs``, ``/gelf``; listeners start with the app."""
    p = app[STATE].settings.protocols
    if p.es_enabled:
        add_es_routes(app, "/es")
    if p.otlp_enabled:
        add_otlp_routes(app)
    if p.gelf_http_enabled:
        add_gelf_routes(app)
    app[EXTRA_RUNNERS] = []
    app[LISTENERS] = []
    app[GRPC_SERVERS] = []
    if p.listeners:
        app.on_startup.append(_start_listeners)  # after the state's own startup (keys, producer)
        app.on_shutdown.insert(0, _stop_listeners)


async def _start_listeners(app: web.Application) -> None:
    app[LISTENERS].extend(await start_listeners(app[STATE]))


async def _stop_listeners(app: web.Application) -> None:
    listeners: list[Listener] = app[LISTENERS]
    for listener in listeners:
        await listener.stop()


def _port_app(main: web.Application, kind: str) -> web.Application:
    """An app for a dedicated port that shares the main app's state (keys, producer, limits)."""
    sub = web.Application(middlewares=[metrics_middleware])
    sub[STATE] = main[STATE]
    if kind == "es":
        add_es_routes(sub, "")
    else:
        add_otlp_routes(sub)
    return sub


async def start_protocol_sites(main: web.Application, host: str, **runner_kwargs: Any) -> list[web.AppRunner]:
    """Start the dedicated ES-root, OTLP/HTTP and OTLP/gRPC ports when configured (off by default)."""
    p = main[STATE].settings.protocols
    runners: list[web.AppRunner] = []
    for kind, port in (("es", p.es_port), ("otlp", p.otlp_port)):
        if port is None:
            continue
        runner = web.AppRunner(_port_app(main, kind), **runner_kwargs)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        runners.append(runner)
    main[EXTRA_RUNNERS].extend(runners)
    if p.otlp_grpc_port is not None:
        from gateway.otlp_grpc import OtlpGrpcServer

        grpc_server = OtlpGrpcServer(main[STATE], host, p.otlp_grpc_port, tls_cert=p.otlp_grpc_tls_cert,
                                     tls_key=p.otlp_grpc_tls_key)
        await grpc_server.start()
        main[GRPC_SERVERS].append(grpc_server)
    return runners


def site_port(runner: web.AppRunner) -> int:
    """The bound port of a runner's first site (tests bind port 0)."""
    for site in runner.sites:
        server = getattr(site, "_server", None)
        for sock in getattr(server, "sockets", None) or []:
            return int(sock.getsockname()[1])
    return 0


async def stop_protocol_sites(main: web.Application) -> None:
    for server in main.get(GRPC_SERVERS, []):
        with contextlib.suppress(Exception):
            await server.stop()
    for runner in main.get(EXTRA_RUNNERS, []):
        with contextlib.suppress(Exception):
            await runner.cleanup()
