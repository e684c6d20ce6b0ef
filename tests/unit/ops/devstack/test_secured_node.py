"""The secured node's pure parts: which plugin jars join the classpath, the bound port, and that
its security settings are docker-compose.yml's (so the test proves the compose configuration)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ops.devstack import secured_node

REPO = Path(__file__).resolve().parents[4]


def test_artifact_names_drop_versions():
    assert secured_node._artifact("netty-codec-http2-4.2.7.Final.jar") == "netty-codec-http2"
    assert secured_node._artifact("guava-33.5.0-jre.jar") == "guava"
    assert secured_node._artifact("opensearch-security-3.4.0.0.jar") == "opensearch-security"
    assert secured_node._artifact("scala-java8-compat_3-1.0.2.jar") == "scala-java8-compat_3"


def test_classpath_keeps_one_copy_of_what_the_runner_has(tmp_path):
    runner, plugin = tmp_path / "runner", tmp_path / "plugin"
    runner.mkdir()
    plugin.mkdir()
    for name in ("netty-common-4.2.7.Final.jar", "slf4j-api-2.0.17.jar", "opensearch-3.4.0.jar"):
        (runner / name).touch()
    for name in ("netty-common-4.2.7.Final.jar", "slf4j-api-1.7.36.jar", "opensearch-security-3.4.0.0.jar"):
        (plugin / name).touch()
    extra = tmp_path / "commons-collections4-4.5.0.jar"
    names = [Path(p).name for p in secured_node.classpath(runner, plugin, [extra]).split(":")]
    assert names == ["netty-common-4.2.7.Final.jar", "opensearch-3.4.0.jar", "slf4j-api-2.0.17.jar",
                     "opensearch-security-3.4.0.0.jar", "commons-collections4-4.5.0.jar"]


def test_bound_http_port_is_read_from_the_log(tmp_path):
    log = tmp_path / "opensearch.log"
    assert secured_node._bound_http_port(log) is None
    log.write_text("[t][INFO ][o.o.t.TransportService   ] publish_address {127.0.0.1:59839}, bound_addresses {}\n"
                   "[t][INFO ][o.o.h.AbstractHttpServerTransport] publish_address {127.0.0.1:9234}, bound_addr\n")
    assert secured_node._bound_http_port(log) == 9234


def test_security_settings_are_the_compose_ones(tmp_path):
    secured_node.write_config(tmp_path, 9234, 9334, "c")
    ours = {k: v for k, v in json.loads((tmp_path / "opensearch.yml").read_text()).items()
            if k.startswith("plugins.security.")}
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["opensearch"]["environment"]
    theirs = {k: v for k, v in compose.items() if k.startswith("plugins.security.")}
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        mine = ours[key]
        if isinstance(mine, list):
            assert (json.loads(value) if value.startswith("[") else [value]) == mine, key
        else:
            assert str(mine).lower() == str(value).lower(), key
