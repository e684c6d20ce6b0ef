"""OTLP/HTTP logs: ``POST /v1/logs`` (and at ``protocols.otlp_port``, 4318 by convention).

Protobuf (``application/x-protobuf``) or JSON (``application/json``) bodies, gzip/deflate/zstd
encoded or not; the answer uses the request's content type. Good records of a request are never
refused because of bad ones: those are counted in ``partial_success.rejected_log_records`` with
the first reasons in ``error_message``. An undecodable body is a 400 with a ``google.rpc.Status``;
backpressure (Kafka down, lag, rate limit, concurrency) is 503 with an integer ``Retry-After``,
which every OTLP exporter retries (the Collector reads only integer seconds; older Python SDKs
do not retry 429, so the rate limit answers 503 too).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from gateway.decompress import DecompressError
from gateway.door import (
    Refusal,
    Slot,
    authenticate,
    check_capacity,
    precheck_length,
    read_body,
    submit,
    token_from_authorization,
)
from gateway.otlp import OtlpDecodeError, decode_json, decode_protobuf, to_events
from gateway.state import STATE
from gateway.validate import format_timestamp

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# google.rpc.Code
_CODES = {400: 3, 401: 16, 403: 7, 408: 4, 413: 8, 415: 3, 429: 8, 503: 14}


def _state(request: web.Request) -> Any:
    return request.app[STATE]


def _status_body(kind: str, status: int, message: str) -> bytes:
    code = _CODES.get(status, 2)
    if kind == PROTOBUF:
        from google.rpc.status_pb2 import Status

        return Status(code=code, message=message).SerializeToString()
    return orjson.dumps({"code": code, "message": message})


def status_response(kind: str, status: int, message: str, retry_after: str | None = None) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    return web.Response(status=status, body=_status_body(kind, status, message), content_type=kind, headers=headers)


def _refusal(kind: str, r: Refusal) -> web.Response:
    status = 503 if r.status == 429 else r.status  # see the module docstring
    return status_response(kind, status, r.message, r.retry_after)


def _success(kind: str, rejected: int, message: str) -> web.Response:
    if kind == PROTOBUF:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

        resp = ExportLogsServiceResponse()
        if rejected:
            resp.partial_success.rejected_log_records = rejected
            resp.partial_success.error_message = message
        body = resp.SerializeToString()
    else:
        payload: dict[str, Any] = {}
        if rejected:
            payload["partialSuccess"] = {"rejectedLogRecords": str(rejected), "errorMessage": message}
        body = orjson.dumps(payload)
    return web.Response(status=200, body=body, content_type=kind)


async def logs(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    mt = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    kind = PROTOBUF if mt in (PROTOBUF, "application/protobuf") else JSON
    if mt not in (PROTOBUF, "application/protobuf", JSON):
        return status_response(JSON, 415, f"Content-Type: {mt!r} is not supported; send {PROTOBUF} or {JSON}")
    async with Slot(state) as full:
        if full is not None:
            return _refusal(kind, full)
        token = token_from_authorization(request.headers.get("Authorization"))
        record = await authenticate(state, token, protocol="otlp", client_ip=request.remote, path=request.path)
        if isinstance(record, Refusal):
            return _refusal(kind, record)
        refusal = precheck_length(state, request) or check_capacity(state, record)
        if refusal is not None:
            return _refusal(kind, refusal)
        try:
            body = await read_body(request, state, request.headers.get("Content-Encoding"))
        except DecompressError as exc:
            return status_response(kind, exc.status, str(exc))
        except TimeoutError:
            return status_response(kind, 408, f"body: not received within {state.settings.body_timeout_s:g} s")
        try:
            records = decode_protobuf(body) if kind == PROTOBUF else decode_json(body)
        except OtlpDecodeError as exc:
            state.metrics.events_rejected.inc()
            from gateway.door import protocol_metrics

            protocol_metrics(state).rejected("otlp", "undecodable")
            return status_response(kind, 400, str(exc))
        if not records:
            return _success(kind, 0, "")
        received_at = format_timestamp(datetime.now(UTC))
        events = list(to_events(records, received_at=received_at, tenant=record.tenant, source=record.source))
        result = await submit(state, record, events, protocol="otlp")
        if isinstance(result, Refusal):
            return _refusal(kind, result)
        message = ""
        if result.rejected:
            first = sorted(result.rejected.items())[:3]
            message = "; ".join(f"record {i}: {', '.join(errs)}" for i, errs in first)
            if len(result.rejected) > 3:
                message += f"; and {len(result.rejected) - 3} more"
        return _success(kind, len(result.rejected), message)


def add_otlp_routes(app: web.Application) -> None:
    app.router.add_post("/v1/logs", logs)
