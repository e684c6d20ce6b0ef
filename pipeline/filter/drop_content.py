"""``drop_content``: drop events whose field contains a phrase or matches a pattern.

Meant for noise such as health checks and heartbeats. Phrases are matched case-insensitively
by substring (one ``in`` per phrase, far cheaper than a regex); ``patterns`` are regexes for
the rest. ``levels`` limits the rule (e.g. only drop INFO health checks, never their errors).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from logharbor import ecs
from logharbor.levels import normalize_level
from pipeline.event import Event
from pipeline.patterns import check_pattern
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig


class DropContentConfig(StepConfig):
    type: Literal["drop_content"] = "drop_content"
    fields: list[str] = Field(default_factory=lambda: [ecs.MESSAGE, "url.path"])
    contains: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    levels: list[str] | None = None

    def build(self, settings: PipelineSettings) -> Step:
        return DropContentStep(self)


class DropContentStep(Step):
    def __init__(self, config: DropContentConfig) -> None:
        self.name = config.rule_name
        self.fields = config.fields
        self.phrases = [p.lower() for p in config.contains]
        self.patterns: list[re.Pattern[str]] = [check_pattern(p) for p in config.patterns]
        self.levels = {normalize_level(x) for x in config.levels} if config.levels else None

    def process(self, event: Event) -> Event | None:
        doc = event.doc
        if self.levels is not None and doc.get(ecs.LEVEL, "INFO") not in self.levels:
            return event
        for name in self.fields:
            value = doc.get(name)
            if not isinstance(value, str):
                continue
            lowered = value.lower()
            for phrase in self.phrases:
                if phrase in lowered:
                    return None
            for rx in self.patterns:
                if rx.search(value, 0, 8192):
                    return None
        return event
