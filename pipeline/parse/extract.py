"""The ``extract`` step: named-group regex rules per source or format → extra fields.

``Failed to authenticate user (?P<email>\\S+): (?P<reason>.+)`` with ``add: {action: authenticate}``
turns an app-log message into ``email``, ``reason`` and ``action`` fields. Operator regexes
cannot be proven linear, so rules are screened by :func:`pipeline.patterns.check_pattern` and
only the first ``max_chars`` characters of a field are searched.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.event import Event
from pipeline.patterns import check_pattern
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig


class ExtractRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    pattern: str
    field: str = "message"
    source: str | None = None  # glob on the event's source
    format: str | None = None  # detected/declared format (app, nginx, syslog, json, logfmt)
    add: dict[str, Any] = Field(default_factory=dict)
    stop: bool = False  # later rules are skipped once this one matched

    @field_validator("pattern")
    @classmethod
    def _safe(cls, value: str) -> str:
        compiled = check_pattern(value)
        if not compiled.groupindex:
            raise ValueError(f"pattern {value!r} has no named group (?P<name>...) to extract")
        return value


class ExtractConfig(StepConfig):
    type: Literal["extract"] = "extract"
    max_chars: int = 8192
    rules: list[ExtractRule] = Field(default_factory=list)

    def build(self, settings: PipelineSettings) -> Step:
        return ExtractStep(self)


class ExtractStep(Step):
    def __init__(self, config: ExtractConfig) -> None:
        self.name = config.rule_name
        self.max_chars = config.max_chars
        # Plain tuples, read per event (not the pydantic rules' attributes, issue 13).
        self.rules = [
            (
                r.format,
                re.compile(fnmatch.translate(r.source)) if r.source else None,
                r.field,
                re.compile(r.pattern),
                dict(r.add),
                r.stop,
            )
            for r in config.rules
        ]

    def process(self, event: Event) -> Event:
        doc = event.doc
        for fmt, source_rx, field_name, rx, add, stop in self.rules:
            if fmt is not None and fmt != event.format:
                continue
            if source_rx is not None and not source_rx.match(event.envelope.source):
                continue
            value = doc.get(field_name)
            if not isinstance(value, str):
                continue
            m = rx.search(value, 0, self.max_chars)
            if m is None:
                continue
            for key, group in m.groupdict().items():
                if group is not None:
                    doc[key] = group
            doc.update(add)
            if stop:
                break
        return event
