"""Worker logic without servers (poison records, envelope errors), the ops endpoint, and
docs/PIPELINE.md kept honest: every step type and every setting is documented."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from types import SimpleNamespace

from aiohttp.test_utils import TestClient, TestServer
from pipeline_testkit import make_event

from pipeline.server import build_app
from pipeline.settings import PipelineSettings
from pipeline.step import Chain, Step
from pipeline.step_kinds import STEP_KINDS
from pipeline.worker import PipelineWorker

DOC = Path(__file__).resolve().parents[3] / "docs" / "PIPELINE.md"


class FailsOnMarker(Step):
    """A buggy step: raises for events whose message contains 'poison', every time."""

    name = "buggy"

    def __init__(self) -> None:
        self.calls = 0

    def process(self, event):
        self.calls += 1
        if "poison" in event.message:
            raise KeyError("boom")
        return event


def record(offset: int, value: bytes) -> SimpleNamespace:
    return SimpleNamespace(topic="raw", partition=0, offset=offset, key=b"web", value=value)


def worker_with(chain: Chain) -> PipelineWorker:
    worker = PipelineWorker(PipelineSettings(max_record_attempts=3, crash_guard=False), asyncio.Event())
    worker.rules.chain = chain
    return worker


async def test_poison_record_retried_then_dead_lettered_others_unharmed() -> None:
    buggy = FailsOnMarker()
    worker = worker_with(Chain([buggy]))
    good = make_event(None, message="fine", id="a")
    bad = make_event(None, message="poison pill", id="b")
    records = [record(0, good.envelope.to_bytes()), record(1, bad.envelope.to_bytes()), record(2, b"{not json")]
    prepared = worker.prepare(records)
    await worker.client.close()
    assert [i.id for i in prepared.items] == ["a"]
    kinds = sorted((letter.reason_kind, letter.offset) for letter in prepared.letters)
    assert kinds == [("envelope", 2), ("processing", 1)]
    poison = next(x for x in prepared.letters if x.reason_kind == "processing")
    assert "KeyError" in poison.reason and poison.event_id == "b" and poison.tenant == "acme"
    assert buggy.calls == 1 + 3  # the good one once, the bad one max_record_attempts times


async def test_ops_endpoints() -> None:
    state = {"ok": False}
    app = build_app(lambda: (state["ok"], {"paused": not state["ok"]}))
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/health")).status == 200
        assert (await client.get("/ready")).status == 503
        state["ok"] = True
        assert (await client.get("/ready")).status == 200
        resp = await client.get("/metrics")
        assert resp.status == 200 and "logharbor_pipeline_consumed_records_total" in await resp.text()


def test_every_step_type_is_documented() -> None:
    text = DOC.read_text()
    for kind in STEP_KINDS:
        assert f"| `{kind}` |" in text, f"step type {kind} missing from docs/PIPELINE.md"


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
