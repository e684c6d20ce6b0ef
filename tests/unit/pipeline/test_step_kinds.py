"""The table of step kinds: each row names its own ``type``, builds its own step class, and an
unknown ``type`` is refused with the list of known ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig
from pipeline.step_kinds import STEP_KINDS, parse_step_config

DOC = Path(__file__).resolve().parents[3] / "docs" / "PIPELINE.md"

# Kinds whose bare config needs an option of the operator's to validate.
NEEDS_OPTIONS = {"lookup"}  # path: a CSV/JSON file


@pytest.mark.parametrize("name", sorted(STEP_KINDS))
def test_row_is_consistent(name: str) -> None:
    kind = STEP_KINDS[name]
    assert issubclass(kind.config, StepConfig) and issubclass(kind.step, Step)
    assert kind.config.model_fields["type"].default == name
    cfg = parse_step_config({"type": name}) if name not in NEEDS_OPTIONS else None
    if cfg is not None:
        assert type(cfg) is kind.config
        assert isinstance(cfg.build(PipelineSettings()), kind.step)


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as info:
        parse_step_config({"type": "nope"})
    assert "unknown step type 'nope'" in str(info.value)
    for name in STEP_KINDS:
        assert name in str(info.value)


def test_no_step_module_registers_itself() -> None:
    import pipeline.step as step

    assert not hasattr(step, "register") and not hasattr(step, "STEP_TYPES")


def test_every_step_type_is_documented() -> None:
    text = DOC.read_text()
    for kind in STEP_KINDS:
        assert f"| `{kind}` |" in text, f"step type {kind} missing from docs/PIPELINE.md"
