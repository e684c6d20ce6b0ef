"""A minimal HTTP/1.1 client and server on asyncio streams, for the shipper only.

Why not aiohttp: importing it costs ~23 MB of resident memory, half the shipper's budget on
every application host, and the shipper needs very little: POST a body to one URL over a
kept-alive connection and read status, a few headers and a small answer; and, optionally,
answer ``GET /metrics``. HTTPS works through the standard ``ssl`` module (loaded only for
``https://`` URLs). Anything unexpected closes the connection and surfaces as
:class:`HttpError`, which the sender treats like any other connection failure (retry, fail over).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

_MAX_HEADER_BYTES = 64 * 1024
_MAX_BODY_BYTES = 16 * 1024 * 1024


class HttpError(Exception):
    """The exchange failed below HTTP semantics (connect, timeout, malformed answer)."""


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


class HttpConnection:
    """One kept-alive connection to one origin; requests are serialised."""

    def __init__(self, base_url: str, timeout_s: float, ca_file: str | None = None, tls_verify: bool = True) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme in {base_url!r} (want http or https)")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = parts.scheme == "https"
        self.base_path = parts.path.rstrip("/")
        self.host_header = parts.netloc
        self.timeout_s = timeout_s
        self._ca_file = ca_file
        self._tls_verify = tls_verify
        self._ssl_ctx: Any = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    async def _connect(self) -> None:
        if self.tls and self._ssl_ctx is None:
            import ssl  # only hosts that use https pay for it

            try:
                ctx = ssl.create_default_context(cafile=self._ca_file)
            except OSError as exc:
                raise HttpError(f"gateway.ca_file {self._ca_file}: {exc}") from exc
            if not self._tls_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._ssl_ctx = ctx
        self._reader, self._writer = await asyncio.open_connection(
            self.host, self.port, ssl=self._ssl_ctx if self.tls else None, limit=_MAX_HEADER_BYTES)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                      timeout_s: float | None = None) -> HttpResponse:
        """Send one request; reconnects once if a kept-alive connection turned out to be closed."""
        async with self._lock:
            for attempt in (1, 2):
                reused = self._writer is not None
                try:
                    async with asyncio.timeout(timeout_s or self.timeout_s):
                        if self._writer is None:
                            await self._connect()
                        return await self._exchange(method, path, body, headers or {})
                except (OSError, asyncio.IncompleteReadError, HttpError, TimeoutError) as exc:
                    self.close()
                    # A server may close an idle kept-alive connection; retry that once on a fresh one.
                    if reused and attempt == 1 and not isinstance(exc, TimeoutError):
                        continue
                    if isinstance(exc, TimeoutError):
                        raise HttpError(f"timed out after {timeout_s or self.timeout_s:g}s") from exc
                    raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            raise HttpError("unreachable")  # pragma: no cover

    async def _exchange(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> HttpResponse:
        assert self._reader is not None and self._writer is not None
        lines = [f"{method} {self.base_path}{path} HTTP/1.1", f"Host: {self.host_header}",
                 f"Content-Length: {len(body)}", "Connection: keep-alive"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(status_line.split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise HttpError(f"malformed status line {status_line[:80]!r}") from exc
        resp_headers: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                name, _, value = line.partition(":")
                resp_headers[name.strip().lower()] = value.strip()
        if resp_headers.get("transfer-encoding", "").lower() == "chunked":
            data = await self._read_chunked()
        elif "content-length" in resp_headers:
            length = int(resp_headers["content-length"])
            if length > _MAX_BODY_BYTES:
                raise HttpError(f"answer too large ({length} bytes)")
            data = await self._reader.readexactly(length)
        else:
            data = await self._reader.read(_MAX_BODY_BYTES)
            self.close()
        if resp_headers.get("connection", "").lower() == "close":
            self.close()
        return HttpResponse(status, resp_headers, data)

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        out = bytearray()
        while True:
            size_line = await self._reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")  # trailer end (no trailers expected)
                return bytes(out)
            out += await self._reader.readexactly(size)
            await self._reader.readexactly(2)
            if len(out) > _MAX_BODY_BYTES:
                raise HttpError("chunked answer too large")


Handler = Callable[[str], Awaitable[tuple[int, str, bytes]]]


async def serve_get(host: str, port: int, handler: Handler) -> asyncio.Server:
    """A tiny GET-only server: ``handler(path) -> (status, content type, body)``. For /metrics."""

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                method, _, rest = request_line.partition(" ")
                path = rest.split(" ", 1)[0].split("?", 1)[0]
                if method != "GET":
                    status, ctype, body = 405, "text/plain", b"GET only\n"
                else:
                    status, ctype, body = await handler(path)
                reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "OK")
                writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    return await asyncio.start_server(on_conn, host, port)
