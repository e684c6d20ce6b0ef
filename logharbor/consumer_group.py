"""The pipeline's Kafka consumer group: one answer for every component that needs it.

Why: the pipeline may consume with a group of its own (``pipeline.consumer_group`` in the YAML
file, ``LOGHARBOR_PIPELINE_CONSUMER_GROUP``, or ``PipelineSettings(consumer_group=...)``), falling
back to ``kafka.consumer_group``. The gateway's backpressure (gateway/lag.py), the ui's status
and the pipeline's autoscaler must watch *that* group; reading ``kafka.consumer_group`` alone
watched an idle group (lag unknown → never 503) whenever the pipeline's was configured.
This module reads the ``pipeline`` section itself (env + YAML, the same precedence as
:class:`logharbor.config.SectionSettings`) so the gateway needs no import of the pipeline package.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from logharbor.config import KafkaSettings, SectionSettings


class _PipelineGroup(SectionSettings):
    """Only ``consumer_group`` of the ``pipeline`` section; its other keys belong to PipelineSettings."""

    section: ClassVar[str] = "pipeline"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_PIPELINE_", env_nested_delimiter="__", extra="ignore")

    consumer_group: str | None = None


def pipeline_consumer_group(kafka: KafkaSettings | None = None, configured: str | None = None) -> str:
    """The group the pipeline consumes the raw topic with.

    ``configured`` is what the caller's own pipeline settings say (the pipeline passes
    ``PipelineSettings.consumer_group``, which may come from a constructor argument); otherwise
    the ``pipeline`` section of the environment/YAML file; otherwise ``kafka.consumer_group``.
    """
    group = configured or _PipelineGroup().consumer_group
    return group or (kafka or KafkaSettings()).consumer_group
