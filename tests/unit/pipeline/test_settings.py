"""pipeline/settings.py: every setting documented in docs/PIPELINE.md; read from the YAML section and the env."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.settings import PipelineSettings

DOC = Path(__file__).resolve().parents[3] / "docs" / "PIPELINE.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"`(\w+)`", text))
    missing = [name for name in PipelineSettings.model_fields if name not in documented]
    assert missing == []


def test_settings_from_yaml_section_and_env(tmp_path, monkeypatch) -> None:
    from logharbor.config import _load_yaml

    cfg = tmp_path / "logharbor.yaml"
    cfg.write_text("pipeline:\n  http_port: 9999\n  default_timezone: Europe/Berlin\n")
    monkeypatch.setenv("LOGHARBOR_CONFIG", str(cfg))
    monkeypatch.setenv("LOGHARBOR_PIPELINE_WORKERS", "3")
    _load_yaml.cache_clear()
    try:
        s = PipelineSettings()
        assert (s.http_port, s.default_timezone, s.workers) == (9999, "Europe/Berlin", 3)
    finally:
        _load_yaml.cache_clear()
