"""Bad settings fail with a message that says what to do — without any server."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from logharbor.config import ConfigError, StorageSettings
from ops.devstack import fetch, opensearch_node
from ops.devstack.java import find_java
from ops.devstack.process import port_in_use
from ops.devstack.settings import DevstackSettings


def test_unknown_retention_class_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown retention class 'forever': known classes are audit, debug"):
        StorageSettings().check_class("forever")


def test_retention_days_come_from_env(monkeypatch):
    monkeypatch.setenv("LOGHARBOR_STORAGE_RETENTION_DAYS", '{"errors": 120, "standard": 30}')
    assert StorageSettings().retention_days == {"errors": 120, "standard": 30}


def test_yaml_config_file_is_read(tmp_path, monkeypatch):
    cfg = tmp_path / "lh.yaml"
    cfg.write_text("storage:\n  retention_days: {errors: 5}\n  lifecycle_driver: logharbor\n")
    monkeypatch.setenv("LOGHARBOR_CONFIG", str(cfg))
    s = StorageSettings()
    assert s.retention_days == {"errors": 5} and s.lifecycle_driver == "logharbor"


def test_missing_java_says_how_to_install(tmp_path):
    with pytest.raises(ConfigError, match=r"no Java 99\+ found for OpenSearch.*install a JDK 99"):
        find_java(99, explicit=None, what="OpenSearch", setting="LOGHARBOR_DEVSTACK_OPENSEARCH_JAVA_HOME")
    with pytest.raises(ConfigError, match="is not a Java 17\\+ home"):
        find_java(17, explicit=tmp_path, what="Kafka", setting="LOGHARBOR_DEVSTACK_KAFKA_JAVA_HOME")


def test_missing_maven_says_how_to_install(tmp_path):
    with pytest.raises(ConfigError, match=r"Maven \('no-such-mvn'\) not found: install it"):
        fetch.fetch("kafka", tmp_path, maven="no-such-mvn")


def test_port_outside_runner_range_is_explained(tmp_path):
    settings = DevstackSettings(data_dir=tmp_path, opensearch_port=9298, nodes=3)
    with pytest.raises(ConfigError, match=r"needs ports 9298\.\.9300, but the devstack's runner only binds"):
        opensearch_node.start(settings, tmp_path)


def test_port_in_use_names_the_setting(tmp_path):
    port = next(p for p in range(9280, 9299) if not port_in_use(p))
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        settings = DevstackSettings(data_dir=tmp_path, opensearch_port=port)
        with pytest.raises(ConfigError, match=rf"port {port} is in use by .*LOGHARBOR_DEVSTACK_OPENSEARCH_PORT"):
            opensearch_node.start(settings, tmp_path)


def test_cli_reports_config_errors_without_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LOGHARBOR_DEVSTACK_MAVEN": "no-such-mvn",
           "LOGHARBOR_DEVSTACK_CACHE_DIR": str(tmp_path / "cache"),
           "LOGHARBOR_DEVSTACK_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path),
           "LOGHARBOR_DEVSTACK_KAFKA_PORT": "19992", "LOGHARBOR_DEVSTACK_KAFKA_CONTROLLER_PORT": "19993"}
    out = subprocess.run([sys.executable, "-m", "ops.cli", "devstack", "up", "--only", "kafka"],
                         capture_output=True, text=True, env=env, cwd=Path(__file__).parents[3], timeout=120)
    assert out.returncode == 2
    assert "configuration error: Maven ('no-such-mvn') not found" in out.stderr
    assert "Traceback" not in out.stderr


def test_node_temps_for_three_nodes():
    assert [opensearch_node.node_temp(i, 3) for i in range(3)] == ["hot", "warm", "cold"]
    assert opensearch_node.node_temp(0, 1) == "hot"
    assert [opensearch_node.node_temp(i, 3, ["hot"] * 3) for i in range(3)] == ["hot", "hot", "hot"]
