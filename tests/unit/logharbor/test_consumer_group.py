"""One consumer group for the pipeline and everything that watches it (logharbor/consumer_group.py):
the gateway's backpressure, the ui's status lag and the pipeline's worker read the same answer."""

from __future__ import annotations

import asyncio

import pytest

from gateway.lag import LagMonitor
from gateway.settings import GatewaySettings
from logharbor.config import KafkaSettings
from logharbor.consumer_group import pipeline_consumer_group
from pipeline.settings import PipelineSettings
from pipeline.worker import PipelineWorker


def _worker_group(kafka: KafkaSettings) -> str:
    worker = PipelineWorker(PipelineSettings(crash_guard=False), asyncio.Event(), kafka=kafka)
    return worker.group


@pytest.mark.parametrize("how", ["default", "env", "yaml"])
def test_gateway_watches_the_group_the_pipeline_consumes_with(how: str, monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("LOGHARBOR_PIPELINE_CONSUMER_GROUP", raising=False)
    monkeypatch.delenv("LOGHARBOR_CONFIG", raising=False)
    if how == "env":
        monkeypatch.setenv("LOGHARBOR_PIPELINE_CONSUMER_GROUP", "pipeline-own-env")
    elif how == "yaml":
        cfg = tmp_path / "logharbor.yaml"
        cfg.write_text("pipeline:\n  consumer_group: pipeline-own-yaml\n  workers: 2\nkafka:\n  bootstrap: x:1\n")
        monkeypatch.setenv("LOGHARBOR_CONFIG", str(cfg))
    kafka = KafkaSettings(consumer_group="kafka-section-group")
    pipeline_group = _worker_group(kafka)
    gateway_group = LagMonitor(kafka, GatewaySettings()).group
    assert gateway_group == pipeline_group
    assert pipeline_group == {"default": "kafka-section-group", "env": "pipeline-own-env",
                              "yaml": "pipeline-own-yaml"}[how]


def test_an_explicit_pipeline_setting_wins_over_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("LOGHARBOR_PIPELINE_CONSUMER_GROUP", "from-env")
    kafka = KafkaSettings(consumer_group="k")
    assert pipeline_consumer_group(kafka, "explicit") == "explicit"
    assert pipeline_consumer_group(kafka) == "from-env"
