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
from pipeline.parse.autodetect import Detector
from pipeline.parse.detect import PARSERS
from pipeline.parse.library import load_library
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig
from pipeline.timeparse import format_timestamp, parse_timestamp, zone

PARSE_FAILURE = "parse_failure"
# Format hints that name a family differently (shipper engines, the envelope's hint list).
_ALIASES: dict[str, str] = {
    "postgres": "postgresql", "apache": "nginx", "access": "nginx", "docker": "json", "kv": "logfmt",
    "mysql": "mysql-error", "mariadb": "mysql-error", "mongodb": "mongodb-json",
    "glog": "klog", "dmesg": "kernel", "logcat": "android-logcat", "jul": "java-jul", "log4j": "java-log4j",
    "serilog": "dotnet-serilog",
}


def hint_family(hint: str) -> str:
    """The family/parser a format hint names: an alias, or the name with "_" read as "-"."""
    return _ALIASES.get(hint) or hint.replace("_", "-")
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


def _builtin_names() -> set[str]:
    return set(load_library().families)


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
        known = set(PARSERS) | _builtin_names() | {"generic", "text"}
        for fmt in value.values():
            if fmt != "auto" and fmt not in known and hint_family(fmt) not in known:
                raise ValueError(
                    f"unknown format {fmt!r}; known: auto, {', '.join(sorted(known))} "
                    "(or a family from pipeline.formats_path)"
                )
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
        self._ts_cache: dict[tuple[object, tzinfo], tuple[datetime, str]] = {}
        # The format library (built-in families + pipeline.formats_path), detection cached per
        # (tenant, source); see pipeline/parse/library.py and docs/PIPELINE.md "Log formats".
        self.detector = Detector(load_library(settings.formats_path))
        self._zones_by_source: dict[str, tzinfo] = {}
        self._parsed: dict[str, int] = {}
        self._failures: dict[str, int] = {}

    def flush(self) -> None:
        # Counted per batch: prometheus-client takes a lock per inc, too dear per event.
        for counts, metric in ((self._parsed, metrics.PARSED), (self._failures, metrics.PARSE_FAILURES)):
            for fmt, n in counts.items():
                _child(metric, fmt).inc(n)
            counts.clear()

    def zone_for(self, source: str, meta: dict[str, Any] | None = None, declared: object = None) -> tzinfo:
        """The zone for zone-less times: the shipper source's ``timezone`` (sent as the field
        ``event.timezone``, or ``meta.timezone``), else the ``timezones`` glob, else the default."""
        if not declared and meta:
            declared = meta.get("timezone")
        if isinstance(declared, str) and declared:
            try:
                return zone(declared)
            except ValueError:
                pass  # a bad zone from a shipper must not fail the event: fall through
        name = self.zones.get(source)
        return zone(name) if name else self.default_zone

    def _source_zone(self, source: str) -> tzinfo:
        """``zone_for`` of a source that declares no zone, memoised (read for every event)."""
        found = self._zones_by_source.get(source)
        if found is None:
            found = self.zone_for(source)
            if len(self._zones_by_source) >= 10_000:
                self._zones_by_source.clear()
            self._zones_by_source[source] = found
        return found

    def process(self, event: Event) -> Event:
        env = event.envelope
        doc = event.doc
        declared = doc.get("event.timezone")
        meta = env.meta
        if declared or (meta and "timezone" in meta):
            tz = self.zone_for(env.source, meta, declared)
        else:
            tz = self._source_zone(env.source)
        line = env.raw
        parsed_ts: object = None
        if line is not None:
            doc[ecs.RAW] = line
            hint = env.format or "auto"
            if hint == "auto":
                hint = self.formats.get(env.source) or self.default_format
            fields = None
            if hint == "auto":
                fmt = hint
            else:
                fmt = hint if hint in _ALIASES else hint_family(hint)  # nginx_error is stored as nginx-error
                if hint == "text":  # declared unstructured: nothing to parse, nothing failed
                    fields = {}
                else:
                    fields = self.detector.parse_as(hint_family(hint), line, tz)
            if fields is None and hint != "text":
                found = self.detector.detect(line, (env.tenant, env.source), tz)
                if found is not None:
                    fmt, fields = found
            if fields is None:
                self._failures[hint] = self._failures.get(hint, 0) + 1
                event.tag(PARSE_FAILURE)
                doc.setdefault(ecs.MESSAGE, line)
            else:
                self._parsed[fmt] = self._parsed.get(fmt, 0) + 1
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
        resolved = None
        for candidate in (parsed_ts, env.timestamp):
            if candidate is not None:
                resolved = self._resolve(candidate, tz)
                if resolved is not None:
                    break
                event.tag("timestamp_parse_failure")
        if resolved is None:
            resolved = self._resolve(env.received_at, UTC) or self._resolve(datetime.now(UTC), UTC)
        event.ts, doc[ecs.TIMESTAMP] = resolved  # type: ignore[misc]
        return event

    def _resolve(self, value: object, tz: tzinfo) -> tuple[datetime, str] | None:
        """(UTC datetime, wire string) for a raw timestamp, cached: a burst of lines shares
        a handful of distinct seconds, and parsing plus formatting is a third of this step."""
        key = (value, tz)
        try:
            hit = self._ts_cache.get(key)
        except TypeError:  # unhashable: not a timestamp anyway
            return None
        if hit is not None:
            return hit
        ts = parse_timestamp(value, tz)
        if ts is None:
            return None
        result = (ts, format_timestamp(ts))
        if len(self._ts_cache) >= 8192:
            self._ts_cache.clear()
        self._ts_cache[key] = result
        return result
