"""docker-compose.yml cannot run here (no Docker engine): check it parses and agrees with the settings."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from logharbor.config import KafkaSettings, OpenSearchSettings
from ops.devstack.fetch import pom_property

ROOT = Path(__file__).parents[3]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _host_port(service: dict) -> int:
    return int(service["ports"][0].split(":")[-2])


def test_compose_parses_with_every_role():
    services = _compose()["services"]
    assert {"opensearch", "opensearch-dashboards", "kafka", "init", "gateway", "pipeline", "ui"} <= set(services)


def test_versions_match_the_devstack():
    services = _compose()["services"]
    os_version = pom_property("opensearch.runner.version").rsplit(".", 1)[0]
    assert services["opensearch"]["image"].endswith(f":{os_version}")
    assert services["opensearch-dashboards"]["image"].endswith(f":{os_version}")
    assert services["kafka"]["image"].endswith(":" + pom_property("kafka.version"))


def test_ports_and_environment_agree_with_settings():
    services = _compose()["services"]
    os_default = OpenSearchSettings.model_fields["url"].default
    kafka_default = KafkaSettings.model_fields["bootstrap"].default
    assert _host_port(services["opensearch"]) == int(os_default.rsplit(":", 1)[1])
    assert _host_port(services["kafka"]) == int(kafka_default.rsplit(":", 1)[1])
    for role in ("init", "gateway", "pipeline", "ui"):
        env = services[role]["environment"]
        assert env["LOGHARBOR_OPENSEARCH_URL"] == "https://opensearch:9200"  # security plugin on (issue 16)
        assert env["LOGHARBOR_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "kafka:9092" in services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    # every LogHarbor role's command is a real CLI subcommand
    from ops.cli import build_parser

    choices = build_parser()._subparsers._group_actions[0].choices
    for role in ("init", "gateway", "pipeline", "ui"):
        assert services[role]["command"][0] in choices, role


def test_dockerfile_copies_every_package():
    text = (ROOT / "Dockerfile").read_text()
    for pkg in ("logharbor", "index_templates", "shipper", "gateway", "pipeline", "opensearch", "ui", "ops"):
        assert re.search(rf"^COPY {pkg} ", text, re.M), pkg


def test_ecs_template_has_everything_the_query_engine_compiles_to():
    import json

    from opensearch.query.mapping import missing_mapping_requirements

    body = json.loads((ROOT / "index_templates/component_templates/logharbor-ecs-mappings.json").read_text())
    assert missing_mapping_requirements(body["template"]["mappings"]) == []
