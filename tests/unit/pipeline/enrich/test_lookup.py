"""pipeline/enrich/lookup.py: CSV and JSON tables, reloaded when the file changes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pipeline_testkit import make_event

from pipeline.enrich.lookup import LookupConfig, LookupStep


def test_lookup_csv_and_reload(tmp_path: Path) -> None:
    table = tmp_path / "services.csv"
    table.write_text("service,team,tier\nweb,frontend,1\napi,backend,0\n")
    step = LookupStep(LookupConfig(path=table, key_field="service.name", prefix="labels.", reload_interval_s=0.0))
    doc = step.process(make_event(None, message="m", source="api")).doc
    assert doc["labels.team"] == "backend" and doc["labels.tier"] == "0"
    assert "labels.team" not in step.process(make_event(None, message="m", source="batch")).doc
    table.write_text("service,team,tier\napi,platform,2\n")
    os.utime(table, (time.time() + 5, time.time() + 5))
    assert step.process(make_event(None, message="m", source="api")).doc["labels.team"] == "platform"


def test_lookup_json(tmp_path: Path) -> None:
    table = tmp_path / "t.json"
    table.write_text(json.dumps([{"code": "E42", "meaning": "disk full"}]))
    step = LookupStep(LookupConfig(path=table, key_field="error.code", key_column="code"))
    ev = make_event(None, message="m")
    ev.doc["error.code"] = "E42"
    assert step.process(ev).doc["meaning"] == "disk full"
