"""Prometheus metrics of the ui (``GET /metrics``): request rates, errors, latency, live-tail subscribers.

Why: the gateway, pipeline and shipper export ``/metrics`` and the Grafana dashboard
(ops/grafana/logharbor-metrics.json) shows all four roles; the query API's latency is what users
feel first. A registry per app (like the gateway's), so ``logharbor run`` — gateway and ui in one
process — keeps their numbers apart. The route label is aiohttp's route template
(``/api/v1/logs/search``, ``/api/v1/keys/{key_id}``), never the raw path: bounded cardinality.
Like the gateway's, the endpoint needs no key; bind the ui to a private address or filter
``/metrics`` at the proxy if that matters.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_P = "logharbor_ui_"


class UIMetrics:
    """Every ui metric; names start with ``logharbor_ui_``."""

    def __init__(self, subscribers: Callable[[], int] | None = None) -> None:
        r = self.registry = CollectorRegistry()
        self.requests = Counter(_P + "requests_total", "HTTP requests by route and status", ["route", "status"],
                                registry=r)
        self.response_time = Histogram(_P + "response_seconds", "Request handling time by route", ["route"],
                                       buckets=_BUCKETS, registry=r)
        self.in_flight = Gauge(_P + "requests_in_flight", "Requests being handled", registry=r)
        self.subscribers = Gauge(_P + "live_tail_subscribers", "Live-tail WebSocket subscribers", registry=r)
        if subscribers is not None:
            self.subscribers.set_function(lambda: float(subscribers()))

    def render(self) -> bytes:
        return generate_latest(self.registry)


METRICS = web.AppKey("ui_metrics", UIMetrics)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def _measure(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                   ) -> web.StreamResponse:
    m = request.app[METRICS]
    route = _route(request)
    if route == "/metrics":
        return await handler(request)
    started = time.perf_counter()
    status = 500
    m.in_flight.inc()
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        m.in_flight.dec()
        m.requests.labels(route, str(status)).inc()
        m.response_time.labels(route).observe(time.perf_counter() - started)


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[METRICS].render(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def install(app: web.Application, subscribers: Callable[[], int] | None = None) -> None:
    """Measure every request of ``app`` (outermost middleware) and serve ``GET /metrics``."""
    app[METRICS] = UIMetrics(subscribers)
    app.middlewares.insert(0, _measure)
    app.router.add_get("/metrics", _metrics)
