"""OTLP/gRPC logs: ``opentelemetry.proto.collector.logs.v1.LogsService/Export`` on
``protocols.otlp_grpc_port`` (4317 by convention) — the OpenTelemetry Collector's and most SDKs'
default exporter protocol.

The same door as OTLP/HTTP (:mod:`gateway.otlp_http`): the key comes from the ``authorization``
metadata (``Bearer <key>``, ``ApiKey <key>`` or Basic), then capacity, decoding
(:func:`gateway.otlp.decode_protobuf` on the raw request bytes — the handler registers no
deserializer so nothing is parsed twice), validation and produce through :func:`gateway.door.submit`.
Bad records are counted in ``partial_success``; a request that must be retried (Kafka down, lag,
rate limit, concurrency) fails with ``UNAVAILABLE`` and a ``google.rpc.RetryInfo`` in the status
details, which OTLP exporters honour as the back-off; credentials answer ``UNAUTHENTICATED`` /
``PERMISSION_DENIED`` and undecodable requests ``INVALID_ARGUMENT`` (neither is retried). The
size limit is ``gateway.max_batch_bytes`` on the decoded message, enforced by gRPC itself (``RESOURCE_EXHAUSTED``).

grpcio's asyncio server runs in the gateway's own event loop, beside aiohttp.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from grpc import aio

from gateway.door import Refusal, Slot, authenticate, check_capacity, protocol_metrics, submit, token_from_authorization
from gateway.otlp import OtlpDecodeError, decode_protobuf, to_events
from gateway.validate import format_timestamp

log = logging.getLogger(__name__)
SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
PATH = f"/{SERVICE}/Export"
PROTOCOL = "otlp_grpc"
# HTTP-like refusal statuses → gRPC codes (OTLP spec: UNAVAILABLE is retryable; RESOURCE_EXHAUSTED
# only with RetryInfo, so backpressure uses UNAVAILABLE as OTLP/HTTP uses 503)
_CODES = {400: grpc.StatusCode.INVALID_ARGUMENT, 401: grpc.StatusCode.UNAUTHENTICATED,
          403: grpc.StatusCode.PERMISSION_DENIED, 408: grpc.StatusCode.DEADLINE_EXCEEDED,
          413: grpc.StatusCode.RESOURCE_EXHAUSTED, 429: grpc.StatusCode.UNAVAILABLE,
          503: grpc.StatusCode.UNAVAILABLE}


def _status_details(code: grpc.StatusCode, message: str, retry_after: str | None) -> bytes:
    """A ``google.rpc.Status`` (with ``RetryInfo`` when the caller should come back later)."""
    from google.protobuf import any_pb2
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status(code=code.value[0], message=message)
    if retry_after:
        info = error_details_pb2.RetryInfo()
        info.retry_delay.FromSeconds(max(1, int(float(retry_after))))
        detail = any_pb2.Any()
        detail.Pack(info)
        status.details.append(detail)
    return status.SerializeToString()


async def _abort(context: aio.ServicerContext, r: Refusal) -> None:
    code = _CODES.get(r.status, grpc.StatusCode.UNKNOWN)
    retry = r.retry_after if code is grpc.StatusCode.UNAVAILABLE else None
    await context.abort(code, r.message, trailing_metadata=(
        ("grpc-status-details-bin", _status_details(code, r.message, retry)),))


def _peer_ip(context: aio.ServicerContext) -> str | None:
    peer = context.peer() or ""  # "ipv4:127.0.0.1:5432" / "ipv6:[::1]:5432"
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return None


class OtlpGrpcDoor:
    """The Export handler bound to the gateway's state (keys, limits, producer, metrics)."""

    def __init__(self, state: Any) -> None:
        self.state = state

    async def export(self, request: bytes, context: aio.ServicerContext) -> bytes:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

        state = self.state
        async with Slot(state) as full:
            if full is not None:
                await _abort(context, full)
            metadata = {k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
            token = token_from_authorization(metadata.get("authorization"))
            record = await authenticate(state, token, protocol=PROTOCOL, client_ip=_peer_ip(context), path=PATH)
            if isinstance(record, Refusal):
                await _abort(context, record)
            refusal = check_capacity(state, record)
            if refusal is not None:
                await _abort(context, refusal)
            try:
                records = decode_protobuf(request)
            except OtlpDecodeError as exc:
                state.metrics.events_rejected.inc()
                protocol_metrics(state).rejected(PROTOCOL, "undecodable")
                await _abort(context, Refusal(400, str(exc)))
            resp = ExportLogsServiceResponse()
            if not records:
                return resp.SerializeToString()
            received_at = format_timestamp(datetime.now(UTC))
            events = list(to_events(records, received_at=received_at, tenant=record.tenant, source=record.source))
            result = await submit(state, record, events, protocol=PROTOCOL)
            if isinstance(result, Refusal):
                await _abort(context, result)
            if result.rejected:
                first = sorted(result.rejected.items())[:3]
                message = "; ".join(f"record {i}: {', '.join(errs)}" for i, errs in first)
                if len(result.rejected) > 3:
                    message += f"; and {len(result.rejected) - 3} more"
                resp.partial_success.rejected_log_records = len(result.rejected)
                resp.partial_success.error_message = message
            return resp.SerializeToString()


def _credentials(cert: str, key: str) -> grpc.ServerCredentials:
    """Read once at start-up (a renewed certificate needs a gateway restart, as for the listeners)."""
    return grpc.ssl_server_credentials([(Path(key).read_bytes(), Path(cert).read_bytes())])


class OtlpGrpcServer:
    """A grpc.aio server with only the logs Export method, plaintext or TLS."""

    def __init__(self, state: Any, host: str, port: int, *, tls_cert: str | None = None,
                 tls_key: str | None = None) -> None:
        self.state, self.host, self.port = state, host, port
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.server: aio.Server | None = None
        self.bound_port = 0

    async def start(self) -> int:
        limit = int(self.state.settings.max_batch_bytes)  # the decoded message, as gateway.max_batch_bytes
        # gRPC's default SO_REUSEPORT lets `gateway --workers N` processes share the port
        self.server = aio.server(options=[("grpc.max_receive_message_length", limit)])
        door = OtlpGrpcDoor(self.state)
        handler = grpc.method_handlers_generic_handler(SERVICE, {
            "Export": grpc.unary_unary_rpc_method_handler(door.export)})  # raw bytes in and out
        self.server.add_generic_rpc_handlers((handler,))
        address = f"{self.host}:{self.port}"
        if self.tls_cert and self.tls_key:
            self.bound_port = self.server.add_secure_port(address, _credentials(self.tls_cert, self.tls_key))
        else:
            self.bound_port = self.server.add_insecure_port(address)
        if not self.bound_port:
            raise OSError(f"gateway.protocols.otlp_grpc_port: cannot bind {address}")
        await self.server.start()
        log.info("OTLP/gRPC logs on %s:%d%s", self.host, self.bound_port, " (TLS)" if self.tls_cert else "")
        return self.bound_port

    async def stop(self, grace_s: float = 5.0) -> None:
        if self.server is not None:
            await self.server.stop(grace_s)
