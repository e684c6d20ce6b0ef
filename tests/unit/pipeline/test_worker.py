"""pipeline/worker.py without servers: a poison record is retried then dead-lettered, envelope errors
dead-lettered, the others unharmed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from pipeline_testkit import make_event

from pipeline.settings import PipelineSettings
from pipeline.step import Chain, Step
from pipeline.worker import PipelineWorker


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
