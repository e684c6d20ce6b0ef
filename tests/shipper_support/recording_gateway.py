"""A real HTTP server speaking the gateway's ingest contract, for shipper tests and benchmarks.

It listens on a loopback port, checks the headers the contract requires, gunzips the NDJSON
body and records every event. Tests steer it: answer 503/429 with Retry-After, refuse with a
4xx, answer 413 above a batch size, or go ``down()`` (the port stops accepting connections) and
``up()`` again on the same port. It runs its own event loop in a thread so both the shipper
under test (in-process or a subprocess) and plain synchronous test code can use it.

Run standalone: ``python -m tests.shipper_support.recording_gateway --port 8088``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Request:
    at: float
    status: int
    events: int
    idempotency_key: str | None
    url_path: str


@dataclass
class Behaviour:
    status: int = 202  # answer for every request (202 = accept)
    retry_after: float | None = None
    remaining: int | None = None  # answer `status` this many times, then accept
    max_events: int | None = None  # answer 413 for batches larger than this
    reject_raw_containing: str | None = None  # per-entry rejection in a 202


@dataclass
class RecordingGateway:
    api_key: str = "test-key"
    port: int = 0
    host: str = "127.0.0.1"
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)
    received_at: list[float] = field(default_factory=list)  # perf_counter per event, for latency
    keep_events: bool = True  # False in benchmarks: count only
    ssl_context: Any = None  # serve https with this ssl.SSLContext

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="recording-gateway")
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._lock = threading.Lock()
        self.count = 0
        self.latencies: list[float] = []
        self.on_event: Callable[[dict[str, Any], float], None] | None = None

    # ------------------------------------------------------------------ control (any thread)

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    def start(self) -> RecordingGateway:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop_all(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def down(self) -> None:
        """Stop accepting connections (the shipper sees connection refused)."""
        asyncio.run_coroutine_threadsafe(self._down(), self._loop).result(10)

    def up(self) -> None:
        """Listen again on the same port."""
        asyncio.run_coroutine_threadsafe(self._up(), self._loop).result(10)

    def answer(self, status: int = 202, retry_after: float | None = None, remaining: int | None = None,
               max_events: int | None = None, reject_raw_containing: str | None = None) -> None:
        with self._lock:
            self.behaviour = Behaviour(status, retry_after, remaining, max_events, reject_raw_containing)

    def raws(self) -> list[str]:
        with self._lock:
            return [e["raw"] for e in self.events]

    def ids(self) -> list[str]:
        with self._lock:
            return [e["id"] for e in self.events]

    def wait_for(self, predicate: Callable[[RecordingGateway], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)

    def wait_count(self, n: int, timeout: float = 10.0) -> bool:
        return self.wait_for(lambda g: g.count >= n, timeout)

    # ------------------------------------------------------------------ server (its own loop)

    async def _start(self) -> None:
        app = web.Application(client_max_size=200 << 20)
        app.router.add_post("/ingest", self._ingest)
        app.router.add_post("/api/v1/ingest", self._ingest)
        app.router.add_get("/health", self._health)
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/reset", self._reset)
        # auto_decompress off: the test must see that the body on the wire really is gzip
        self._runner = web.AppRunner(app, access_log=None, auto_decompress=False)
        await self._runner.setup()
        await self._up()

    async def _up(self) -> None:
        assert self._runner is not None
        if self._site is not None:
            return
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True,
                                 ssl_context=self.ssl_context)
        await self._site.start()
        if self.port == 0:
            server = self._site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _down(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def _stop_all(self) -> None:
        await self._down()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _stats(self, request: web.Request) -> web.Response:
        """Count and write→receive latency of lines carrying a wall-clock stamp (``bench <time> ...``)."""
        with self._lock:
            lat = sorted(self.latencies)
        def pct(p: float) -> float | None:
            return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None
        return web.json_response({"count": self.count, "latency_p50_s": pct(0.5), "latency_p99_s": pct(0.99),
                                  "latency_max_s": lat[-1] if lat else None, "latency_n": len(lat)})

    async def _reset(self, request: web.Request) -> web.Response:
        with self._lock:
            self.count = 0
            self.latencies.clear()
            self.events.clear()
        return web.json_response({"ok": True})

    def _record(self, status: int, n: int, request: web.Request) -> None:
        self.requests.append(Request(time.time(), status, n, request.headers.get("Idempotency-Key"),
                                     request.path))

    async def _ingest(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            self._record(401, 0, request)
            return web.json_response({"error": "unknown key"}, status=401)
        if request.headers.get("Content-Encoding") != "gzip" or \
                request.headers.get("Content-Type") != "application/x-ndjson":
            self._record(415, 0, request)
            return web.json_response({"error": "want gzip NDJSON"}, status=415)
        body = gzip.decompress(await request.read())
        lines = [ln for ln in body.split(b"\n") if ln]
        with self._lock:
            b = self.behaviour
            if b.status != 202:
                if b.remaining is None or b.remaining > 0:
                    if b.remaining is not None:
                        b.remaining -= 1
                    self._record(b.status, len(lines), request)
                    headers = {"Retry-After": f"{b.retry_after:g}"} if b.retry_after is not None else {}
                    return web.json_response({"error": f"test says {b.status}"}, status=b.status,
                                             headers=headers)
            if b.max_events is not None and len(lines) > b.max_events:
                self._record(413, len(lines), request)
                return web.json_response({"error": "too large"}, status=413)
            now = time.perf_counter()
            rejected = []
            for i, line in enumerate(lines):
                event = orjson.loads(line)
                if b.reject_raw_containing and b.reject_raw_containing in event.get("raw", ""):
                    rejected.append({"index": i, "errors": ["test rejects this"]})
                    continue
                if self.keep_events:
                    self.events.append(event)
                    self.received_at.append(now)
                if self.on_event is not None:
                    self.on_event(event, now)
                raw = event.get("raw", "")
                if raw.startswith("bench "):
                    try:
                        self.latencies.append(time.time() - float(raw.split(" ", 2)[1]))
                    except (ValueError, IndexError):
                        pass
                self.count += 1
            self._record(202, len(lines), request)
        return web.json_response({"accepted": len(lines) - len(rejected), "rejected": rejected}, status=202)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--api-key", default="test-key")
    args = parser.parse_args()
    gw = RecordingGateway(api_key=args.api_key, port=args.port, keep_events=False).start()
    print(f"recording gateway on {gw.url}", flush=True)
    try:
        while True:
            time.sleep(5)
            print(f"received {gw.count} events", flush=True)
    except KeyboardInterrupt:
        gw.stop()


if __name__ == "__main__":
    main()
