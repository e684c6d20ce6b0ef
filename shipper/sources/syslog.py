"""Syslog receiver: UDP and TCP, RFC 3164 and RFC 5424, octet-counted and newline framing.

TCP framing is detected per message (RFC 6587): a frame starting with a digit is octet-counted
(``LEN SP MSG``), anything else runs to the next LF (or NUL). Syslog senders rarely retry, so
these events are ``lossy``: when the buffer or spool is full they are dropped and counted rather
than blocking file tails. The raw message goes to the gateway whole with format ``syslog``;
header fields ride along in ``fields`` for routing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from pydantic import Field

from shipper.event import Event, now_rfc3339
from shipper.metrics import Metrics
from shipper.model_base import SourceConfigBase
from shipper.sources.base import EventSink
from shipper.sources.lines import split_listen
from shipper.sources.net_lines import ListenerSource, _Udp
from shipper.sources.syslog_parse import parse_syslog


class SyslogSourceConfig(SourceConfigBase):
    """Syslog receiver: RFC 3164 and 5424, UDP datagrams and TCP (octet-counted or newline framing)."""

    type: Literal["syslog"]
    udp: str | None = "127.0.0.1:5514"
    tcp: str | None = "127.0.0.1:5514"
    format: str = "syslog"
    max_message_bytes: int = Field(default=65_536, ge=480)

log = logging.getLogger("logharbor.shipper.syslog")


def split_frames(buf: bytes, max_len: int) -> tuple[list[bytes], bytes]:
    """Complete frames in ``buf`` and the unconsumed rest (RFC 6587 octet counting or LF/NUL)."""
    frames: list[bytes] = []
    pos = 0
    n = len(buf)
    while pos < n:
        c = buf[pos]
        if c in (10, 13, 0, 32):  # stray separators between frames
            pos += 1
            continue
        if 48 <= c <= 57:  # digit: octet-counted "LEN SP MSG"
            sp = buf.find(b" ", pos, pos + 8)
            if sp < 0:
                if n - pos >= 8:  # not a length after all: treat as a line
                    nl = buf.find(b"\n", pos)
                    if nl < 0:
                        break
                    frames.append(buf[pos:nl])
                    pos = nl + 1
                    continue
                break
            digits = buf[pos:sp]
            if not digits.isdigit():
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    break
                frames.append(buf[pos:nl])
                pos = nl + 1
                continue
            length = int(digits)
            if sp + 1 + length > n:
                if length > max_len:  # absurd length: resynchronise on the next newline
                    nl = buf.find(b"\n", pos)
                    if nl < 0:
                        break
                    pos = nl + 1
                    continue
                break
            frames.append(buf[sp + 1: sp + 1 + length])
            pos = sp + 1 + length
            continue
        end = len(buf)
        for sep in (b"\n", b"\x00"):
            i = buf.find(sep, pos)
            if 0 <= i < end:
                end = i
        if end == len(buf):
            if n - pos > max_len:
                frames.append(buf[pos:pos + max_len])
                pos += max_len
                continue
            break
        frames.append(buf[pos:end])
        pos = end + 1
    return frames, buf[pos:]


class SyslogSource(ListenerSource):
    lossy = True

    def __init__(self, cfg: SyslogSourceConfig, host: str, metrics: Metrics) -> None:
        super().__init__(cfg.name or "syslog", host, cfg.format, metrics)
        self.cfg = cfg
        self.udp_bound: tuple[str, int] | None = None
        self.tcp_bound: tuple[str, int] | None = None

    async def run(self, sink: EventSink) -> None:
        self._sink = sink
        loop = asyncio.get_running_loop()
        transport = server = None
        if self.cfg.udp:
            h, p = split_listen(self.cfg.udp)
            transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self._datagram), local_addr=(h, p))
            self.udp_bound = transport.get_extra_info("sockname")[:2]
        if self.cfg.tcp:
            h, p = split_listen(self.cfg.tcp)
            server = await asyncio.start_server(self._conn, h, p)
            self.tcp_bound = server.sockets[0].getsockname()[:2]
        log.info("syslog receiver", extra={"source": self.name, "udp": self.udp_bound, "tcp": self.tcp_bound})
        try:
            await self._stop_event.wait()
        finally:
            if transport is not None:
                transport.close()
            if server is not None:
                server.close()

    def _event(self, frame: bytes, peer: str, now: str) -> Event | None:
        text = frame.decode("utf-8", "replace").rstrip("\r\n\x00")
        if text.startswith("\ufeff"):
            text = text[1:]
        if not text.strip():
            return None
        fields = parse_syslog(text)
        fields["client.ip"] = peer
        return self._maker.make(text, fields, read_time=now)

    def _datagram(self, data: bytes, addr: Any) -> None:
        event = self._event(data[: self.cfg.max_message_bytes], addr[0], now_rfc3339())
        if event is not None:
            self._offer([event])

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._sink is not None
        peer = (writer.get_extra_info("peername") or ("?",))[0]
        buf = b""
        try:
            while not self._stopping:
                data = await reader.read(65536)
                if not data:
                    break
                buf += data
                frames, buf = split_frames(buf, self.cfg.max_message_bytes)
                await self._put(frames, peer)
            if buf.strip():
                await self._put([buf], peer)
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _put(self, frames: list[bytes], peer: str) -> None:
        assert self._sink is not None
        now = now_rfc3339()
        events = [e for f in frames if (e := self._event(f, peer, now)) is not None]
        if events:
            self.received += len(events)
            self._metrics.inc("events_read_total", len(events))
            await self._sink.put(events)  # TCP can wait: the sender's window fills instead

    def status(self) -> dict[str, Any]:
        return {"type": "syslog", "udp": self.cfg.udp, "tcp": self.cfg.tcp, "received": self.received,
                "dropped": self.dropped, "last_error": self.last_error}
