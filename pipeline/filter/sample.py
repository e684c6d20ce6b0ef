"""``sample``: rate-based sampling of repeated messages.

Events are grouped by a *fingerprint*: the message with numbers and hex ids masked, plus
service and level. Within each window (default one minute) the first ``threshold`` events of a
fingerprint pass untouched. Beyond that, at most ``keep`` samples pass per window, spread over
the excess using the previous window's excess as the rate estimate; the rest are folded. Each
sample that passes carries ``event.sampled_count`` — how many events of its fingerprint were folded
since the previous one passed — so counts stay reconstructible; every fold is also counted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from logharbor import ecs
from pipeline import metrics
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

_VARIABLE = re.compile(r"[0-9a-fA-F-]*\d[0-9a-fA-F-]*")


def fingerprint(event: Event, fields: list[str]) -> str:
    """Message shape plus the grouping fields: ``took 35ms id=af31`` ≡ ``took 12ms id=09be``."""
    msg = _VARIABLE.sub("#", event.message[:512])
    doc = event.doc
    return "\x1f".join([msg, *(str(doc.get(f, "")) for f in fields)])


@dataclass(slots=True)
class _State:
    window: int
    count: int = 0
    excess: int = 0
    kept_over: int = 0
    folded: int = 0
    prev_excess: int = 0


class SampleConfig(StepConfig):
    type: Literal["sample"] = "sample"
    threshold: int = Field(default=100, ge=0, description="events per window passing unsampled")
    keep: int = Field(default=10, ge=1, description="samples per window beyond the threshold")
    window_s: float = Field(default=60.0, gt=0)
    group_by: list[str] = Field(default_factory=lambda: [ecs.SERVICE, ecs.LEVEL])
    max_fingerprints: int = Field(default=100_000, ge=100)

    def build(self, settings: PipelineSettings) -> Step:
        return SampleStep(self)


class SampleStep(Step):
    def __init__(self, config: SampleConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = config.rule_name
        self.cfg = config
        self.clock = clock
        self.states: dict[str, _State] = {}
        self._window = -1

    def _roll(self, window: int) -> None:
        # Forget fingerprints idle for more than a window, and cap memory under key explosions.
        self._window = window
        self.states = {k: s for k, s in self.states.items() if s.window >= window - 1}
        if len(self.states) > self.cfg.max_fingerprints:
            self.states.clear()

    def process(self, event: Event) -> Event | None:
        window = int(self.clock() // self.cfg.window_s)
        if window != self._window:
            self._roll(window)
        key = fingerprint(event, self.cfg.group_by)
        st = self.states.get(key)
        if st is None:
            st = self.states[key] = _State(window)
        elif st.window != window:
            prev = st.excess if st.window == window - 1 else 0
            st.window, st.count, st.excess, st.kept_over, st.prev_excess = window, 0, 0, 0, prev
        st.count += 1
        if st.count > self.cfg.threshold:
            st.excess += 1
            spacing = max(1, st.prev_excess // self.cfg.keep)
            if st.kept_over >= self.cfg.keep or (st.excess - 1) % spacing:
                st.folded += 1
                metrics.SAMPLED_FOLDED.labels(self.name).inc()
                return None
            st.kept_over += 1
            event.tag("sampled")
        if st.folded:
            event.doc["event.sampled_count"] = st.folded
            st.folded = 0
        return event
