"""Every step kind a rules file can name — one table, in data-flow order.

Vector keeps its component list explicit (``src/sources/mod.rs`` names every source); so does
this file: ``type`` in the rules file → the step's config model (a :class:`~pipeline.step.StepConfig`
whose ``build`` makes the step) and its :class:`~pipeline.step.Step` class. Nothing registers
itself on import; a reader sees here everything that exists.

Adding a step kind: one module with its config model (``type: Literal["my_kind"] = "my_kind"``)
and its step class, tests beside the others, a row in docs/PIPELINE.md's step table, and one
line below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.enrich.correlation import CorrelationConfig, CorrelationStep
from pipeline.enrich.derived import DerivedConfig, DerivedStep
from pipeline.enrich.geoip import GeoIPConfig, GeoIPStep
from pipeline.enrich.lookup import LookupConfig, LookupStep
from pipeline.enrich.metadata import MetadataConfig, MetadataStep
from pipeline.enrich.user_agent import UserAgentConfig, UserAgentStep
from pipeline.filter.drop_content import DropContentConfig, DropContentStep
from pipeline.filter.level_floor import LevelFloorConfig, LevelFloorStep
from pipeline.filter.sample import SampleConfig, SampleStep
from pipeline.filter.source_filter import SourceFilterConfig, SourceFilterStep
from pipeline.logpatterns.flood import FloodConfig, FloodStep
from pipeline.logpatterns.step import PatternsConfig, PatternsStep
from pipeline.parse.extract import ExtractConfig, ExtractStep
from pipeline.parse.step import ParseConfig, ParseStep
from pipeline.redact import RedactConfig, RedactStep
from pipeline.route import RouteConfig, RouteStep
from pipeline.step import Step, StepConfig


@dataclass(frozen=True, slots=True)
class StepKind:
    """One step kind: the model its rules-file entry validates against, and the step it builds."""

    config: type[StepConfig]
    step: type[Step]


STEP_KINDS: dict[str, StepKind] = {
    # parse
    "parse": StepKind(ParseConfig, ParseStep),
    "extract": StepKind(ExtractConfig, ExtractStep),
    # filter
    "source_filter": StepKind(SourceFilterConfig, SourceFilterStep),
    "level_floor": StepKind(LevelFloorConfig, LevelFloorStep),
    "drop_content": StepKind(DropContentConfig, DropContentStep),
    "sample": StepKind(SampleConfig, SampleStep),
    # redact
    "redact": StepKind(RedactConfig, RedactStep),
    # enrich
    "metadata": StepKind(MetadataConfig, MetadataStep),
    "derived": StepKind(DerivedConfig, DerivedStep),
    "geoip": StepKind(GeoIPConfig, GeoIPStep),
    "user_agent": StepKind(UserAgentConfig, UserAgentStep),
    "lookup": StepKind(LookupConfig, LookupStep),
    "correlation": StepKind(CorrelationConfig, CorrelationStep),
    # log patterns (template mining)
    "patterns": StepKind(PatternsConfig, PatternsStep),
    "flood": StepKind(FloodConfig, FloodStep),  # off by default: stores K of a flooding pattern + a summary
    # route
    "route": StepKind(RouteConfig, RouteStep),
}


def parse_step_config(raw: dict[str, Any]) -> StepConfig:
    """Validate one entry of the rules file against its kind's model (errors name the kind)."""
    kind = raw.get("type")
    if kind not in STEP_KINDS:
        known = ", ".join(sorted(STEP_KINDS))
        raise ValueError(f"unknown step type {kind!r}; known types: {known}")
    return STEP_KINDS[kind].config.model_validate(raw)
