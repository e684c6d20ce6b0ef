"""The shipper's small HTTP client against raw sockets, and commit ordering across batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shipper.event import Event
from shipper.http import HttpConnection, HttpError, serve_get
from shipper.sender import CommitSequencer, parse_retry_after


async def raw_server(answers: list[bytes], close_after_each: bool = False) -> tuple[asyncio.Server, list[bytes]]:
    """Answers requests in order with the given raw bytes; records request heads."""
    seen: list[bytes] = []

    async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                await reader.readexactly(length)
                seen.append(head)
                writer.write(answers.pop(0))
                await writer.drain()
                if close_after_each:
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
    return server, seen


def url(server: asyncio.Server) -> str:
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_content_length_chunked_and_keep_alive() -> None:
    server, seen = await raw_server([
        b'HTTP/1.1 202 Accepted\r\nContent-Length: 14\r\nRetry-After: 3\r\n\r\n{"accepted":1}',
        b"HTTP/1.1 429 Too Many\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nslow\r\n5\r\n down\r\n0\r\n\r\n",
    ])
    conn = HttpConnection(url(server), 2)
    r1 = await conn.request("POST", "/ingest", b"abc", {"X-Test": "1"})
    assert r1.status == 202 and r1.body == b'{"accepted":1}' and r1.headers["retry-after"] == "3"
    r2 = await conn.request("POST", "/ingest", b"")
    assert r2.status == 429 and r2.body == b"slow down"
    assert len(seen) == 2 and b"X-Test: 1" in seen[0] and seen[0].startswith(b"POST /ingest HTTP/1.1")
    conn.close()
    server.close()


async def test_server_closing_an_idle_connection_is_retried_once_on_a_fresh_one() -> None:
    server, _ = await raw_server([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"] * 2, close_after_each=True)
    conn = HttpConnection(url(server), 2)
    assert (await conn.request("GET", "/health")).body == b"ok"
    await asyncio.sleep(0.05)  # the server has closed its end by now
    assert (await conn.request("GET", "/health")).body == b"ok"
    conn.close()
    server.close()


async def test_refused_and_timeout_raise_http_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # accepts, never answers
    port = server.sockets[0].getsockname()[1]
    with pytest.raises(HttpError, match="timed out"):
        await HttpConnection(f"http://127.0.0.1:{port}", 0.2).request("GET", "/x")
    server.close()
    await server.wait_closed()
    with pytest.raises(HttpError):
        await HttpConnection(f"http://127.0.0.1:{port}", 1).request("GET", "/x")


async def test_metrics_server_answers_get() -> None:
    async def handler(path: str) -> tuple[int, str, bytes]:
        return (200, "text/plain", b"m 1\n") if path == "/metrics" else (404, "text/plain", b"no\n")

    server = await serve_get("127.0.0.1", 0, handler)
    conn = HttpConnection(url(server), 2)
    assert (await conn.request("GET", "/metrics")).body == b"m 1\n"
    assert (await conn.request("GET", "/other")).status == 404
    conn.close()
    server.close()


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait


class Recorder:
    def __init__(self) -> None:
        self.commits: list[Any] = []

    def commit(self, token: Any) -> None:
        self.commits.append(token)


def test_commits_apply_in_batch_order_and_stop_at_an_undelivered_batch() -> None:
    src = Recorder()
    seq = CommitSequencer()

    def events(*ends: int) -> list[Event]:
        return [Event(b"{}", src, ("f", 0, e)) for e in ends]

    seq.complete(2, events(30, 40), True)  # finished first (in_flight > 1) but must wait
    assert src.commits == []
    seq.complete(1, events(10, 20), True)
    assert src.commits == [("f", 0, 20), ("f", 0, 40)]  # only the last position per file
    seq.complete(3, events(50), False)  # not durable (shutdown with a full spool)
    seq.complete(4, events(60), True)
    assert src.commits[-1] == ("f", 0, 40), "nothing after an undelivered batch may be committed"
