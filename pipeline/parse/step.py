"""The ``parse`` step: raw line → fields, timestamps resolved in the source's zone.

Structured events (no ``raw``) pass through with their timestamp resolved. A line no parser
understands is kept whole as ``message``, tagged ``parse_failure`` and counted — never dropped.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from pydantic import Field, field_validator

from logharbor import ecs
from pipeline import metrics
from pipeline.event import Event
from pipeline.parse.detect import PARSERS, detect
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig, register
from pipeline.timeparse import format_timestamp, parse_timestamp, zone

PARSE_FAILURE = "parse_failure"
_CHILDREN: dict[tuple[int, str], Any] = {}


def _child(metric: Any, label: str) -> Any:
    # prometheus-client's labels() costs microseconds; formats are few, so keep the children.
    key = (id(metric), label)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(label)
    return child


class _GlobMap:
    """Source-name globs → value, first match wins, compiled once and cached per source."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self._rules = [(re.compile(fnmatch.translate(k)), v) for k, v in mapping.items()]
        self._cache: dict[str, str | None] = {}

    def get(self, source: str) -> str | None:
        if source in self._cache:
            return self._cache[source]
        value = next((v for rx, v in self._rules if rx.match(source)), None)
        if len(self._cache) < 10_000:
            self._cache[source] = value
        return value


@register
class ParseConfig(StepConfig):
    """``timezones``/``formats``: source glob → IANA zone / format hint (used when the hint is auto)."""

    type: Literal["parse"] = "parse"
    default_format: str | None = None
    default_timezone: str | None = None
    timezones: dict[str, str] = Field(default_factory=dict)
    formats: dict[str, str] = Field(default_factory=dict)

    @field_validator("timezones")
    @classmethod
    def _zones_exist(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value.values():
            zone(name)
        return value

    @field_validator("formats")
    @classmethod
    def _formats_known(cls, value: dict[str, str]) -> dict[str, str]:
        for fmt in value.values():
            if fmt != "auto" and fmt not in PARSERS:
                raise ValueError(f"unknown format {fmt!r}; known: auto, {', '.join(sorted(PARSERS))}")
        return value

    def build(self, settings: PipelineSettings) -> Step:
        return ParseStep(self, settings)


class ParseStep(Step):
    def __init__(self, config: ParseConfig, settings: PipelineSettings) -> None:
        self.name = config.rule_name
        self.default_format = config.default_format or settings.default_format
        self.default_zone = zone(config.default_timezone or settings.default_timezone)
        self.zones = _GlobMap(config.timezones)
        self.formats = _GlobMap(config.formats)

    def zone_for(self, source: str) -> tzinfo:
        name = self.zones.get(source)
        return zone(name) if name else self.default_zone

    def process(self, event: Event) -> Event:
        env = event.envelope
        tz = self.zone_for(env.source)
        doc = event.doc
        line = env.raw
        parsed_ts: object = None
        if line is not None:
            doc[ecs.RAW] = line
            hint = env.format or "auto"
            if hint == "auto":
                hint = self.formats.get(env.source) or self.default_format
            parser = PARSERS.get(hint)
            fields = parser(line) if parser is not None else None
            fmt = hint
            if hint == "text":  # declared unstructured: nothing to parse, nothing failed
                fields = {}
            elif fields is None:
                found = detect(line)
                if found is not None:
                    fmt, fields = found
            if fields is None:
                _child(metrics.PARSE_FAILURES, hint).inc()
                event.tag(PARSE_FAILURE)
                doc.setdefault(ecs.MESSAGE, line)
            else:
                _child(metrics.PARSED, fmt).inc()
                event.format = fmt
                doc["event.dataset"] = fmt
                parsed_ts = fields.pop(ecs.TIMESTAMP, None)
                # The envelope's explicit host/level win over what the line claims.
                for key in (ecs.HOST, ecs.LEVEL):
                    if key in doc and key in fields:
                        del fields[key]
                doc.update(fields)
                doc.setdefault(ecs.MESSAGE, line)
        elif ecs.TIMESTAMP in doc:
            parsed_ts = doc.pop(ecs.TIMESTAMP)
        ts = None
        for candidate in (parsed_ts, env.timestamp):
            if candidate is not None:
                ts = parse_timestamp(candidate, tz)
                if ts is not None:
                    break
                event.tag("timestamp_parse_failure")
        if ts is None:
            ts = parse_timestamp(env.received_at, UTC) or datetime.now(UTC)
        event.ts = ts
        doc[ecs.TIMESTAMP] = format_timestamp(ts)
        return event
