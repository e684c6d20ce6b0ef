"""``level_floor``: a minimum level per environment and/or service (production keeps WARN+).

Rules are tried in order; the first whose environment and service globs match decides the
floor. The environment comes from ``labels.environment`` (set by the ``metadata`` step from the
shipper/key metadata), so put ``metadata`` before this step. Events without a level count as INFO.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from logharbor import ecs
from logharbor.levels import LEVEL_RANK, normalize_level
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

ENVIRONMENT = "labels.environment"


class LevelRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: str | None = None  # glob
    service: str | None = None  # glob on service.name
    min_level: str

    @field_validator("min_level")
    @classmethod
    def _known(cls, value: str) -> str:
        level = normalize_level(value)
        if level is None:
            raise ValueError(f"unknown level {value!r} (use DEBUG, INFO, WARN, ERROR or FATAL)")
        return level


class LevelFloorConfig(StepConfig):
    type: Literal["level_floor"] = "level_floor"
    rules: list[LevelRule] = Field(default_factory=list)

    def build(self, settings: PipelineSettings) -> Step:
        return LevelFloorStep(self)


def _glob(value: str | None) -> re.Pattern[str] | None:
    return re.compile(fnmatch.translate(value)) if value else None


class LevelFloorStep(Step):
    def __init__(self, config: LevelFloorConfig) -> None:
        self.name = config.rule_name
        self.rules = [(_glob(r.environment), _glob(r.service), LEVEL_RANK[r.min_level]) for r in config.rules]
        self._floor_cache: dict[tuple[str, str], int] = {}

    def _floor(self, environment: str, service: str) -> int:
        key = (environment, service)
        floor = self._floor_cache.get(key)
        if floor is None:
            floor = 0
            for env_rx, svc_rx, rank in self.rules:
                if env_rx is not None and not env_rx.match(environment):
                    continue
                if svc_rx is not None and not svc_rx.match(service):
                    continue
                floor = rank
                break
            if len(self._floor_cache) < 10_000:
                self._floor_cache[key] = floor
        return floor

    def process(self, event: Event) -> Event | None:
        doc = event.doc
        floor = self._floor(str(doc.get(ENVIRONMENT, "")), str(doc.get(ecs.SERVICE, "")))
        if floor == 0:
            return event
        rank = LEVEL_RANK.get(doc.get(ecs.LEVEL) or "INFO", LEVEL_RANK["INFO"])
        return event if rank >= floor else None
