"""``/api/v1/stream``: the live tail over WebSocket, or Server-Sent Events on request."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from ui.auth import AuthError
from ui.errors import ApiError, bad_request
from ui.http import HUB, SETTINGS, authenticate
from ui.live_tail import TailLimitError, build_matcher, pump
from ui.params import parse_filters


async def stream(request: web.Request) -> web.StreamResponse:
    """Live tail over WebSocket, or Server-Sent Events when the client asks for text/event-stream."""
    settings = request.app[SETTINGS]
    p = await authenticate(request, "read", allow_query_token=settings.allow_query_token)
    f = parse_filters(request.query, datetime.now(UTC), settings)
    match = build_matcher(f.query, f.levels, f.sources)
    hub = request.app[HUB]
    is_sse = "text/event-stream" in request.headers.get("Accept", "")
    ws = web.WebSocketResponse(max_msg_size=64 * 1024)
    if not is_sse and not ws.can_prepare(request).ok:
        raise bad_request("use a WebSocket upgrade, or Accept: text/event-stream for SSE")
    try:
        sub = await hub.subscribe(p.tenant, match, key_id=p.key_id)
    except TailLimitError as exc:  # this key's share of the pool is used up: its problem, not ours
        raise AuthError(429, str(exc), retry_after=5.0) from exc
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


async def live_overview(request: web.Request) -> web.StreamResponse:
    """``/api/v1/live/overview``: Server-Sent Events, one ``tick`` a second with the caller's
    tenant's per-second counts by level for the last ``window`` seconds (10–300, default 60),
    totals, error rate and the newest errors — from the live tail's consumer, not OpenSearch."""
    from ui.live_overview import LiveCounter

    settings = request.app[SETTINGS]
    p = await authenticate(request, "read", allow_query_token=settings.allow_query_token)
    try:
        window = int(request.query.get("window", "60"))
    except ValueError:
        raise bad_request("window: seconds as a whole number (10 to 300)") from None
    if not 10 <= window <= 300:
        raise bad_request(f"window: {window} is outside 10 to 300 seconds")
    hub = request.app[HUB]
    try:
        sub = await hub.subscribe(p.tenant, lambda _doc: True, key_id=p.key_id,
                                  factory=lambda t, m, n: LiveCounter(t, m, n, window_s=window))
    except TailLimitError as exc:
        raise AuthError(429, str(exc), retry_after=5.0) from exc
    except Exception as exc:
        raise ApiError(503, f"live overview unavailable: cannot read Kafka ({exc})") from exc
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    try:
        await resp.prepare(request)
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            while True:  # a closed client shows up as a failed write within a second
                await resp.write(b"data: " + orjson.dumps(sub.snapshot()) + b"\n\n")
                await asyncio.sleep(1.0)
        return resp
    finally:
        hub.unsubscribe(sub)


ROUTES = [
    web.get("/api/v1/stream", stream),
    web.get("/api/v1/live/overview", live_overview),
]
