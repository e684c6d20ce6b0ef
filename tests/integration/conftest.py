"""Fixtures shared by the integration tests (the servers themselves come from tests/conftest.py).

- ``gw``: a recording gateway (tests/shipper_support/recording_gateway.py) on a free port, for
  the shipper's tests. The gateway's own tests define a module-level ``gw`` (a real gateway
  process) that overrides this one, as pytest lets a module do.
- ``logs``: an empty folder for the log files a test writes and a shipper tails.
- ``topic``: a Kafka topic of the test module's own (``gateway.testing.create_topic``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.testing import create_topic
from tests.shipper_support.recording_gateway import RecordingGateway


@pytest.fixture
def gw() -> Iterator[RecordingGateway]:
    g = RecordingGateway().start()
    yield g
    g.stop()


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


@pytest.fixture(scope="module")
def topic(kafka_bootstrap: str) -> str:
    return create_topic(kafka_bootstrap)
