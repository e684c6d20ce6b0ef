"""The one step interface, the base of step configs, and the chain that runs steps in order.

Vector's component model: every parser, filter rule kind, redactor, enricher and the router is
a :class:`Step` with a pydantic config model (:class:`StepConfig`, discriminated by ``type``)
that builds it. The rules file is an ordered list of step configs; :class:`Chain` runs them.
Which kinds exist is the table in :mod:`pipeline.step_kinds`: adding a step kind is one new
module (config model + step class, tests beside the others), one line in that table and one
row in docs/PIPELINE.md — no other step changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from pipeline import metrics
from pipeline.event import Event

if TYPE_CHECKING:
    from pipeline.settings import PipelineSettings

log = logging.getLogger(__name__)


class Step:
    """One unit of processing. ``process`` returns the event (changed in place) or None to drop it.

    ``name`` labels the step's metrics (drops and redactions are counted per rule name).
    ``fail_open`` steps (enrichers) never block an event: an exception is counted and the event
    continues unchanged; other steps' exceptions make the record a poison candidate.
    """

    name: str = "step"
    fail_open: bool = False

    def process(self, event: Event) -> Event | None:  # pragma: no cover - interface
        raise NotImplementedError

    def flush(self) -> None:
        """Called after each batch: steps that count per event publish their counts here."""


class StepConfig(BaseModel):
    """Base of every step's config model; ``type`` selects the step kind in the rules file."""

    model_config = ConfigDict(extra="forbid")
    kind: ClassVar[str] = ""
    type: str
    name: str | None = None

    def build(self, settings: PipelineSettings) -> Step:  # pragma: no cover - interface
        raise NotImplementedError

    @property
    def rule_name(self) -> str:
        return self.name or self.type


@dataclass(slots=True)
class ChainResult:
    """What a batch became: events to index, how many were dropped, which raised."""

    kept: list[Event] = field(default_factory=list)
    dropped: int = 0
    failed: list[tuple[Event, BaseException]] = field(default_factory=list)


_DROPPED: dict[str, Any] = {}


def _dropped(rule: str) -> Any:
    child = _DROPPED.get(rule)
    if child is None:
        child = _DROPPED[rule] = metrics.DROPPED.labels(rule)
    return child


class Chain:
    """Steps in order. Runs each event through all steps (one pass, no intermediate lists)."""

    def __init__(self, steps: Iterable[Step]) -> None:
        self.steps: list[Step] = list(steps)
        # Bound methods and flags looked up once, not per event and step.
        self._plan = [(step.process, step.fail_open, step.name) for step in self.steps]

    def run(self, events: Iterable[Event]) -> ChainResult:
        result = ChainResult()
        kept, failed = result.kept, result.failed
        drops: dict[str, int] = {}
        plan = self._plan
        for event in events:
            current: Event | None = event
            try:
                for process, fail_open, name in plan:
                    if fail_open:
                        try:
                            current = process(current)
                        except Exception:
                            metrics.ENRICH_FAILURES.labels(name).inc()
                            current.tag("enrich_failure")  # type: ignore[union-attr]
                            log.debug("step %s failed on %s", name, event.envelope.id, exc_info=True)
                    else:
                        current = process(current)
                    if current is None:
                        drops[name] = drops.get(name, 0) + 1
                        break
            except Exception as exc:
                failed.append((event, exc))
                continue
            if current is not None:
                kept.append(current)
        for name, n in drops.items():
            _dropped(name).inc(n)
            result.dropped += n
        for step in self.steps:
            step.flush()
        return result
