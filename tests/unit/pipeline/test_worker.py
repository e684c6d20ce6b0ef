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


class _FakeIndexer:
    """Bulks that finish when the test says so (the sink's ordering is what is under test)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def index(self, items):
        name = items[0]
        self.started.append(name)
        self.release[name] = asyncio.Event()
        await self.release[name].wait()
        if name == "boom":
            from pipeline.indexer import Stopping

            raise Stopping()
        return items


def _sink_worker(concurrency: int) -> tuple[PipelineWorker, _FakeIndexer, list[str]]:
    worker = PipelineWorker(PipelineSettings(crash_guard=False, sink_concurrency=concurrency), asyncio.Event())
    fake = _FakeIndexer()
    worker.indexer = fake  # type: ignore[assignment]
    log: list[str] = []

    async def finish(prepared) -> None:
        log.append("finish " + prepared.items[0])

    async def commit() -> None:
        log.append("commit")

    worker.finish = finish  # type: ignore[method-assign]
    worker.commit = commit  # type: ignore[method-assign]
    return worker, fake, log


async def _until(cond) -> None:
    for _ in range(200):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def test_sink_overlaps_bulks_but_finishes_batches_in_order() -> None:
    worker, fake, log = _sink_worker(2)
    queue: asyncio.Queue = asyncio.Queue()
    for name in ("b1", "b2", "b3"):
        queue.put_nowait(SimpleNamespace(items=[name]))
    sink = asyncio.create_task(worker._sink(queue))
    await _until(lambda: fake.started == ["b1", "b2"])  # two bulks in flight at once
    await asyncio.sleep(0.02)
    assert fake.started == ["b1", "b2"]  # the third waits for a slot
    fake.release["b2"].set()  # the second bulk answers first ...
    await asyncio.sleep(0.02)
    assert log == []  # ... but nothing finishes before the first batch
    fake.release["b1"].set()
    await _until(lambda: log == ["finish b1", "commit", "finish b2", "commit"])
    await _until(lambda: fake.started == ["b1", "b2", "b3"])  # b1's slot went to b3 once b1 finished
    fake.release["b3"].set()
    await asyncio.wait_for(queue.join(), 1)
    assert log[-2:] == ["finish b3", "commit"]
    sink.cancel()
    await worker.client.close()


async def test_sink_failure_surfaces_as_itself() -> None:
    from pipeline.indexer import Stopping

    worker, fake, log = _sink_worker(2)
    queue: asyncio.Queue = asyncio.Queue()
    queue.put_nowait(SimpleNamespace(items=["boom"]))
    sink = asyncio.create_task(worker._sink(queue))
    await _until(lambda: "boom" in fake.release)
    fake.release["boom"].set()
    try:
        await asyncio.wait_for(sink, 1)
    except Stopping:
        pass
    else:
        raise AssertionError("the sink swallowed the bulk's failure")
    assert log == []  # a failed batch is neither finished nor committed
    await worker.client.close()
