"""Snapshots: repository, create (non-blocking, then polled), list, restore, retention.

OpenSearch's Snapshot Management lives in the index-management plugin the devstack cannot load,
so LogHarbor does scheduling and retention itself on every cluster (see
:mod:`opensearch.snapshot_schedule`). Every snapshot LogHarbor takes carries
``metadata.logharbor = true``; retention only ever deletes snapshots carrying that tag, so
snapshots an operator takes by hand in the same repository are never touched.

Restore refuses to overwrite an open index (OpenSearch would refuse too, but only after the
restore started; we say which indices and how to restore beside them with a rename).
Verify lives in :mod:`opensearch.snapshot_verify`.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from . import lifecycle_audit
from .lifecycle_index import age_seconds

TAG = "logharbor"
DONE_STATES = ("SUCCESS", "PARTIAL", "FAILED", "INCOMPATIBLE")


class SnapshotError(Exception):
    """A snapshot operation that cannot be done, with the reason an operator can act on."""


def repository_exists(client: OpenSearch, repo: str) -> bool:
    if not repo:
        return False
    try:
        return repo in client.snapshot.get_repository(repository=repo)
    except NotFoundError:
        return False


def register_repository(client: OpenSearch, repo: str, location: str) -> dict:
    """``fs`` repository at ``location`` (must be under the nodes' ``path.repo``)."""
    client.snapshot.create_repository(repository=repo, body={"type": "fs", "settings": {
        "location": location, "compress": True}})
    return client.snapshot.get_repository(repository=repo)[repo]


def require_repository(client: OpenSearch, repo: str) -> None:
    if not repository_exists(client, repo):
        raise SnapshotError(
            f"snapshot repository '{repo}' is not registered: `logharbor snapshots repo --location DIR` "
            f"(DIR under the nodes' path.repo) or set lifecycle.snapshot_repository")


def new_name(prefix: str = "logharbor") -> str:
    return f"{prefix}-{datetime.now(UTC).strftime('%Y.%m.%d-%H.%M.%S')}-{secrets.token_hex(3)}"


def create(client: OpenSearch, repo: str, *, indices: str = "logs-*", trigger: str = "manual",
           name: str | None = None, actor: str | None = None) -> str:
    """Start a snapshot (returns at once with its name); poll with :func:`wait`."""
    require_repository(client, repo)
    name = name or new_name()
    client.snapshot.create(repository=repo, snapshot=name, wait_for_completion=False, body={
        "indices": indices, "include_global_state": False, "ignore_unavailable": True, "partial": False,
        "metadata": {TAG: True, "trigger": trigger, "indices": indices, "actor": actor or "logharbor"},
    })
    return name


def info(client: OpenSearch, repo: str, name: str) -> dict[str, Any]:
    try:
        return client.snapshot.get(repository=repo, snapshot=name)["snapshots"][0]
    except NotFoundError as exc:
        raise SnapshotError(f"snapshot '{name}' not found in repository '{repo}'") from exc


def wait(client: OpenSearch, repo: str, name: str, timeout_s: float, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll until the snapshot is done; raises SnapshotError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        snap = info(client, repo, name)
        if snap.get("state") in DONE_STATES:
            return snap
        if time.monotonic() >= deadline:
            raise SnapshotError(f"snapshot '{name}' still {snap.get('state')} after {timeout_s:.0f}s")
        time.sleep(poll_s)


def summary(snap: dict[str, Any]) -> dict[str, Any]:
    """The fields the CLI, API and UI show for one snapshot."""
    meta = snap.get("metadata") or {}
    return {
        "snapshot": snap["snapshot"], "state": snap.get("state"), "logharbor": bool(meta.get(TAG)),
        "trigger": meta.get("trigger"), "start_time": snap.get("start_time"), "end_time": snap.get("end_time"),
        "duration_s": (snap.get("duration_in_millis") or 0) / 1000.0,
        "indices": sorted(snap.get("indices") or []), "data_streams": sorted(snap.get("data_streams") or []),
        "shards": snap.get("shards") or {}, "failures": snap.get("failures") or [],
    }


def list_snapshots(client: OpenSearch, repo: str) -> list[dict[str, Any]]:
    """All snapshots in the repository, oldest first."""
    require_repository(client, repo)
    snaps = client.snapshot.get(repository=repo, snapshot="_all").get("snapshots") or []
    return sorted(snaps, key=lambda s: s.get("start_time_in_millis") or 0)


def latest(client: OpenSearch, repo: str, *, data_stream: str | None = None,
           index: str | None = None) -> dict[str, Any]:
    """The newest successful snapshot (containing ``data_stream``/``index`` when given)."""
    for snap in reversed(list_snapshots(client, repo)):
        if snap.get("state") != "SUCCESS":
            continue
        if data_stream and data_stream not in (snap.get("data_streams") or []):
            continue
        if index and index not in (snap.get("indices") or []):
            continue
        return snap
    what = f" containing {data_stream or index}" if (data_stream or index) else ""
    raise SnapshotError(f"no successful snapshot{what} in repository '{repo}'")


def snapshots_with_index(client: OpenSearch, repo: str, index: str) -> list[str]:
    """Names of successful snapshots holding ``index`` (safe deletion asks this)."""
    return [s["snapshot"] for s in list_snapshots(client, repo)
            if s.get("state") == "SUCCESS" and index in (s.get("indices") or [])]


def delete(client: OpenSearch, repo: str, name: str, *, reason: str = "manual", actor: str | None = None) -> None:
    client.snapshot.delete(repository=repo, snapshot=name)
    lifecycle_audit.record(client, "snapshot_delete", snapshot=name, repository=repo, reason=reason,
                           actor=actor, outcome="deleted")


# ------------------------------------------------------------------------------------------ restore

@dataclass
class RestorePlan:
    snapshot: str
    data_streams: list[str]
    indices: list[str]
    targets: dict[str, str]  # source name -> name after rename
    conflicts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot, "data_streams": self.data_streams, "indices": self.indices,
                "targets": self.targets, "conflicts": self.conflicts, "ok": not self.conflicts}


def _renamed(name: str, pattern: str | None, replacement: str | None) -> str:
    if not pattern:
        return name
    # OpenSearch uses Java's $1 group syntax; Python's re wants \1
    return re.sub(pattern, re.sub(r"\$(\d+)", r"\\\1", replacement or ""), name)


def plan_restore(client: OpenSearch, repo: str, snapshot: str, *, data_streams: list[str] | None = None,
                 indices: list[str] | None = None, rename_pattern: str | None = None,
                 rename_replacement: str | None = None) -> RestorePlan:
    """What a restore would bring back under which names, and which open indices are in the way."""
    snap = info(client, repo, snapshot)
    have_ds = set(snap.get("data_streams") or [])
    have_ix = set(snap.get("indices") or [])
    want_ds = sorted(data_streams or [])
    want_ix = sorted(indices or [])
    if not want_ds and not want_ix:
        want_ds, want_ix = sorted(have_ds), []
    missing = [d for d in want_ds if d not in have_ds] + [i for i in want_ix if i not in have_ix]
    if missing:
        raise SnapshotError(f"snapshot '{snapshot}' does not contain {', '.join(missing)}")
    sources = set(want_ix)
    for ds in want_ds:
        sources.update(i for i in have_ix if i.startswith(f".ds-{ds}-"))
    targets = {s: _renamed(s, rename_pattern, rename_replacement) for s in sorted(sources)}
    for ds in want_ds:
        targets[ds] = _renamed(ds, rename_pattern, rename_replacement)
    plan = RestorePlan(snapshot, want_ds, sorted(sources), targets)
    for src in sorted(sources):
        rows = client.cat.indices(index=targets[src], format="json", h="index,status", expand_wildcards="all",
                                  ignore=[404])
        if isinstance(rows, list):
            plan.conflicts += [r["index"] for r in rows if r.get("status") == "open"]
    return plan


def restore(client: OpenSearch, repo: str, plan: RestorePlan, *, rename_pattern: str | None = None,
            rename_replacement: str | None = None, wait_for_completion: bool = True,
            actor: str | None = None) -> dict[str, Any]:
    """Run a plan from :func:`plan_restore`; refuses when an open index would be overwritten."""
    if plan.conflicts:
        raise SnapshotError(
            f"refusing to overwrite open indices {', '.join(plan.conflicts)}: delete or close them first, or "
            f"restore beside them with --rename-pattern '(.+)' --rename-replacement 'restored-$1'")
    names = plan.data_streams + [i for i in plan.indices
                                 if not any(i.startswith(f".ds-{d}-") for d in plan.data_streams)]
    body: dict[str, Any] = {"indices": ",".join(names), "include_global_state": False, "include_aliases": False}
    if rename_pattern:
        body.update(rename_pattern=rename_pattern, rename_replacement=rename_replacement or "")
    started = time.monotonic()
    res = client.snapshot.restore(repository=repo, snapshot=plan.snapshot, body=body,
                                  wait_for_completion=wait_for_completion)
    lifecycle_audit.record(client, "restore", snapshot=plan.snapshot, repository=repo, actor=actor,
                           outcome="restored" if wait_for_completion else "started",
                           duration_s=round(time.monotonic() - started, 3),
                           detail=", ".join(plan.targets.values()))
    return res


# ---------------------------------------------------------------------------------------- retention

def apply_retention(client: OpenSearch, repo: str, *, max_count: int, max_age: str, min_count: int,
                    now: float | None = None) -> list[str]:
    """Delete LogHarbor-tagged snapshots beyond ``max_count`` or older than ``max_age``, always
    keeping the newest ``min_count`` successful ones; returns the names deleted."""
    now = time.time() if now is None else now
    ours = [s for s in list_snapshots(client, repo) if (s.get("metadata") or {}).get(TAG)
            and s.get("state") in DONE_STATES]
    keep_success = [s["snapshot"] for s in ours if s.get("state") == "SUCCESS"][-min_count:] if min_count else []
    max_age_s = age_seconds(max_age)
    doomed: list[str] = []
    newest_first = list(reversed(ours))
    for pos, snap in enumerate(newest_first):
        name = snap["snapshot"]
        if name in keep_success:
            continue
        age = now - (snap.get("start_time_in_millis") or 0) / 1000.0
        if pos >= max_count or age > max_age_s:
            doomed.append(name)
    for name in doomed:
        delete(client, repo, name, reason="snapshot retention")
    return doomed
