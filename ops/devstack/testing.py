"""How the test suite gets its servers (tests/conftest.py): env vars, Docker, else the devstack.

The order (docs/ENVIRONMENT.md): a server named by ``LOGHARBOR_OPENSEARCH_URL`` /
``LOGHARBOR_KAFKA_BOOTSTRAP`` is used as is; the ones still missing come from testcontainers when
a Docker engine answers and the ``logharbor[docker]`` extra is installed (``LOGHARBOR_TEST_DOCKER=0``
turns that off); otherwise from the devstack (local JVMs). :func:`plan` is that decision alone,
without side effects, so its unit test runs on every machine, Docker or not.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import stack
from .settings import DevstackSettings


@dataclass
class Servers:
    opensearch_url: str
    kafka_bootstrap: str
    origin: str
    _release: list[Callable[[], None]] = field(default_factory=list)

    def release(self) -> None:
        """Stop what this session started (and nothing else)."""
        for fn in reversed(self._release):
            fn()
        self._release.clear()


@dataclass(frozen=True)
class Plan:
    """Where each server comes from: ``environment``, ``testcontainers`` or ``devstack``."""

    opensearch: str
    kafka: str
    reason: str

    @property
    def origin(self) -> str:
        started = {self.opensearch, self.kafka} - {"environment"}
        return started.pop() if started else "environment"


def testcontainers_available() -> bool:
    """True when the ``logharbor[docker]`` extra (testcontainers with its Kafka/OpenSearch modules) is installed."""
    import importlib.util

    try:
        return importlib.util.find_spec("testcontainers") is not None and importlib.util.find_spec("docker") is not None
    except ModuleNotFoundError:
        return False


def _container_classes() -> tuple[Any, Any]:
    """KafkaContainer, OpenSearchContainer (testcontainers >= 4.15 keeps them under ``community``)."""
    try:
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.opensearch import OpenSearchContainer
    except ImportError:
        from testcontainers.kafka import KafkaContainer
        from testcontainers.opensearch import OpenSearchContainer
    return KafkaContainer, OpenSearchContainer


def plan(env: dict[str, str], docker_reachable: Callable[[], bool],
         have_testcontainers: Callable[[], bool]) -> Plan:
    """Pick the origin of each server; the probes are only called when the answer matters."""
    os_from = "environment" if env.get("LOGHARBOR_OPENSEARCH_URL") else ""
    kafka_from = "environment" if env.get("LOGHARBOR_KAFKA_BOOTSTRAP") else ""
    if os_from and kafka_from:
        return Plan(os_from, kafka_from, "both named by LOGHARBOR_* variables")
    if env.get("LOGHARBOR_TEST_DOCKER", "1").strip().lower() in ("0", "false", "no", "off"):
        rest, reason = "devstack", "LOGHARBOR_TEST_DOCKER=0"
    elif not docker_reachable():
        rest, reason = "devstack", "no Docker engine reachable"
    elif not have_testcontainers():
        rest, reason = "devstack", "Docker reachable but testcontainers missing: pip install 'logharbor[docker]'"
    else:
        rest, reason = "testcontainers", "Docker engine reachable and testcontainers installed"
    return Plan(os_from or rest, kafka_from or rest, reason)


def _docker_reachable() -> bool:
    path = "/var/run/docker.sock"
    if os.environ.get("DOCKER_HOST"):
        return True
    if not os.path.exists(path):
        return False
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(1)
        try:
            s.connect(path)
            return True
        except OSError:
            return False


def _log(msg: str) -> None:
    sys.stderr.write(f"[devstack] {msg}\n")
    sys.stderr.flush()


def _from_testcontainers(servers: Servers, need_os: bool, need_kafka: bool) -> bool:
    """Thin path for hosts with a Docker engine (not exercised on the CI machine, which has none)."""
    try:
        KafkaContainer, OpenSearchContainer = _container_classes()
    except ImportError:
        return False
    if need_os:
        from .fetch import pom_property

        version = pom_property("opensearch.runner.version").rsplit(".", 1)[0]
        osc = OpenSearchContainer(f"opensearchproject/opensearch:{version}", security_enabled=False).start()
        servers.opensearch_url = f"http://{osc.get_container_host_ip()}:{osc.get_exposed_port(9200)}"
        servers._release.append(osc.stop)
    if need_kafka:
        kc = KafkaContainer().with_kraft().start()
        servers.kafka_bootstrap = kc.get_bootstrap_server()
        servers._release.append(kc.stop)
    servers.origin = "testcontainers"
    return True


def acquire_servers() -> Servers:
    """Pick servers in the documented order; only what is started here is stopped by release()."""
    env_os = os.environ.get("LOGHARBOR_OPENSEARCH_URL")
    env_kafka = os.environ.get("LOGHARBOR_KAFKA_BOOTSTRAP")
    servers = Servers(env_os or "", env_kafka or "", "environment")
    need_os, need_kafka = not env_os, not env_kafka
    chosen = plan(dict(os.environ), _docker_reachable, testcontainers_available)
    if chosen.origin == "environment":
        return servers
    _log(f"servers: opensearch from {chosen.opensearch}, kafka from {chosen.kafka} ({chosen.reason})")
    if chosen.origin == "testcontainers" and _from_testcontainers(servers, need_os, need_kafka):
        return servers
    settings = DevstackSettings()
    components = [c for c, need in (("opensearch", need_os), ("kafka", need_kafka)) if need]
    scratch = None
    running = stack.status(settings)
    if not os.environ.get("LOGHARBOR_DEVSTACK_DATA_DIR") and not any(running[c]["running"] for c in components):
        # a session that starts its own servers starts them empty, so runs never see each other's data
        scratch = tempfile.mkdtemp(prefix="logharbor-test-devstack-")
        settings = DevstackSettings(data_dir=Path(scratch))
    started = stack.up(settings, components, log=_log)
    info = stack.status(settings)
    if need_os:
        servers.opensearch_url = info["opensearch"]["url"]
    if need_kafka:
        servers.kafka_bootstrap = info["kafka"]["bootstrap"]
    servers.origin = "devstack"
    mine = [c for c, fresh in started.items() if fresh]
    if scratch is not None:
        servers._release.append(lambda: shutil.rmtree(scratch, ignore_errors=True))
    if mine:
        servers._release.append(lambda: stack.down(settings, mine, log=_log))
    return servers
