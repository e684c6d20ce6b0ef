"""Records that kill the worker process: simulated by an exception the chain does not catch
(BaseException), which leaves the markers on disk exactly as a dead process would."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition
from pipeline_testkit import make_event

from pipeline.crashguard import CrashGuard, Marker
from pipeline.settings import PipelineSettings
from pipeline.step import Chain, Step
from pipeline.worker import PipelineWorker


class ProcessDied(BaseException):
    """Stands in for SIGSEGV/SIGKILL: nothing in the worker handles it."""


class KillsOn(Step):
    name = "segfaulting_extension"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def process(self, event):
        if self.marker in event.message:
            raise ProcessDied()
        return event


TP = TopicPartition("raw", 0)


def batch(messages: list[str], start: int = 10) -> dict:
    recs = [
        SimpleNamespace(
            topic="raw",
            partition=0,
            offset=start + i,
            key=b"web",
            value=make_event(None, message=m, id=f"id{start + i}").envelope.to_bytes(),
        )
        for i, m in enumerate(messages)
    ]
    return {TP: recs}


async def fresh_worker(state: Path, step: Step) -> PipelineWorker:
    worker = PipelineWorker(PipelineSettings(state_dir=state, max_record_attempts=2), asyncio.Event())
    worker.rules.chain = Chain([step])
    await worker.client.close()
    return worker


async def test_record_that_kills_the_process_is_dead_lettered_after_bounded_deaths(tmp_path: Path) -> None:
    messages = ["ok one", "ok two", "segv here", "ok four"]
    deaths = 0
    for _ in range(10):
        worker = await fresh_worker(tmp_path, KillsOn("segv"))
        try:
            prepared = worker.prepare_batch(batch(messages))
        except ProcessDied:
            deaths += 1
            continue
        break
    else:
        pytest.fail("the crash loop never ended")
    # 1 death in the batch pass, then 2 (= max_record_attempts) on the record itself
    assert deaths == 3
    assert sorted(i.id for i in prepared.items) == ["id10", "id11", "id13"]
    assert [(x.reason_kind, x.offset) for x in prepared.letters] == [("poison", 12)]
    assert "died 2 times" in prepared.letters[0].reason
    assert sorted(r.offset for r in prepared.records) == [10, 11, 12, 13]  # all settle → commit


async def test_healthy_batches_stay_on_the_fast_path(tmp_path: Path) -> None:
    worker = await fresh_worker(tmp_path, KillsOn("never"))
    first = worker.prepare_batch(batch(["a", "b"], start=0))
    second = worker.prepare_batch(batch(["c", "d"], start=2))
    assert len(first.items) == 2 and len(second.items) == 2
    assert CrashGuard(tmp_path / "logharbor-pipeline", 2).read("raw", 0) == Marker(2, 1, False)


def test_guard_markers(tmp_path: Path) -> None:
    guard = CrashGuard(tmp_path, max_attempts=3)
    assert guard.begin_batch("t", 0, 100, 199) is None
    assert guard.read("t", 0) == Marker(100, 1, False)
    # a restarted worker is handed 100..250: the marker lies inside → suspect
    assert guard.begin_batch("t", 0, 100, 250) == Marker(100, 1, False)
    assert guard.begin_record("t", 0, 100, Marker(100, 1, False)) == 1
    assert guard.begin_record("t", 0, 100, Marker(100, 1, True)) == 2
    # a marker behind the batch is stale (already committed): overwritten, not suspect
    assert guard.begin_batch("t", 0, 300, 400) is None


def test_guard_disabled_without_directory() -> None:
    guard = CrashGuard(None, 3)
    assert guard.begin_batch("t", 0, 1, 2) is None and guard.read("t", 0) is None
