"""``metadata``: context the shipper or the API key attached to the envelope (``meta``).

The gateway copies what it knows about the key (environment, datacenter) and the shipper what
it knows about the host (host name, app version, file path) into ``envelope.meta``; this step
maps those names onto ECS fields. Values the event itself states are not overwritten.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from logharbor import ecs
from pipeline.event import Event, flatten_into
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

DEFAULT_FIELDS: dict[str, str] = {
    "host": ecs.HOST,
    "hostname": ecs.HOST,
    "environment": "labels.environment",
    "env": "labels.environment",
    "host_ip": "host.ip",  # the shipper's detected addresses (one or a list: ECS host.ip is an array)
    "datacenter": "host.datacenter",
    "dc": "host.datacenter",
    "region": "cloud.region",
    "app_version": "service.version",
    "version": "service.version",
    "service_version": "service.version",
    "path": "log.file.path",
    "file": "log.file.path",
    "container": "container.name",
    "container_id": "container.id",
    "key_name": "labels.key_name",
    "level_original": "log.level_original",  # the gateway keeps the level as sent
}


class MetadataConfig(StepConfig):
    type: Literal["metadata"] = "metadata"
    fields: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELDS))
    static: dict[str, Any] = Field(default_factory=dict)  # always-added fields, e.g. {labels.cluster: eu-1}

    def build(self, settings: PipelineSettings) -> Step:
        return MetadataStep(self)


class MetadataStep(Step):
    fail_open = True

    def __init__(self, config: MetadataConfig) -> None:
        self.name = config.rule_name
        self.fields = config.fields
        self.static = config.static

    def process(self, event: Event) -> Event:
        doc = event.doc
        env = event.envelope
        meta = env.meta
        if meta:
            for key, value in meta.items():
                if value is None or value == "":
                    continue
                target = self.fields.get(key)
                if target is not None:
                    if target not in doc:
                        doc[target] = value
                elif key == "labels" and isinstance(value, dict):
                    for lk, lv in value.items():
                        doc.setdefault(f"labels.{lk}", str(lv))
                elif isinstance(value, dict):
                    flatten_into(doc, {key: value}, overwrite=False)
        # labels.environment is the query engine's name (logharbor.ecs); service.environment is ECS's.
        if "labels.environment" in doc:
            doc.setdefault("service.environment", doc["labels.environment"])
        if env.key_id:
            doc.setdefault("labels.key_id", env.key_id)
        for key, value in self.static.items():
            doc.setdefault(key, value)
        return event
