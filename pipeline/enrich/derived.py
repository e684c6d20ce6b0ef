"""``derived``: fields computed from the event so queries need no scripts.

* ``event.duration_ms`` / ``event.duration`` (ns, ECS) from duration-like fields, and
  ``event.duration_category`` = ``slow`` | ``normal`` by ``slow_threshold_ms``
* ``event.is_error`` — level ERROR/FATAL or HTTP status ≥ 500
* ``event.hour_of_day`` (0–23), ``event.day_of_week`` (ISO: 1 = Monday … 7 = Sunday) and
  ``event.business_hours`` (bool), all in the configured zone — the query engine's
  "during business hours" / "weekdays" expressions filter on these ints.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Literal

from pydantic import Field, field_validator

from logharbor import ecs
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig
from pipeline.timeparse import zone

DURATION_FIELDS: tuple[str, ...] = (
    "event.duration_ms",
    "duration_ms",
    "response_time_ms",
    "response_time",
    "elapsed_ms",
    "took_ms",
    "latency_ms",
    "request_time",
    "duration",
    "elapsed",
    "latency",
    "took",
)
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "min": 60_000.0}
_DURATION_TEXT = re.compile(r"^\s*(\d++(?:\.\d++)?)\s*(ns|us|µs|ms|s|min|m)?\s*$")


def duration_ms(field: str, value: object) -> float | None:
    """Milliseconds for a duration value; a bare number is ms unless the field says seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number, unit = float(value), None
    elif isinstance(value, str):
        m = _DURATION_TEXT.match(value)
        if m is None:
            return None
        number, unit = float(m.group(1)), m.group(2)
    else:
        return None
    if unit is None:
        # nginx $request_time and "elapsed"/"took" without unit are seconds when fractional-small
        unit = "s" if field in ("request_time",) else "ms"
    return number * _UNIT_MS[unit]


class DerivedConfig(StepConfig):
    type: Literal["derived"] = "derived"
    slow_threshold_ms: float = Field(default=1000.0, gt=0)
    duration_fields: list[str] = Field(default_factory=lambda: list(DURATION_FIELDS))
    timezone: str | None = None  # None = pipeline.default_timezone
    business_hours: tuple[int, int] = (9, 17)  # [start, end) local hours
    business_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])  # ISO weekdays

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)
        return value

    def build(self, settings: PipelineSettings) -> Step:
        return DerivedStep(self, zone(self.timezone or settings.default_timezone))


class DerivedStep(Step):
    fail_open = True

    def __init__(self, config: DerivedConfig, tz: tzinfo) -> None:
        self.name = config.rule_name
        self.cfg = config
        self.tz = tz
        self.start, self.end = config.business_hours
        self.days = frozenset(config.business_days)
        # Read per event: plain attributes, not the pydantic model's (issue 13).
        self.slow_ms = config.slow_threshold_ms
        self.duration_fields = tuple(config.duration_fields)
        self._any_duration = frozenset(self.duration_fields)
        self._clock: dict[datetime, tuple[int, int, bool]] = {}  # a burst shares its seconds

    def process(self, event: Event) -> Event:
        doc = event.doc
        given = doc.get("event.duration_ms")
        if not isinstance(given, (int, float)):
            ms = None
            nanos = doc.get(ecs.DURATION)
            if isinstance(nanos, (int, float)) and nanos.__class__ is not bool:
                ms = nanos / 1e6  # ECS event.duration is nanoseconds
            elif not self._any_duration.isdisjoint(doc):
                for name in self.duration_fields:
                    if name in doc:
                        ms = duration_ms(name, doc[name])
                        if ms is not None:
                            break
        else:
            ms = float(given)
        if ms is not None:
            doc["event.duration_ms"] = ms
            doc[ecs.DURATION] = int(ms * 1e6)
            doc["event.duration_category"] = "slow" if ms >= self.slow_ms else "normal"
        status = doc.get(ecs.STATUS_CODE)
        doc["event.is_error"] = doc.get(ecs.LEVEL) in ("ERROR", "FATAL") or (isinstance(status, int) and status >= 500)
        ts = event.ts
        if ts is not None:
            clock = self._clock.get(ts)
            if clock is None:
                local = ts.astimezone(self.tz)
                dow = local.isoweekday()
                clock = (local.hour, dow, dow in self.days and self.start <= local.hour < self.end)
                if len(self._clock) >= 4096:
                    self._clock.clear()
                self._clock[ts] = clock
            doc["event.hour_of_day"], doc["event.day_of_week"], doc["event.business_hours"] = clock
        return event
