"""Stopping a background asyncio task: one way, used by every long-lived loop's ``close``/``stop``.

The gateway's key cache, lag monitor and listeners, the audit writer and the live tail each own
one background task. Stopping it is always the same four steps — cancel, wait for it to finish,
treat its cancellation as the normal outcome, and not hang shutdown on a task that ignores the
cancel — so they live here once (before, five hand-written copies; none bounded the wait, and
all of them also swallowed a cancellation aimed at the *caller*).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0


async def stop_task(task: asyncio.Task[Any] | None, *, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Cancel ``task`` and wait up to ``timeout_s`` for it to end; ``None`` or a finished task is fine.

    Its ``CancelledError`` is the expected end and is not raised. Any other exception the task
    ended with is re-raised (a crash is not hidden by stopping). A task still running after
    ``timeout_s`` is logged and left behind, so shutdown goes on. Cancelling the *caller* while it
    waits still cancels the caller.
    """
    if task is None:
        return
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=timeout_s)
    if not done:
        log.warning("task %s still running %.1f s after it was cancelled; leaving it", task.get_name(), timeout_s)
        return
    exc = None if task.cancelled() else task.exception()
    if exc is not None:
        raise exc
