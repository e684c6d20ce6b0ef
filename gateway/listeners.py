"""Socket listeners of the gateway: syslog over TCP/TLS/UDP and GELF over TCP/UDP.

Each listener (``protocols.listeners`` in the settings) is bound to one API key, verified through
the same key cache as HTTP on every batch — a revoked key stops its ingest within one refresh —
and hands its events to gateway/door.py in batches, so the rate limit, validation and the Kafka
acknowledgement are the ones ``/ingest`` has.

Where the data can wait, it waits: a TCP connection stops being read while its listener's batch
cannot be delivered (Kafka down, rate limit), so the sender's own queue holds the data (rsyslog
and syslog-ng retry and buffer). UDP has no way to wait: datagrams arriving while the queue is
full, from a network outside ``allow``, or that do not parse are dropped and counted
(``logharbor_gateway_protocol_dropped_total{protocol, reason}``). ``allow`` applies to every
transport (TLS here authenticates the server, not the client).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gateway import gelf, syslog_parse
from gateway.door import Refusal, authenticate, protocol_metrics, submit
from gateway.protocol_settings import ListenerSettings
from gateway.validate import format_timestamp
from logharbor.ids import new_ulid
from logharbor.tasks import stop_task

if TYPE_CHECKING:
    from gateway.state import GatewayState

log = logging.getLogger(__name__)


class Batcher:
    """Collects events of one listener and delivers them through the door, retrying refusals."""

    def __init__(self, state: GatewayState, conf: ListenerSettings, protocol: str) -> None:
        self.state = state
        self.conf = conf
        self.protocol = protocol
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=conf.batch_events * 20)
        self.task: asyncio.Task[None] | None = None
        self.delivered = 0

    @property
    def pm(self) -> Any:
        return protocol_metrics(self.state)

    async def put(self, event: dict[str, Any]) -> None:
        await self.queue.put(event)  # TCP: waits (and so stops reading) while the queue is full

    def offer(self, event: dict[str, Any]) -> bool:
        """UDP: False (and counted) when the queue is full."""
        try:
            self.queue.put_nowait(event)
            return True
        except asyncio.QueueFull:
            self.pm.dropped(self.protocol, "queue_full")
            return False

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"listener-{self.conf.label}")

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.conf.batch_s
            while len(batch) < self.conf.batch_events:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), timeout))
                except TimeoutError:
                    break
            try:
                await self.deliver(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def deliver(self, batch: list[dict[str, Any]]) -> None:
        """Until delivered: a refusal that retrying can cure (429/503) waits Retry-After and tries again;
        a refused key drops the batch (counted) — nobody could be told. Ids are minted once, here, so
        a retry after Kafka took part of the batch is a duplicate the pipeline drops, not a second event."""
        for event in batch:
            event.setdefault("id", new_ulid())
        while True:
            record = await authenticate(self.state, self.conf.key, protocol=self.protocol, client_ip=None,
                                        path=f"listener:{self.conf.label}")
            if isinstance(record, Refusal):
                if record.status == 503:
                    await asyncio.sleep(float(record.retry_after or 1))
                    continue
                self.pm.dropped(self.protocol, record.reason, len(batch))
                log.warning("listener %s: %s; dropped %d events", self.conf.label, record.message, len(batch))
                return
            result = await submit(self.state, record, batch, protocol=self.protocol)
            if isinstance(result, Refusal):
                await asyncio.sleep(float(result.retry_after or 1))
                continue
            self.delivered += len(result.accepted)
            return

    async def stop(self) -> None:
        await stop_task(self.task)


def _allowed(networks: tuple[Any, ...], peer: Any) -> bool:
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(peer[0] if isinstance(peer, tuple) else peer)
    except (ValueError, TypeError):
        return False
    return any(ip in net for net in networks)


class Listener:
    """One configured listener: its server socket, its batcher and how it parses frames."""

    def __init__(self, state: GatewayState, conf: ListenerSettings) -> None:
        self.state = state
        self.conf = conf
        self.protocol = f"{conf.kind}_{conf.transport}"
        self.batcher = Batcher(state, conf, self.protocol)
        self.networks = tuple(ipaddress.ip_network(c, strict=False) for c in conf.allow)
        self.tz = ZoneInfo(conf.timezone)
        self.server: asyncio.AbstractServer | None = None
        self.transport: asyncio.DatagramTransport | None = None
        self.assembler = gelf.ChunkAssembler(
            max_chunks=state.settings.protocols.gelf_max_chunks,
            timeout_s=state.settings.protocols.gelf_chunk_timeout_s,
            max_bytes=state.settings.protocols.gelf_chunk_memory_bytes,
        )
        self.connections = 0
        self.port = conf.port

    @property
    def pm(self) -> Any:
        return protocol_metrics(self.state)

    def parse(self, frame: bytes) -> dict[str, Any] | None:
        """A frame → an event, or None (counted as rejected with its reason)."""
        received_at = format_timestamp(datetime.now(UTC))
        try:
            if self.conf.kind == "syslog":
                return syslog_parse.parse(frame.decode("utf-8", "replace"), tz=self.tz)
            data = gelf.inflate(frame, self.state.settings.max_entry_bytes)
            return gelf.parse_message(data, received_at=received_at)
        except gelf.GelfError as exc:
            reason = exc.reason
        except (syslog_parse.SyslogError, ValueError):
            reason = "unparsable"
        self.pm.received(self.protocol)  # parsed events are counted by the door when submitted
        self.pm.rejected(self.protocol, reason)
        return None

    async def start(self) -> None:
        c = self.conf
        if c.transport == "udp":
            loop = asyncio.get_running_loop()
            self.transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(c.host, c.port)
            )
            self.port = self.transport.get_extra_info("sockname")[1]
        else:
            tls = None
            if c.transport == "tls":
                if not c.tls_cert or not c.tls_key:
                    raise ValueError(f"listener {c.label}: transport tls needs tls_cert and tls_key")
                tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                tls.load_cert_chain(c.tls_cert, c.tls_key)
            self.server = await asyncio.start_server(self._connection, c.host, c.port, ssl=tls, limit=c.max_frame_bytes)
            self.port = self.server.sockets[0].getsockname()[1]
        self.batcher.start()
        log.info("listener %s on %s:%d (tenant/source of key)", c.label, c.host, self.port)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not _allowed(self.networks, peer) or self.connections >= self.conf.max_connections:
            self.pm.dropped(self.protocol, "not_allowed" if not _allowed(self.networks, peer) else "connections")
            writer.close()
            return
        self.connections += 1
        split: Callable[[bytes], list[bytes]]
        framer = syslog_parse.Framer(self.conf.max_frame_bytes)
        nul = _NulFramer(self.conf.max_frame_bytes)
        split = framer.feed if self.conf.kind == "syslog" else nul.feed
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    frames = framer.finish() if self.conf.kind == "syslog" else nul.finish()
                else:
                    frames = split(data)
                for frame in frames:
                    event = self.parse(frame)
                    if event is not None:
                        await self.batcher.put(event)
                if not data:
                    break
        except (syslog_parse.FrameError, _FrameTooLarge) as exc:
            self.pm.dropped(self.protocol, "bad_frame")
            log.warning("listener %s: closing %s: %s", self.conf.label, peer, exc)
        except (ConnectionError, ssl.SSLError, OSError):
            # a TLS peer that hangs up without close_notify fails the stream, and asyncio then
            # raises before handing out what it had already buffered: take those frames still
            with contextlib.suppress(Exception):
                rest = bytes(getattr(reader, "_buffer", b""))
                tail = framer if self.conf.kind == "syslog" else nul
                for frame in [*tail.feed(rest), *tail.finish()] if rest else tail.finish():
                    event = self.parse(frame)
                    if event is not None:
                        await self.batcher.put(event)
        finally:
            oversize = framer.oversize + nul.oversize
            if oversize:
                self.pm.dropped(self.protocol, "frame_too_large", oversize)
            self.connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def datagram(self, data: bytes, addr: Any) -> None:
        if not _allowed(self.networks, addr):
            self.pm.dropped(self.protocol, "not_allowed")
            return
        if len(data) > self.conf.max_frame_bytes and self.conf.kind == "syslog":
            self.pm.dropped(self.protocol, "frame_too_large")
            return
        if self.conf.kind == "gelf":
            before = dict(self.assembler.dropped)
            whole = self.assembler.feed(addr, data)
            for reason, n in self.assembler.dropped.items():
                if n > before.get(reason, 0):
                    self.pm.dropped(self.protocol, reason, n - before.get(reason, 0))
            if whole is None:
                return
            data = whole
        event = self.parse(data)
        if event is not None:
            self.batcher.offer(event)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
        if self.transport is not None:
            self.transport.close()
        # deliver what was received before the stop, bounded by the shutdown timeout
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.batcher.queue.join(), self.state.settings.shutdown_timeout_s)
        await self.batcher.stop()


class _FrameTooLarge(ValueError):
    pass


class _NulFramer:
    """GELF TCP: each message ends with a NUL byte."""

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self.buf = bytearray()
        self.oversize = 0

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out = []
        while (k := self.buf.find(b"\x00")) >= 0:
            frame = bytes(self.buf[:k])
            del self.buf[: k + 1]
            if frame.strip():
                out.append(frame)
        if len(self.buf) > self.max_frame:
            raise _FrameTooLarge(f"frame: more than {self.max_frame} bytes without a NUL terminator")
        return out

    def finish(self) -> list[bytes]:
        frame, self.buf = bytes(self.buf), bytearray()
        return [frame] if frame.strip() else []


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.listener.datagram(data, addr)


async def start_listeners(state: GatewayState) -> list[Listener]:
    out = []
    for conf in state.settings.protocols.listeners:
        listener = Listener(state, conf)
        await listener.start()
        out.append(listener)
    return out
