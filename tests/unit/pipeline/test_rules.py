"""pipeline/rules.py: the built-in rules parse, unknown step types explained, hot reload by mtime (a bad
edit keeps the old chain), a missing rules file fails fast."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from pipeline_testkit import make_event

from logharbor.config import ConfigError
from pipeline.rules import RulesWatcher, default_rules_text, parse_rules
from pipeline.settings import PipelineSettings

RULES_V1 = """
steps:
  - type: parse
  - type: drop_content
    name: drop_foo
    contains: [foo]
  - type: route
"""
RULES_V2 = RULES_V1.replace("foo", "bar")


def _touch_later(path: Path, text: str) -> None:
    path.write_text(text)
    later = time.time() + 10
    os.utime(path, (later, later))


def test_default_rules_parse() -> None:
    kinds = [c.type for c in parse_rules(default_rules_text())]
    assert kinds[0] == "parse" and kinds[-1] == "route" and "redact" in kinds


def test_unknown_step_type_is_explained() -> None:
    with pytest.raises(ConfigError, match=r"step #1.*unknown step type 'grok'"):
        parse_rules("steps:\n  - type: grok\n")
    with pytest.raises(ConfigError, match=r"(?s)step #2.*extra_option"):
        parse_rules("steps:\n  - type: parse\n  - type: redact\n    extra_option: 1\n")


def test_hot_reload_by_mtime_and_bad_edit_keeps_old_chain(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_V1)
    watcher = RulesWatcher(PipelineSettings(rules_path=path, rules_reload_interval_s=0.001))
    assert watcher.current().run([make_event("foo happened", fmt="text")]).kept == []

    _touch_later(path, RULES_V2)
    time.sleep(0.01)
    chain = watcher.current()
    assert chain.run([make_event("foo happened", fmt="text")]).kept
    assert chain.run([make_event("bar happened", fmt="text")]).kept == []

    path.write_text("steps:\n  - type: nonsense\n")
    os.utime(path, (time.time() + 20, time.time() + 20))
    time.sleep(0.01)
    assert watcher.current() is chain  # broken edit: previous chain stays


def test_missing_rules_file_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        RulesWatcher(PipelineSettings(rules_path=tmp_path / "nope.yaml"))
