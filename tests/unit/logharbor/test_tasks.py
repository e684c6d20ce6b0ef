"""logharbor.tasks.stop_task: cancel, wait, swallow the task's own cancellation, bounded wait."""

from __future__ import annotations

import asyncio
import logging

import pytest

from logharbor.tasks import stop_task


async def test_stops_a_running_loop_and_swallows_its_cancellation() -> None:
    ran = asyncio.Event()

    async def loop() -> None:
        while True:
            ran.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(loop())
    await ran.wait()
    await stop_task(task)
    assert task.cancelled()


async def test_none_and_already_finished_tasks_are_fine() -> None:
    await stop_task(None)

    async def quick() -> int:
        return 7

    task = asyncio.create_task(quick())
    await task
    await stop_task(task)
    assert task.result() == 7


async def test_a_crash_is_not_hidden_by_stopping() -> None:
    async def crash() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(crash())
    await asyncio.wait({task})
    with pytest.raises(ValueError, match="boom"):
        await stop_task(task)


async def test_cleanup_in_the_task_runs_before_stop_returns() -> None:
    cleaned: list[str] = []
    started = asyncio.Event()

    async def loop() -> None:
        try:
            started.set()
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0)  # an await inside the task's own cleanup
            cleaned.append("closed")

    task = asyncio.create_task(loop())
    await started.wait()
    await stop_task(task)
    assert cleaned == ["closed"]


async def _stubborn(started: asyncio.Event, release: asyncio.Event) -> None:
    """A task that ignores every cancel until ``release`` is set."""
    started.set()
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            continue  # ignores the cancel


async def test_a_task_that_ignores_cancel_does_not_hang_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()
    started = asyncio.Event()
    task = asyncio.create_task(_stubborn(started, release), name="stubborn")
    await started.wait()
    with caplog.at_level(logging.WARNING, logger="logharbor.tasks"):
        await stop_task(task, timeout_s=0.05)
    assert not task.done()
    assert "stubborn" in caplog.text and "still running" in caplog.text
    release.set()
    await task  # it ends on its own once released; nothing left behind by the test


async def test_cancelling_the_caller_still_cancels_the_caller() -> None:
    release = asyncio.Event()
    started = asyncio.Event()
    inner = asyncio.create_task(_stubborn(started, release))
    await started.wait()
    caller = asyncio.create_task(stop_task(inner, timeout_s=3600))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    await inner
