"""A private single-node OpenSearch for the lifecycle tests that need node settings.

Snapshots need ``path.repo`` (a static node setting) and the disk-protection test changes the
disk watermarks, which would block every index of the shared devstack; so these tests start
their own node — with the devstack code an operator uses, which also registers the ``fs``
repository — on free ports and a temporary data dir, once per session, and stop it at the end.
"""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from logharbor.config import OpenSearchSettings
from ops.devstack import stack
from ops.devstack.opensearch_node import RUNNER_MAX_HTTP_PORT, snapshot_dir
from ops.devstack.process import port_in_use
from ops.devstack.settings import DevstackSettings


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


@dataclass
class PrivateNode:
    url: str
    settings: DevstackSettings

    @property
    def repo_root(self) -> Path:
        return snapshot_dir(self.settings)

    def client(self):
        from opensearch.client import sync_client

        return sync_client(OpenSearchSettings(url=self.url, timeout_s=120))


@pytest.fixture(scope="session")
def private_node() -> Iterator[PrivateNode]:
    data = tempfile.mkdtemp(prefix="logharbor-lifecycle-node-")
    settings = DevstackSettings(data_dir=Path(data), opensearch_port=free_http_port(),
                                opensearch_transport_port=free_port(), opensearch_heap_mb=512,
                                cluster_name="logharbor-lifecycle-test")
    stack.up(settings, ["opensearch"], log=lambda m: None)
    try:
        yield PrivateNode(f"http://127.0.0.1:{settings.opensearch_port}", settings)
    finally:
        stack.down(settings, ["opensearch"], log=lambda m: None)
        import shutil

        shutil.rmtree(data, ignore_errors=True)
