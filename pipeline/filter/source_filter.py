"""``source_filter``: keep or drop whole sources (service names) by glob.

``drop: [noisy-*]`` drops those sources; ``keep: [api, web-*]`` drops every other source.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Literal

from pydantic import Field

from logharbor import ecs
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig


class SourceFilterConfig(StepConfig):
    type: Literal["source_filter"] = "source_filter"
    drop: list[str] = Field(default_factory=list)
    keep: list[str] | None = None
    # Also match on the envelope source (the shipper's name) rather than service.name only.
    field: str = ecs.SERVICE

    def build(self, settings: PipelineSettings) -> Step:
        return SourceFilterStep(self)


def _any_glob(globs: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs) or "(?!)")


class SourceFilterStep(Step):
    def __init__(self, config: SourceFilterConfig) -> None:
        self.name = config.rule_name
        self.field = config.field
        self.drop = _any_glob(config.drop)
        self.keep = _any_glob(config.keep) if config.keep is not None else None
        self._decided: dict[str, bool] = {}

    def process(self, event: Event) -> Event | None:
        source = str(event.doc.get(self.field) or event.envelope.source)
        keep = self._decided.get(source)
        if keep is None:
            keep = not self.drop.match(source) and (self.keep is None or bool(self.keep.match(source)))
            if len(self._decided) < 10_000:
                self._decided[source] = keep
        return event if keep else None
