"""The rules file: an ordered list of step configs → a :class:`~pipeline.step.Chain`.

The file is re-read when its mtime changes (checked at most every ``rules_reload_interval_s``).
A broken edit never takes the pipeline down: the error is logged and counted, and the last
good chain keeps running. At start-up a broken file is a configuration error (fail fast).
"""

from __future__ import annotations

import logging
import time
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from logharbor.config import ConfigError
from pipeline import metrics
from pipeline.settings import PipelineSettings
from pipeline.step import Chain, StepConfig
from pipeline.step_kinds import parse_step_config

log = logging.getLogger(__name__)


def default_rules_text() -> str:
    return resources.files("pipeline").joinpath("default_rules.yaml").read_text()


def parse_rules(text: str, origin: str = "rules") -> list[StepConfig]:
    """Validate a rules document; errors say which step (by position and type) is wrong."""
    data: Any = yaml.safe_load(text) or {}
    steps = data.get("steps") if isinstance(data, dict) else data
    if not isinstance(steps, list):
        raise ConfigError(f"{origin}: expected a top-level 'steps:' list of step configs")
    configs = []
    for i, raw in enumerate(steps):
        if not isinstance(raw, dict):
            raise ConfigError(f"{origin}: step #{i + 1} must be a mapping with a 'type'")
        try:
            configs.append(parse_step_config(raw))
        except (ValidationError, ValueError) as exc:
            raise ConfigError(f"{origin}: step #{i + 1} (type {raw.get('type')!r}): {exc}") from exc
    return configs


def build_chain(configs: list[StepConfig], settings: PipelineSettings) -> Chain:
    steps = []
    for i, cfg in enumerate(configs):
        try:
            steps.append(cfg.build(settings))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"step #{i + 1} (type {cfg.type!r}): {exc}") from exc
    return Chain(steps)


def load_chain(settings: PipelineSettings, text: str | None = None) -> Chain:
    """The chain from ``text``, else the rules file in settings, else the built-in defaults."""
    if text is None:
        path = settings.rules_path
        text = path.read_text() if path else default_rules_text()
        origin = str(path) if path else "default_rules.yaml"
    else:
        origin = "rules"
    return build_chain(parse_rules(text, origin), settings)


class RulesWatcher:
    """Holds the current chain and swaps it when the rules file changes."""

    def __init__(self, settings: PipelineSettings) -> None:
        self.settings = settings
        self.path: Path | None = settings.rules_path
        if self.path is not None and not self.path.exists():
            raise ConfigError(f"pipeline.rules_path {self.path} does not exist")
        self._mtime = self.path.stat().st_mtime if self.path else 0.0
        self.chain = load_chain(settings)
        self._checked = time.monotonic()

    def current(self) -> Chain:
        """The chain to use for the next batch (re-reads the file if it changed)."""
        if self.path is None:
            return self.chain
        now = time.monotonic()
        if now - self._checked < self.settings.rules_reload_interval_s:
            return self.chain
        self._checked = now
        try:
            mtime = self.path.stat().st_mtime
        except OSError:
            return self.chain
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                self.chain = load_chain(self.settings)
                metrics.RULE_RELOADS.labels("ok").inc()
                log.info("pipeline rules reloaded from %s (%d steps)", self.path, len(self.chain.steps))
            except (ConfigError, OSError, yaml.YAMLError) as exc:
                metrics.RULE_RELOADS.labels("error").inc()
                log.error("pipeline rules %s not reloaded, keeping the previous ones: %s", self.path, exc)
        return self.chain
