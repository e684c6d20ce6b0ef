"""Health conditions over cluster facts rather than indexed events: disk and snapshots.

Issue 14 wants a storage-capacity rule and issue 15 an alert on failed snapshots; both signals
already exist as facts the lifecycle work computes (:func:`opensearch.disk_monitor.disk_health`,
:func:`opensearch.snapshot_schedule.snapshot_health`). Re-deriving them from a log query would
fork their logic, so condition types ``storage`` and ``snapshot`` read those facts and turn them
into one number per window; the ordinary state machine (for, grace, throttle, silences) does the
rest, exactly like ``lag``. The value functions are pure so they are unit-tested on their own.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opensearchpy import OpenSearch

FACT_TYPES = ("storage", "snapshot")
# storage value: the worst node's watermark level; a flood-stage block counts as flood and the
# cluster-wide create-index block (all nodes past high) as high even if a node looks better.
STORAGE_LEVELS = {"ok": 0.0, "low": 1.0, "high": 2.0, "flood": 3.0}


def storage_value(health: dict[str, Any]) -> float:
    """0 ok, 1 low, 2 high (or index creation blocked), 3 flood (or ingest blocked)."""
    level = STORAGE_LEVELS.get(str(health.get("state") or "ok"), 0.0)
    if health.get("create_index_blocked"):
        level = max(level, STORAGE_LEVELS["high"])
    if health.get("blocked_indices"):
        level = max(level, STORAGE_LEVELS["flood"])
    return level


def snapshot_value(health: dict[str, Any]) -> float:
    """1 while snapshot_health says failing (last run not SUCCESS or last verify failed), else 0."""
    return 1.0 if health.get("failing") else 0.0


def read_fact(client: OpenSearch, kind: str) -> float:
    """The current value of a fact condition (blocking: the lifecycle functions are synchronous)."""
    if kind == "storage":
        from opensearch.disk_monitor import disk_health

        return storage_value(disk_health(client))
    if kind == "snapshot":
        from opensearch.snapshot_schedule import snapshot_health

        return snapshot_value(snapshot_health(client))
    raise ValueError(f"condition.type {kind!r} is not a fact condition (one of {', '.join(FACT_TYPES)})")


async def observe_fact(client: OpenSearch, kind: str) -> dict[str, tuple[dict[str, Any], float | None]]:
    """The evaluator's observation for one window: the single ``*`` group and its value."""
    return {"*": ({}, await asyncio.to_thread(read_fact, client, kind))}
