"""The gateway process's shared state: ``GatewayState``, the ``STATE`` app key and the metrics middleware.

A leaf module (it imports no other door) so that gateway/app.py and the protocol doors
(protocols, es_http, otlp_http, gelf_http, listeners, door) all read the same state without
importing each other — before it, the doors reached back into app.py through function-local imports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aiohttp import web

from gateway.auth import KeyCache
from gateway.decompress import DecompressLimits
from gateway.lag import LagMonitor
from gateway.metrics import GatewayMetrics
from gateway.produce import EventProducer
from gateway.ratelimit import ConcurrencyLimiter, KeyRateLimiter
from gateway.retry_ids import PartialWriteMemo
from gateway.settings import GatewaySettings
from gateway.validate import ValidationLimits
from logharbor.config import KafkaSettings, OpenSearchSettings
from opensearch.audit import AuditWriter


@dataclass
class GatewayState:
    """Everything one gateway app owns; stored on the app so handlers stay functions."""

    settings: GatewaySettings
    kafka: KafkaSettings
    opensearch: OpenSearchSettings
    metrics: GatewayMetrics
    producer: EventProducer
    lag: LagMonitor
    limiter: KeyRateLimiter
    concurrency: ConcurrencyLimiter
    keys: KeyCache | None = None
    audit: AuditWriter | None = None
    os_client: Any = None
    draining: bool = False
    trusted_proxies: tuple[Any, ...] = ()
    ready_cache: tuple[float, bool, dict[str, str]] = field(default=(0.0, False, {}))
    retry_ids: PartialWriteMemo = field(default_factory=PartialWriteMemo)

    # built once: read per request, and the settings of a running app do not change
    @cached_property
    def decompress_limits(self) -> DecompressLimits:
        s = self.settings
        return DecompressLimits(
            max_output=s.max_decompressed_bytes,
            max_ratio=s.max_compression_ratio,
            ratio_grace=s.ratio_grace_bytes,
            max_members=s.max_gzip_members,
        )

    @cached_property
    def validation_limits(self) -> ValidationLimits:
        s = self.settings
        return ValidationLimits(
            max_message_bytes=s.max_message_bytes,
            max_entry_bytes=s.max_entry_bytes,
            max_events=s.max_events_per_batch,
            future_skew_s=s.future_skew_s,
            trust_event_ids=s.trust_event_ids,
            max_depth=s.max_depth,
            max_fields=s.max_fields,
        )


STATE = web.AppKey("gateway_state", GatewayState)


def route_name(request: web.Request) -> str:
    """The metrics label of a request: its route's canonical path, or ``unmatched``."""
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    state = request.app[STATE]
    route = route_name(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        state.metrics.requests.labels(route, str(status)).inc()
        state.metrics.response_time.labels(route).observe(time.perf_counter() - started)
