"""Where the test suite's servers come from: LOGHARBOR_* variables → Docker (testcontainers) → devstack.

The decision is a pure function (ops.devstack.testing.plan), so this runs on every machine,
with or without a Docker engine; the probes are stand-ins that also record being asked.
"""

from __future__ import annotations

import pytest

from ops.devstack.testing import plan
from ops.devstack.testing import testcontainers_available as docker_extra_installed

OS = {"LOGHARBOR_OPENSEARCH_URL": "http://127.0.0.1:9200"}
KAFKA = {"LOGHARBOR_KAFKA_BOOTSTRAP": "127.0.0.1:9092"}


class Probe:
    def __init__(self, answer: bool) -> None:
        self.answer, self.calls = answer, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.answer


def test_variables_win_and_nothing_is_probed() -> None:
    docker, tc = Probe(True), Probe(True)
    chosen = plan({**OS, **KAFKA}, docker, tc)
    assert (chosen.opensearch, chosen.kafka, chosen.origin) == ("environment", "environment", "environment")
    assert docker.calls == tc.calls == 0


@pytest.mark.parametrize(
    ("env", "docker", "tc", "expected"),
    [
        ({}, True, True, ("testcontainers", "testcontainers")),
        ({}, False, True, ("devstack", "devstack")),
        ({}, True, False, ("devstack", "devstack")),
        ({**OS}, True, True, ("environment", "testcontainers")),
        ({**KAFKA}, False, True, ("devstack", "environment")),
        ({"LOGHARBOR_TEST_DOCKER": "0"}, True, True, ("devstack", "devstack")),
        ({**OS, "LOGHARBOR_TEST_DOCKER": "off"}, True, True, ("environment", "devstack")),
    ],
)
def test_order(env: dict[str, str], docker: bool, tc: bool, expected: tuple[str, str]) -> None:
    chosen = plan(env, Probe(docker), Probe(tc))
    assert (chosen.opensearch, chosen.kafka) == expected
    assert chosen.origin == ("devstack" if "devstack" in expected else
                             "testcontainers" if "testcontainers" in expected else "environment")


def test_reasons_tell_what_to_install() -> None:
    assert "pip install 'logharbor[docker]'" in plan({}, Probe(True), Probe(False)).reason
    assert "no Docker engine" in plan({}, Probe(False), Probe(True)).reason


def test_docker_is_asked_before_the_extra_and_only_when_needed() -> None:
    docker, tc = Probe(False), Probe(True)
    plan({}, docker, tc)
    assert docker.calls == 1 and tc.calls == 0
    docker, tc = Probe(True), Probe(True)
    plan({"LOGHARBOR_TEST_DOCKER": "0"}, docker, tc)
    assert docker.calls == tc.calls == 0


def test_the_extra_is_detected() -> None:
    # The dev extra installs logharbor[docker]'s testcontainers too, so the import path is checked here.
    assert docker_extra_installed()
    from ops.devstack.testing import _container_classes

    kafka, opensearch = _container_classes()
    assert kafka.__name__ == "KafkaContainer" and opensearch.__name__ == "OpenSearchContainer"
