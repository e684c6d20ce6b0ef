"""What the shipper does with each gateway answer: the status → action decision, as pure functions.

The gateway contract (docs/ARCHITECTURE.md, "Ingest HTTP API") gives every status a meaning;
this module is the one place that turns it into the shipper's action, so the sender's I/O
(:mod:`shipper.sender`) never decides and the decisions are unit-tested without a server
(tests/unit/shipper/test_answers.py):

- 2xx → ``DELIVERED``: the batch is durable at the gateway (per-entry rejections aside).
- 413 → ``SPLIT``: halve the batch and send each half; one event still too large is refused.
- 408, 429, 5xx, no answer at all → ``RETRY`` on the ``retry.delays_s`` schedule (``Retry-After``
  wins when given), then the disk spool; no answer and 5xx also fail over to the next URL.
- 400 → ``POISON``: the gateway says the batch itself is invalid, so resending it can never
  succeed. It is written to a dead-letter file (``data_dir/rejected/``), counted in
  ``batches_poisoned_total`` and ``events_rejected_total``, and never retried or spooled.
- any other 4xx (401, 403, 415, ...) → ``REFUSED``: the same dead-letter file, counted in
  ``batches_refused_total``; the reason (a key problem) is in the file and the log.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


class Action(enum.Enum):
    DELIVERED = "delivered"
    SPLIT = "split"
    RETRY = "retry"
    POISON = "poison"
    REFUSED = "refused"


def action_for(status: int | None) -> Action:
    """The action for an HTTP status; ``None`` means no answer (connection error, timeout)."""
    if status is None:
        return Action.RETRY
    if 200 <= status < 300:
        return Action.DELIVERED
    if status == 413:
        return Action.SPLIT
    if status in (408, 429) or status >= 500:
        return Action.RETRY
    if status == 400:
        return Action.POISON
    return Action.REFUSED


def fails_over(status: int | None) -> bool:
    """Try the next gateway URL after this answer (none at all, or a server error)?"""
    return status is None or status >= 500


def gives_up(attempt: int, schedule_len: int, stopping: bool) -> bool:
    """After ``attempt`` failed tries, stop retrying and spool? (Always when the shipper is stopping.)"""
    return attempt > schedule_len or stopping


def retry_delay(attempt: int, retry_after: float | None, delays_s: Sequence[float], jitter: float,
                max_retry_after_s: float, spread: float) -> float:
    """Seconds to wait before try ``attempt + 1``.

    ``Retry-After`` from the gateway is obeyed (capped at ``max_retry_after_s``); otherwise the
    schedule's delay for this attempt (its last one repeats), widened by ``jitter`` times
    ``spread`` — a number in [-1, 1] the caller draws at random, so this stays deterministic.
    """
    if retry_after is not None:
        return min(retry_after, max_retry_after_s)
    delays = delays_s or [1.0]
    base = delays[min(attempt - 1, len(delays) - 1)]
    return max(0.0, base * (1 + jitter * spread))
