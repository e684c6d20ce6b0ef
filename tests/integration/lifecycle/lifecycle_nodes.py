"""Free ports for the lifecycle tests' own OpenSearch nodes (the runner binds HTTP only up to 9299)."""

from __future__ import annotations

import socket

from ops.devstack.opensearch_node import RUNNER_MAX_HTTP_PORT
from ops.devstack.process import port_in_use


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_http_port(nodes: int = 1) -> int:
    """A run of ``nodes`` free ports the runner accepts (it binds HTTP only up to 9299)."""
    for base in range(9201, RUNNER_MAX_HTTP_PORT - nodes + 2, 7):
        if all(not port_in_use(base + i) for i in range(nodes)):
            ok = True
            for i in range(nodes):
                with socket.socket() as s:
                    try:
                        s.bind(("127.0.0.1", base + i))
                    except OSError:
                        ok = False
            if ok:
                return base
    raise RuntimeError("no free HTTP port in 9201..9299 for a private OpenSearch")
