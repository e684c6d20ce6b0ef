"""A private single-node OpenSearch for the lifecycle tests that need node settings.

Snapshots need ``path.repo`` (a static node setting) and the disk-protection test changes the
disk watermarks, which would block every index of the shared devstack; so these tests start
their own node — with the devstack code an operator uses, which also registers the ``fs``
repository — on free ports and a temporary data dir, once per session, and stop it at the end.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lifecycle_nodes import free_http_port, free_port

from logharbor.config import OpenSearchSettings
from ops.devstack import stack
from ops.devstack.opensearch_node import snapshot_dir
from ops.devstack.settings import DevstackSettings


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
