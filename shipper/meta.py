"""Host metadata the shipper attaches to every event: ``meta:`` per shipper and per source, plus the host ip.

Why in the shipper: only the host knows its addresses, datacenter, environment and the version
of the app it runs; the gateway passes an event's ``meta`` object on in the envelope and the
pipeline's ``metadata`` step maps the names to ECS (``host_ip`` → ``host.ip``, ``datacenter`` →
``host.datacenter``, ``region`` → ``cloud.region``, ``environment`` → ``labels.environment`` /
``service.environment``, ``app_version`` → ``service.version``; docs/SHIPPER.md). A value the
event itself states is never overwritten there.

Events are encoded once, when read (shipper.event), so the meta object is spliced into each
event's NDJSON bytes as it enters the batcher: every source type gets it with no change to the
sources, and a re-sent batch stays byte-identical. The host ip is detected from the local
interfaces (no packet is sent): the non-loopback, non-link-local addresses of interfaces that
are up, IPv4 first.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import orjson

from shipper.event import Event
from shipper.sources.base import EventSink


def detect_host_ips(limit: int = 8) -> list[str]:
    """This host's routable-looking addresses (IPv4 first), from the interfaces; [] if none."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    try:
        import psutil

        stats = psutil.net_if_stats()
        for name, addrs in psutil.net_if_addrs().items():
            if name in stats and not stats[name].isup:
                continue
            for addr in addrs:
                if addr.family in (socket.AF_INET, socket.AF_INET6):
                    try:
                        found.append(ipaddress.ip_address(addr.address.split("%", 1)[0]))
                    except ValueError:
                        continue
    except (ImportError, OSError):
        try:
            infos = socket.getaddrinfo(socket.gethostname(), None)
        except OSError:
            infos = []
        for info in infos:
            try:
                found.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
            except ValueError:
                continue
    usable = [a for a in dict.fromkeys(found)
              if not (a.is_loopback or a.is_link_local or a.is_unspecified or a.is_multicast)]
    usable.sort(key=lambda a: a.version)
    return [str(a) for a in usable[:limit]]


def merged_meta(shipper_meta: dict[str, Any], source_meta: dict[str, Any],
                host_ips: list[str] | None) -> dict[str, Any]:
    """Shipper-wide meta, then the source's (it wins), then ``host_ip`` unless either set it."""
    meta = {**shipper_meta, **source_meta}
    if host_ips and "host_ip" not in meta:
        meta["host_ip"] = host_ips if len(host_ips) > 1 else host_ips[0]
    return meta


def splice(data: bytes, meta_json: bytes) -> bytes:
    """``{...}`` → ``{...,"meta":{...}}`` for one encoded event (it never carries meta already)."""
    return data[:-1] + b',"meta":' + meta_json + b"}"


class MetaSink:
    """An :class:`EventSink` in front of the batcher that adds one source's meta to each event."""

    def __init__(self, inner: EventSink, meta: dict[str, Any]) -> None:
        self.inner = inner
        self.meta_json = orjson.dumps(meta, option=orjson.OPT_SORT_KEYS)

    def _add(self, events: list[Event]) -> list[Event]:
        mj = self.meta_json
        for event in events:
            event.data = splice(event.data, mj)
        return events

    async def put(self, events: list[Event]) -> None:
        await self.inner.put(self._add(events))

    def offer(self, events: list[Event]) -> int:
        return self.inner.offer(self._add(events))


def sink_for(inner: EventSink, meta: dict[str, Any]) -> EventSink:
    """The batcher itself when there is no meta (no cost), else a :class:`MetaSink`."""
    return MetaSink(inner, meta) if meta else inner
