"""Scheduled snapshots: a croniter schedule in a time zone, one scheduler at a time.

Any number of processes may run the scheduler (``logharbor run`` on every node, or
``logharbor snapshots schedule --run``); only the holder of the ``snapshot-scheduler`` lease
acts, and each due slot is additionally claimed with an ``op_type=create`` document
(``snapshot-slot:<time>``), so a slot is taken at most once even while the lease changes hands.
A run starts the snapshot without blocking, polls its state up to
``lifecycle.snapshot_timeout_s``, writes a run-history record (lifecycle audit, kind
``snapshot``), applies snapshot retention and, if configured, verifies the new snapshot.

:func:`snapshot_health` is the fact the alerting package and ``/api/v1/status`` read.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from opensearchpy import ConflictError, OpenSearch

from . import lifecycle_audit, snapshot_verify, snapshots
from .lease import LEASE_INDEX, Lease, _ensure_index
from .lifecycle_settings import LifecycleSettings

log = logging.getLogger(__name__)
LEASE_NAME = "snapshot-scheduler"


def next_slots(schedule: str, tz: str, after: float, count: int = 1) -> list[float]:
    """The next ``count`` due times (epoch seconds) of ``schedule`` in time zone ``tz``."""
    it = croniter(schedule, datetime.fromtimestamp(after, ZoneInfo(tz)))
    return [it.get_next(float) for _ in range(count)]


def claim_slot(client: OpenSearch, slot: float, holder: str) -> bool:
    """True for exactly one caller per slot (create-only document)."""
    _ensure_index(client)
    try:
        client.index(index=LEASE_INDEX, id=f"snapshot-slot:{slot:.0f}", op_type="create", refresh="true",
                     body={"kind": "snapshot-slot", "holder": holder, "acquired_at": time.time(),
                                "expires_at": slot})
        return True
    except ConflictError:
        return False


def run_snapshot(client: OpenSearch, settings: LifecycleSettings, *, trigger: str = "schedule",
                 holder: str | None = None, verify: bool | None = None) -> dict[str, Any]:
    """Create, poll to completion (bounded), record the run, apply retention, maybe verify."""
    repo = settings.snapshot_repository
    started = time.monotonic()
    name = None
    try:
        name = snapshots.create(client, repo, indices=settings.snapshot_indices, trigger=trigger, actor=holder)
        snap = snapshots.wait(client, repo, name, settings.snapshot_timeout_s)
        state = snap.get("state")
        detail = "; ".join(str(f.get("reason")) for f in snap.get("failures") or [])[:2000] or None
    except Exception as exc:
        state, detail = "ERROR", f"{type(exc).__name__}: {exc}"
    run = lifecycle_audit.record(client, "snapshot", snapshot=name, repository=repo, outcome=state,
                                 reason=trigger, actor=holder, duration_s=round(time.monotonic() - started, 3),
                                 detail=detail)
    if state == "SUCCESS":
        run["retention_deleted"] = snapshots.apply_retention(
            client, repo, max_count=settings.snapshot_max_count, max_age=settings.snapshot_max_age,
            min_count=settings.snapshot_min_count)
        if settings.verify_after_snapshot if verify is None else verify:
            run["verify"] = snapshot_verify.verify(client, repo, snapshot=name, sample=settings.verify_sample,
                                                   actor=holder)
    return run


class SnapshotScheduler:
    """The loop: hold the lease, sleep to the next slot, claim it, run the snapshot."""

    def __init__(self, client: OpenSearch, settings: LifecycleSettings | None = None,
                 schedule: str | None = None, on_run: Callable[[dict], None] | None = None) -> None:
        self.client = client
        self.settings = settings or LifecycleSettings()
        self.schedule = schedule or self.settings.snapshot_schedule
        if not croniter.is_valid(self.schedule):
            raise ValueError(f"lifecycle.snapshot_schedule '{self.schedule}' is not a cron expression")
        ZoneInfo(self.settings.snapshot_timezone)  # fails early on an unknown zone
        self.lease = Lease(client, LEASE_NAME, ttl_s=self.settings.lease_ttl_s)
        self.on_run = on_run or (lambda run: None)
        self.runs: list[dict] = []

    def run_forever(self, stop: threading.Event) -> None:
        after = time.time()
        while not stop.is_set():
            slot = next_slots(self.schedule, self.settings.snapshot_timezone, after)[0]
            # renew the lease while waiting, so a dead holder is replaced within one ttl
            while not stop.is_set() and time.time() < slot:
                self._renew()
                stop.wait(min(max(0.0, slot - time.time()), self.settings.lease_ttl_s / 3))
            if stop.is_set():
                break
            after = slot
            try:
                if self._renew() and claim_slot(self.client, slot, self.lease.holder):
                    run = run_snapshot(self.client, self.settings, holder=self.lease.holder)
                    self.runs.append(run)
                    self.on_run(run)
            except Exception as exc:  # keep the schedule through a cluster outage
                log.warning("snapshot scheduler: run at %s failed (%s)", slot, exc)
        self.lease.release()

    def _renew(self) -> bool:
        try:
            return self.lease.acquire()
        except Exception as exc:
            log.warning("snapshot scheduler: lease renewal failed (%s)", exc)
            return False


def snapshot_health(client: OpenSearch, settings: LifecycleSettings | None = None) -> dict[str, Any]:
    """Facts for ``/api/v1/status`` and alert rules: last run, last success, last verify.

    ``failing`` is true when the latest snapshot run or the latest verify did not succeed.
    """
    settings = settings or LifecycleSettings()
    repo = settings.snapshot_repository
    out: dict[str, Any] = {"repository": repo, "configured": snapshots.repository_exists(client, repo)}
    runs = lifecycle_audit.search(client, kind="snapshot", size=20)
    last = runs[0] if runs else None
    out["last_run"] = last
    out["last_success"] = next((r for r in runs if r.get("outcome") == "SUCCESS"), None)
    out["last_verify"] = snapshot_verify.last_verify(client)
    lease = Lease(client, LEASE_NAME).current()
    out["scheduler"] = lease if lease and float(lease.get("expires_at", 0)) > time.time() else None
    out["failing"] = bool((last and last.get("outcome") != "SUCCESS") or
                          (out["last_verify"] and out["last_verify"].get("outcome") != "ok"))
    return out
