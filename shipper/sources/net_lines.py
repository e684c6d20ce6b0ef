"""Raw line listeners: newline-delimited text over TCP, or UDP datagrams of one or more lines.

TCP pushes back: when the batcher is full the connection is simply not read, so the sender's
kernel buffers fill and it slows down. UDP cannot push back, so its events are ``lossy``: they are
dropped (and counted) when buffers or the spool are full.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

from pydantic import Field

from shipper.event import Event, now_rfc3339
from shipper.metrics import Metrics
from shipper.model_base import SourceConfigBase
from shipper.sources.base import EventSink, SourceBase
from shipper.sources.lines import EventMaker, decode_line, split_listen


class TcpSourceConfig(SourceConfigBase):
    """Newline-delimited lines over TCP (one event per line)."""

    type: Literal["tcp"]
    listen: str
    max_line_bytes: int = Field(default=1 << 20, ge=1024)


class UdpSourceConfig(SourceConfigBase):
    """Lines over UDP: each datagram holds one or more newline-separated lines."""

    type: Literal["udp"]
    listen: str

log = logging.getLogger("logharbor.shipper.net")


class ListenerSource(SourceBase):
    """What the network listeners (TCP/UDP lines, syslog) share: an event maker, counters and
    a stop event; ``lossy`` subclasses hand events over with ``_offer`` (drops counted)."""

    def __init__(self, name: str, host: str, fmt: str, metrics: Metrics) -> None:
        super().__init__(name)
        self._maker = EventMaker(self.name, host, fmt, lossy=self.lossy)
        self._metrics = metrics
        self._stop_event = asyncio.Event()
        self._sink: EventSink | None = None
        self.received = 0
        self.dropped = 0

    def stop(self) -> None:
        super().stop()
        self._stop_event.set()

    def _offer(self, events: list[Event]) -> None:
        """Hand events that cannot wait to the sink; what it refuses is counted as dropped."""
        assert self._sink is not None
        self.received += len(events)
        self._metrics.inc("events_read_total", len(events))
        self.dropped += self._sink.offer(events)


class TcpLineSource(ListenerSource):
    def __init__(self, cfg: TcpSourceConfig, host: str, metrics: Metrics) -> None:
        super().__init__(cfg.name or "tcp", host, cfg.format, metrics)
        self.cfg = cfg
        self.connections = 0
        self.bound: tuple[str, int] | None = None

    async def run(self, sink: EventSink) -> None:
        host, port = split_listen(self.cfg.listen)
        server = await asyncio.start_server(lambda r, w: self._conn(r, w, sink), host, port)
        self.bound = server.sockets[0].getsockname()[:2]
        log.info("tcp line listener", extra={"source": self.name, "listen": f"{self.bound[0]}:{self.bound[1]}"})
        async with server:
            await self._stop_event.wait()
            server.close()

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sink: EventSink) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.connections += 1
        buf = b""
        limit = self.cfg.max_line_bytes
        try:
            while not self._stopping:
                data = await reader.read(65536)
                if not data:
                    break
                buf += data
                parts = buf.split(b"\n")
                buf = parts.pop()
                if len(buf) > limit:
                    parts.append(buf)
                    buf = b""
                if parts:
                    await self._emit(parts, peer, sink)
            if buf:
                await self._emit([buf], peer, sink)
        except ConnectionError:
            pass
        finally:
            self.connections -= 1
            writer.close()

    async def _emit(self, parts: list[bytes], peer: Any, sink: EventSink) -> None:
        now = now_rfc3339()
        events: list[Event] = []
        for part in parts:
            text = decode_line(part)
            if text.strip():
                events.append(self._maker.make(text, {"client.ip": peer[0]}, read_time=now))
        if events:
            self.received += len(events)
            self._metrics.inc("events_read_total", len(events))
            await sink.put(events)

    def status(self) -> dict[str, Any]:
        return {"type": "tcp", "listen": self.cfg.listen, "received": self.received,
                "connections": self.connections, "last_error": self.last_error}


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Any) -> None:
        self.on_datagram = on_datagram

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.on_datagram(data, addr)


class UdpLineSource(ListenerSource):
    lossy = True

    def __init__(self, cfg: UdpSourceConfig, host: str, metrics: Metrics) -> None:
        super().__init__(cfg.name or "udp", host, cfg.format, metrics)
        self.cfg = cfg
        self.bound: tuple[str, int] | None = None

    async def run(self, sink: EventSink) -> None:
        self._sink = sink
        host, port = split_listen(self.cfg.listen)
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Udp(self._datagram), local_addr=(host, port))
        self.bound = transport.get_extra_info("sockname")[:2]
        log.info("udp line listener", extra={"source": self.name, "listen": f"{self.bound[0]}:{self.bound[1]}"})
        try:
            await self._stop_event.wait()
        finally:
            transport.close()

    def _datagram(self, data: bytes, addr: Any) -> None:
        now = now_rfc3339()
        events = [self._maker.make(decode_line(p), {"client.ip": addr[0]}, read_time=now)
                  for p in data.split(b"\n") if p.strip()]
        if events:
            self._offer(events)

    def status(self) -> dict[str, Any]:
        return {"type": "udp", "listen": self.cfg.listen, "received": self.received, "dropped": self.dropped,
                "last_error": self.last_error}
