"""Demo data (ops/demo.py): the files are what the shipper and pipeline really read, and the ECS
documents used for screenshots are correlated the way the event viewer expects."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ops.demo import DemoWriter, ecs_documents, shipper_config
from pipeline.parse.detect import PARSERS, detect
from shipper.config import parse_config

START = re.compile(r"^\d{4}-\d{2}-\d{2} ")  # the multiline start pattern written into shipper.yaml


def test_written_files_parse_with_the_pipeline_parsers(tmp_path: Path) -> None:
    writer = DemoWriter(tmp_path, rate=100, seed=5)
    writer.write_batch(3000, now=datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    writer.close()
    nginx = (tmp_path / "nginx/access.log").read_text().splitlines()
    assert nginx and all(PARSERS["nginx"](line) for line in nginx)
    payments = (tmp_path / "payments/payments.json.log").read_text().splitlines()
    assert payments and all(PARSERS["json"](line)["trace_id"] for line in payments)
    assert {json.loads(line)["level"] for line in payments} >= {"INFO", "ERROR"}
    for name in ("orders/app.log", "auth/auth.log"):
        lines = (tmp_path / name).read_text().splitlines()
        starts = [line for line in lines if not line.startswith(("\t", "java.", "com."))]
        assert starts and all(detect(line)[0] == "app" for line in starts), name
    orders = (tmp_path / "orders/app.log").read_text()
    traces = [m.start() for m in re.finditer(r"^java\.", orders, re.M)]
    assert traces  # stack traces exist, and their lines are continuations for the shipper's multiline rule
    assert not any(START.match(line) for line in orders[traces[0]:].splitlines()[1:4])


def test_shipper_config_is_valid(tmp_path: Path) -> None:
    text = shipper_config(tmp_path, "http://127.0.0.1:8088", "lh_live_x", tmp_path / "state")
    import yaml

    cfg = parse_config(yaml.safe_load(text))
    assert [s.name for s in cfg.sources] == ["web-api", "orders", "auth", "payments"]


def test_ecs_documents_are_correlated_and_shaped_like_the_pipeline_output() -> None:
    end = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    docs = list(ecs_documents(end - timedelta(days=1), end, 2000, seed=1))
    assert len({d["event"]["id"] for d in docs}) == len(docs)
    assert all(end - timedelta(days=1) <= datetime.fromisoformat(d["@timestamp"]) < end for d in docs)
    services = Counter(d["service"]["name"] for d in docs)
    assert set(services) == {"web-api", "orders", "auth", "payments"}
    levels = Counter(d["log"]["level"] for d in docs)
    assert levels["ERROR"] and levels["WARN"] and levels["INFO"] > levels["ERROR"]
    by_request: dict[str, set[str]] = {}
    for d in docs:
        rid = d.get("http", {}).get("request", {}).get("id")
        if rid:
            by_request.setdefault(rid, set()).add(d["service"]["name"])
    assert any(s >= {"web-api", "orders", "payments"} for s in by_request.values())  # a checkout, end to end
    assert any("stack_trace" in d.get("error", {}) for d in docs)
