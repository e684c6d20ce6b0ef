"""A network namespace and veth pair of the chaos run's own, to cut a shipper off its gateways.

The shipper runs inside the namespace (``ip netns exec``); the gateways listen on the host end
of the veth pair, a /30 private address made for this run, so the partition is real TCP
behaviour (packets vanish, connections hang until the shipper's timeout) and nothing outside
the test's own sandbox is reached: the pair connects this namespace to the host and nothing
else, and no route or forwarding is added. iproute2 (``ip``) does the work — there is no
maintained Python binding worth a dependency for five commands — and it needs CAP_NET_ADMIN
(root); without it :meth:`NetNs.create` fails saying so.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import uuid


class NetNsError(RuntimeError):
    """The namespace could not be made (no ``ip``, no CAP_NET_ADMIN, address clash)."""


def _ip(*args: str, ns: str | None = None) -> str:
    cmd = ["ip", *(["netns", "exec", ns, "ip"] if ns else []), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise NetNsError(f"{' '.join(cmd)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _used_networks() -> list[ipaddress.IPv4Network]:
    out = _ip("-o", "-4", "addr", "show")
    nets = []
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            nets.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
    return nets


class NetNs:
    """``create()`` → namespace ``lhc-<id>`` with ``lo`` up and a veth pair to the host."""

    def __init__(self, run_id: str | None = None) -> None:
        rid = (run_id or uuid.uuid4().hex)[:8]
        self.name = f"lhc-{rid}"
        self.host_if, self.ns_if = f"lhc{rid}h", f"lhc{rid}n"  # ≤ 15 characters (IFNAMSIZ)
        self.host_ip = self.ns_ip = ""
        self.created = False

    def create(self) -> NetNs:
        if shutil.which("ip") is None:
            raise NetNsError("network-partition needs iproute2's `ip` (apt-get install iproute2)")
        used = _used_networks()
        net = next((n for n in ipaddress.ip_network("10.213.0.0/16").subnets(new_prefix=30)
                    if not any(n.overlaps(u) for u in used)), None)
        if net is None:
            raise NetNsError("no free /30 in 10.213.0.0/16 for the chaos veth pair")
        host, peer = list(net.hosts())
        self.host_ip, self.ns_ip = str(host), str(peer)
        try:
            _ip("netns", "add", self.name)
        except NetNsError as exc:
            raise NetNsError(f"{exc} — network-partition needs CAP_NET_ADMIN (run the chaos suite as root)") from exc
        self.created = True
        try:
            _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
            _ip("link", "set", self.ns_if, "netns", self.name)
            _ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if, ns=self.name)
            _ip("link", "set", self.ns_if, "up", ns=self.name)
            _ip("link", "set", "lo", "up", ns=self.name)
        except NetNsError:
            self.delete()
            raise
        return self

    def exec_prefix(self) -> list[str]:
        """Prepend to a command to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def reachable(self, port: int, timeout_s: float = 1.0) -> bool:
        """Can a process inside the namespace open a TCP connection to the host end's ``port``?"""
        import sys

        code = f"import socket; socket.create_connection(({self.host_ip!r}, {port}), {timeout_s}).close()"
        done = subprocess.run([*self.exec_prefix(), sys.executable, "-c", code], capture_output=True,
                              timeout=timeout_s + 30)
        return done.returncode == 0

    def cut(self) -> None:
        """The partition: the host end goes down, packets from the namespace vanish."""
        _ip("link", "set", self.host_if, "down")

    def heal(self) -> None:
        _ip("link", "set", self.host_if, "up")

    def delete(self) -> None:
        """Remove the namespace (its veth end, and so the pair, goes with it); idempotent."""
        if self.created:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)
            subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=30)
            self.created = False
