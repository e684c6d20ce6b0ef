"""GELF over HTTP: ``POST /gelf`` with one message, or several separated by newlines.

Answers as Graylog's GELF HTTP input does — 202 with an empty body when every message was
taken — plus, when some were not, the ``/ingest`` answer shape (``accepted``, ``rejected``
with the reason per message); 400 when none was valid. The body is inflated by its magic bytes
(graypy compresses with zlib and labels it ``gzip,deflate``). The key comes from the
``Authorization`` header, or — for clients such as graypy that cannot set headers — from the
``key`` query parameter (``/gelf?key=lh_live_…``; mind that URLs end up in proxy logs).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from gateway import gelf
from gateway.decompress import DecompressError, TooLargeError
from gateway.door import (
    Refusal,
    Slot,
    authenticate,
    check_capacity,
    precheck_length,
    protocol_metrics,
    submit,
    token_from_authorization,
)
from gateway.state import STATE
from gateway.validate import format_timestamp


def _state(request: web.Request) -> Any:
    return request.app[STATE]


def _problem(status: int, message: str, retry_after: str | None = None, **extra: Any) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    return web.Response(status=status, body=orjson.dumps({"error": message, "status": status, **extra}),
                        content_type="application/json", headers=headers)


def split_messages(data: bytes) -> list[bytes]:
    """One JSON object, or newline-delimited objects (a pretty-printed single object stays one)."""
    stripped = data.strip()
    if b"\n" not in stripped:
        return [stripped] if stripped else []
    try:
        orjson.loads(stripped)
        return [stripped]
    except orjson.JSONDecodeError:
        return [line for line in stripped.split(b"\n") if line.strip()]


async def _read_raw(request: web.Request, state: Any) -> bytes:
    """The body as sent. graypy's HTTP handler sends and hangs up without reading the answer; aiohttp
    then marks the stream failed although the whole body (Content-Length) already arrived — that
    body is still taken, from the stream's buffer, and nothing incomplete ever is."""
    pieces: list[bytes] = []
    limit = state.settings.max_batch_bytes
    try:
        async with asyncio.timeout(state.settings.body_timeout_s):
            while chunk := await request.content.readany():
                pieces.append(chunk)
                if sum(map(len, pieces)) > limit:
                    raise TooLargeError(f"body: more than {limit} bytes (batch limit)")
    except ConnectionResetError:
        pieces.extend(bytes(b) for b in getattr(request.content, "_buffer", ()))
        if request.content_length is None or sum(map(len, pieces)) != request.content_length:
            raise
    body = b"".join(pieces)
    state.metrics.bytes_in.observe(len(body))
    return body


async def gelf_post(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    async with Slot(state) as full:
        if full is not None:
            return _problem(full.status, full.message, full.retry_after)
        token = token_from_authorization(request.headers.get("Authorization")) or request.query.get("key")
        record = await authenticate(state, token, protocol="gelf_http", client_ip=request.remote, path=request.path)
        if isinstance(record, Refusal):
            return _problem(record.status, record.message, record.retry_after)
        refusal = precheck_length(state, request) or check_capacity(state, record)
        if refusal is not None:
            return _problem(refusal.status, refusal.message, refusal.retry_after)
        try:
            raw = await _read_raw(request, state)  # compression is judged by magic bytes below
            data = gelf.inflate(raw, state.settings.max_decompressed_bytes)
        except DecompressError as exc:
            return _problem(exc.status, str(exc))
        except gelf.GelfError as exc:
            return _problem(413 if exc.reason == "too_large" else 400, str(exc))
        except ConnectionResetError:
            return _problem(400, "body: the client closed the connection before the body was complete")
        except TimeoutError:
            return _problem(408, f"body: not received within {state.settings.body_timeout_s:g} s")
        messages = split_messages(data)
        if not messages:
            return _problem(400, "body: empty; send a GELF message (JSON object)")
        received_at = format_timestamp(datetime.now(UTC))
        events: list[dict[str, Any] | None] = []
        errors: dict[int, list[str]] = {}
        for i, m in enumerate(messages):
            try:
                events.append(gelf.parse_message(m, received_at=received_at))
            except gelf.GelfError as exc:
                events.append(None)
                errors[i] = [str(exc)]
        result = await submit(state, record, events, protocol="gelf_http", errors=errors)
        if isinstance(result, Refusal):
            return _problem(result.status, result.message, result.retry_after)
        if not result.rejected:
            return web.Response(status=202)
        rejected = [{"index": i, "errors": e} for i, e in sorted(result.rejected.items())]
        if not result.accepted:
            return _problem(400, f"none of the {len(messages)} GELF messages is valid", rejected=rejected[:1000])
        return web.Response(status=202, content_type="application/json",
                            body=orjson.dumps({"accepted": len(result.accepted), "rejected": rejected[:1000]}))


def add_gelf_routes(app: web.Application) -> None:
    app.router.add_post("/gelf", gelf_post)


__all__ = ["add_gelf_routes", "protocol_metrics"]
