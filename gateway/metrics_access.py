"""Who may read the gateway's ``/metrics`` (issue 16 item 11).

The gateway's port faces every shipper, so ``/metrics`` on it was readable by anyone who could
send logs: per-route request counts, auth failures and Kafka state of all tenants. It now
answers only TCP peers inside ``gateway.metrics_allow`` (default loopback: a Prometheus agent on
the same host, or a sidecar); others get 403. The peer address is the socket's, never
``X-Forwarded-For``, so a header cannot open it. A reverse proxy on the same host makes every
client look local: do not route ``/metrics`` through one (docs/SECURITY.md).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

LOOPBACK = ("127.0.0.0/8", "::1/128")


@lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def peer_allowed(peer: str | None, cidrs: list[str] | tuple[str, ...]) -> bool:
    """True when ``peer`` (the TCP peer address) lies in one of ``cidrs``; ``*`` allows everyone."""
    if "*" in cidrs:
        return True
    if not peer:
        return False
    try:
        addr = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr in net for net in _networks(tuple(cidrs)))


def check_metrics_peer(request: web.Request, cidrs: list[str]) -> None:
    """403 unless the TCP peer may read metrics."""
    if not peer_allowed(request.remote, cidrs):
        raise web.HTTPForbidden(
            text=f"/metrics answers only clients in gateway.metrics_allow ({', '.join(cidrs)}); "
                 f"{request.remote} is not one of them\n")
