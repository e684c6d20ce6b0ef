"""Session fixtures: real OpenSearch and Kafka, chosen once per test session.

Order (issue 2): ``LOGHARBOR_OPENSEARCH_URL`` / ``LOGHARBOR_KAFKA_BOOTSTRAP`` if set; a
Docker engine via testcontainers if one is reachable; otherwise the devstack, started here
and stopped at the end of the session (only what this session started is stopped).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from ops.devstack.testing import Servers, acquire_servers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    s = acquire_servers()
    # Every component reads these, so subprocesses started by tests find the same servers.
    os.environ["LOGHARBOR_OPENSEARCH_URL"] = s.opensearch_url
    os.environ["LOGHARBOR_KAFKA_BOOTSTRAP"] = s.kafka_bootstrap
    try:
        yield s
    finally:
        s.release()


@pytest.fixture(scope="session")
def os_url(servers: Servers) -> str:
    return servers.opensearch_url


@pytest.fixture(scope="session")
def kafka_bootstrap(servers: Servers) -> str:
    return servers.kafka_bootstrap


@pytest.fixture(scope="session")
def os_client(os_url: str):
    from logharbor.config import OpenSearchSettings
    from opensearch.client import sync_client

    client = sync_client(OpenSearchSettings(url=os_url))
    yield client
    client.close()


@pytest.fixture
def unique_tenant() -> str:
    """A fresh tenant name so tests never see each other's data."""
    return "t" + uuid.uuid4().hex[:10]
