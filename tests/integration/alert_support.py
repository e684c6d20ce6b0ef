"""Real local receivers for the alerting tests: an aiohttp server recording Slack, PagerDuty and
webhook requests (optionally answering 429 + Retry-After first), and an aiosmtpd SMTP server with
STARTTLS (a self-signed certificate made by openssl for 127.0.0.1)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

try:
    from aiosmtpd.controller import Controller
except ImportError as exc:  # pragma: no cover - a missing dev dependency fails loudly
    raise RuntimeError("aiosmtpd is needed by the alerting tests: pip install -e '.[dev]'") from exc


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receivers:
    """One HTTP server; every path records. ``throttle[path] = n`` answers n× 429 first."""

    requests: list[Received] = field(default_factory=list)
    throttle: dict[str, int] = field(default_factory=dict)
    retry_after: str = "1"
    runner: web.AppRunner | None = None
    port: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> Receivers:
        async def handle(request: web.Request) -> web.Response:
            body = await request.read()
            left = self.throttle.get(request.path, 0)
            if left:
                self.throttle[request.path] = left - 1
                self.requests.append(Received(request.path + "#429", dict(request.headers), body, time.time()))
                return web.Response(status=429, headers={"Retry-After": self.retry_after}, text="slow down")
            self.requests.append(Received(request.path, dict(request.headers), body, time.time()))
            self.event.set()
            if request.path.startswith("/pd"):
                return web.json_response({"status": "success", "message": "Event processed",
                                          "dedup_key": orjson.loads(body).get("dedup_key")}, status=202)
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/{tail:.*}", handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def wait(self, path: str, n: int, within_s: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + within_s
        while len(self.at(path)) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{path}: {len(self.at(path))} requests, wanted {n}: "
                                     f"{[r.path for r in self.requests]}")
            await asyncio.sleep(0.05)
        return self.at(path)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class _Handler:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes, bool]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        transport = getattr(server, "transport", None)
        tls = session.ssl is not None or (transport is not None and transport.get_extra_info("ssl_object") is not None)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content, tls))
        return "250 OK"


def self_signed(tmp: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        raise RuntimeError("openssl is needed to make the SMTP test certificate: apt-get install openssl")
    cert, key = tmp / "smtp.crt", tmp / "smtp.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class SmtpServer:
    """aiosmtpd requiring STARTTLS (or speaking implicit TLS), on a free port."""

    def __init__(self, tmp: Path, implicit_tls: bool = False) -> None:
        self.cert, key = self_signed(tmp)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, key)
        self.handler = _Handler()
        if implicit_tls:
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=0, ssl_context=ctx)
        else:
            self.controller = Controller(self.handler, hostname="127.0.0.1", port=0, tls_context=ctx,
                                         require_starttls=True)

    def start(self) -> SmtpServer:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.controller.port = s.getsockname()[1]
        self.controller.start()
        return self

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def stop(self) -> None:
        self.controller.stop()


async def cleanup_alerting(client: Any, tenant: str) -> None:
    """Delete what a test's tenant left in the alerting system indices (the cluster is shared)."""
    from opensearch.alerts_store import DELIVERIES, OUTBOX, RULES, SILENCES, STATE

    for index in (OUTBOX, DELIVERIES, STATE, RULES, SILENCES):
        with contextlib.suppress(Exception):
            await client.delete_by_query(index=index, body={"query": {"term": {"tenant": tenant}}}, refresh=True)
