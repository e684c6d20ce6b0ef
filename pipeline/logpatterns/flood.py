"""``flood``: one pattern from one source flooding a window is stored as a few events plus a summary.

Product spec: "instead of storing 1000 similar logs, store one aggregated entry". Off by default
(add ``- type: flood`` after ``patterns`` in the rules file). Per key — (tenant, the
``group_by`` fields, default ``service.name``, and the pattern id of the ``patterns`` step) — and
per event-time window (``window_s``, default 60 s):

* the first ``threshold`` (N) events of a window pass unchanged; a key whose previous window
  exceeded N is still flooding, and then only the first ``keep`` (K ≤ N) pass;
* every further event of the window goes into the window's **summary event**: the first one
  becomes it, the others are *folded* — not stored, counted in
  ``logharbor_pipeline_flood_folded_events{rule}`` (and, like every drop, in
  ``logharbor_pipeline_dropped_events{rule}``) and added to the summary's count.

Why the summary is the first folded event itself, one per key, window *and batch*: a step cannot
hold events across batches (a batch's offsets are committed once it is indexed — an event held
for later would be lost by a crash), and cannot add events to a batch. So the first folded event
of a batch becomes the summary (tag ``flood_summary``, fields under ``logharbor.flood``:
``summary: true``, ``count`` — the events it stands for, itself included —,
``first_occurrence``, ``last_occurrence``, ``window_start``, ``window_s``; its message and other
fields stay as the sample), and the batch's later folded events only update it before the batch
is indexed. A flood of 10,000 events/s in batches of 2,000 stores K events and about five
summaries a second instead of 10,000 events; the counts of a window's summaries add up to the
events folded. Summaries are counted in ``logharbor_pipeline_flood_summaries{rule}``. State is
per worker (two workers sharing a flood each keep their K); after a restart a window starts over.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from logharbor import ecs
from pipeline import metrics
from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

PATTERN_ID = "logharbor.pattern.id"
SUMMARY = "logharbor.flood.summary"
COUNT = "logharbor.flood.count"
FIRST = "logharbor.flood.first_occurrence"
LAST = "logharbor.flood.last_occurrence"
WINDOW_START = "logharbor.flood.window_start"
WINDOW_S = "logharbor.flood.window_s"


class FloodConfig(StepConfig):
    type: Literal["flood"] = "flood"
    threshold: int = Field(default=1000, ge=1, description="N: events of one key per window stored before folding")
    keep: int = Field(default=10, ge=0, description="K: events per window stored while a key keeps flooding")
    window_s: float = Field(default=60.0, gt=0)
    group_by: list[str] = Field(default_factory=lambda: [ecs.SERVICE], description="the source fields of the key")
    max_keys: int = Field(default=100_000, ge=100)  # memory bound under key explosions (state is then reset)

    @model_validator(mode="after")
    def _keep_at_most_threshold(self) -> FloodConfig:
        if self.keep > self.threshold:
            raise ValueError(f"keep ({self.keep}) must be at most threshold ({self.threshold})")
        return self

    def build(self, settings: PipelineSettings) -> Step:
        return FloodStep(self)


class _Key:
    __slots__ = ("flooding", "prev_flooding", "seen", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.seen = 0
        self.flooding = False  # this window exceeded its limit
        self.prev_flooding = False


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FloodStep(Step):
    def __init__(self, config: FloodConfig) -> None:
        self.name = config.rule_name
        self.cfg = config
        self.keys: dict[tuple, _Key] = {}
        self.summaries: dict[tuple, Event] = {}  # (key, window) → this batch's summary event
        self._folded = metrics.FLOOD_FOLDED.labels(self.name)
        self._summaries = metrics.FLOOD_SUMMARIES.labels(self.name)

    def process(self, event: Event) -> Event | None:
        doc = event.doc
        pattern = doc.get(PATTERN_ID)
        if pattern is None or doc.get(SUMMARY):
            return event  # no pattern (the patterns step did not run or the message was empty)
        key = (event.envelope.tenant, pattern, *(doc.get(f) for f in self.cfg.group_by))
        epoch = event.ts.timestamp() if event.ts is not None else time.time()
        window = int(epoch // self.cfg.window_s)
        state = self.keys.get(key)
        if state is None:
            if len(self.keys) >= self.cfg.max_keys:
                self.keys.clear()
            state = self.keys[key] = _Key(window)
        elif state.window != window:
            if window > state.window:  # a later window: remember whether the last one flooded
                state.prev_flooding = state.flooding and window == state.window + 1
                state.window, state.seen, state.flooding = window, 0, False
            else:  # a late event of an earlier window: judged by the current window's state
                window = state.window
        state.seen += 1
        limit = self.cfg.keep if state.prev_flooding else self.cfg.threshold
        if state.seen <= limit:
            return event
        state.flooding = True
        summary = self.summaries.get((key, window))
        if summary is None:
            self.summaries[(key, window)] = event
            event.tag("flood_summary")
            doc[SUMMARY] = True
            doc[COUNT] = 1
            doc[FIRST] = doc[LAST] = _iso(epoch)
            doc[WINDOW_START] = _iso(window * self.cfg.window_s)
            doc[WINDOW_S] = self.cfg.window_s
            self._summaries.inc()
            return event
        self._folded.inc()
        sdoc: dict[str, Any] = summary.doc
        sdoc[COUNT] += 1
        stamp = _iso(epoch)
        if stamp < sdoc[FIRST]:
            sdoc[FIRST] = stamp
        if stamp > sdoc[LAST]:
            sdoc[LAST] = stamp
        return None

    def flush(self) -> None:
        """A batch ended: its summaries are final (the next batch's folds start new ones)."""
        self.summaries.clear()
