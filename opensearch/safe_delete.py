"""Safe deletion of backing indices, legal holds, and the audit record of every deletion.

Why: a retention change or a bug in a policy must not destroy data irrecoverably in one run.
So an expired (or over-budget) backing index is deleted only

* when a snapshot repository is configured: once it is in a successful snapshot (if it is not
  yet, a ``pre-delete`` snapshot of just that index is taken first), or
* without a repository: after a grace period (``lifecycle.grace_period``, default 24 h) during
  which it is *closed* and marked (a ``pending:<index>`` document); if the policy changes
  meanwhile so that it is no longer due, or a legal hold is set, it is reopened.

Emergency retention (disk protection) skips the grace period, but still snapshots first when a
repository exists. A data stream under legal hold is never deleted by anything. Each deletion
writes one lifecycle-audit record *before* the index is deleted (index, data stream, docs,
bytes freed, reason, policy, snapshot id), so no deletion goes unrecorded.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from . import lifecycle_audit, snapshots
from .lifecycle_index import LIFECYCLE_INDEX, age_seconds
from .lifecycle_index import ensure_lifecycle_index as _ensure_index
from .lifecycle_settings import LifecycleSettings

# ------------------------------------------------------------------------------------ legal hold

def holds(client: OpenSearch) -> dict[str, dict[str, Any]]:
    """Data streams under legal hold → the hold document (reason, actor, set_at)."""
    _ensure_index(client)
    client.indices.refresh(index=LIFECYCLE_INDEX)
    res = client.search(index=LIFECYCLE_INDEX, body={"size": 1000, "query": {"term": {"type": "hold"}}})
    return {h["_source"]["name"]: h["_source"] for h in res["hits"]["hits"]}


def set_hold(client: OpenSearch, data_stream: str, *, reason: str, actor: str | None = None) -> dict[str, Any]:
    _ensure_index(client)
    doc = {"type": "hold", "name": data_stream, "reason": reason, "actor": actor, "set_at": time.time()}
    client.index(index=LIFECYCLE_INDEX, id=f"hold:{data_stream}", body=doc, refresh="wait_for")
    lifecycle_audit.record(client, "legal_hold", data_stream=data_stream, outcome="set", actor=actor, detail=reason)
    return doc


def clear_hold(client: OpenSearch, data_stream: str, *, actor: str | None = None) -> bool:
    _ensure_index(client)
    res = client.delete(index=LIFECYCLE_INDEX, id=f"hold:{data_stream}", refresh="wait_for", ignore=[404])
    cleared = res.get("result") == "deleted"
    if cleared:
        lifecycle_audit.record(client, "legal_hold", data_stream=data_stream, outcome="cleared", actor=actor)
    return cleared


# ------------------------------------------------------------------------------- pending deletions

def pending(client: OpenSearch) -> dict[str, dict[str, Any]]:
    """Indices closed and marked for deletion → their mark (closed_at, docs, bytes, reason)."""
    _ensure_index(client)
    client.indices.refresh(index=LIFECYCLE_INDEX)
    res = client.search(index=LIFECYCLE_INDEX, body={"size": 10000, "query": {"term": {"type": "pending_delete"}}})
    return {h["_source"]["index"]: h["_source"] for h in res["hits"]["hits"]}


def index_figures(client: OpenSearch, index: str) -> tuple[int, int]:
    """(docs, store bytes incl. replicas) of an open index; (0, 0) when unknown."""
    rows = client.cat.indices(index=index, format="json", h="index,docs.count,store.size", bytes="b",
                              expand_wildcards="all", ignore=[404])
    if not isinstance(rows, list) or not rows:
        return 0, 0
    return int(rows[0].get("docs.count") or 0), int(rows[0].get("store.size") or 0)


@dataclass
class Outcome:
    index: str
    action: str  # deleted | closed | waiting | held | reopened
    detail: str = ""
    bytes_freed: int = 0
    docs: int = 0
    snapshot: str | None = None
    due_at: float | None = None


def _snapshot_of(client: OpenSearch, settings: LifecycleSettings, index: str, reason: str) -> str:
    """A successful snapshot holding ``index``: an existing one, else one taken now."""
    repo = settings.snapshot_repository
    have = snapshots.snapshots_with_index(client, repo, index)
    if have:
        return have[-1]
    name = snapshots.create(client, repo, indices=index, trigger=f"pre-delete:{reason}")
    snap = snapshots.wait(client, repo, name, settings.snapshot_timeout_s)
    lifecycle_audit.record(client, "snapshot", snapshot=name, repository=repo, outcome=snap.get("state"),
                           reason=f"pre-delete:{reason}", index=index,
                           duration_s=(snap.get("duration_in_millis") or 0) / 1000.0)
    if snap.get("state") != "SUCCESS":
        raise snapshots.SnapshotError(f"pre-delete snapshot {name} of {index} ended {snap.get('state')}")
    return name


def delete_now(client: OpenSearch, index: str, data_stream: str | None, *, reason: str, policy: str | None,
               snapshot: str | None, docs: int | None = None, size: int | None = None,
               actor: str = "lifecycle") -> Outcome:
    """Audit, then delete (the audit write raises if it fails, so nothing is deleted unrecorded)."""
    if docs is None or size is None:
        docs, size = index_figures(client, index)
    lifecycle_audit.record(client, "deletion", index=index, data_stream=data_stream, docs=docs, bytes_freed=size,
                           reason=reason, policy=policy, snapshot=snapshot, actor=actor, outcome="deleted")
    client.indices.delete(index=index, expand_wildcards="all", ignore=[404])
    client.delete(index=LIFECYCLE_INDEX, id=f"pending:{index}", ignore=[404], refresh="wait_for")
    return Outcome(index, "deleted", reason, size, docs, snapshot)


def request_delete(client: OpenSearch, index: str, data_stream: str | None, *, reason: str,
                   policy: str | None, settings: LifecycleSettings, now: float | None = None,
                   repo_configured: bool | None = None, held: set[str] | None = None,
                   emergency: bool = False) -> Outcome:
    """One step of safe deletion for a non-write backing index that is due; idempotent per run."""
    now = time.time() if now is None else now
    held = holds(client).keys() if held is None else held
    if data_stream in held:
        return Outcome(index, "held", f"data stream {data_stream} is under legal hold")
    if repo_configured is None:
        repo_configured = snapshots.repository_exists(client, settings.snapshot_repository)
    marks = pending(client)
    mark = marks.get(index)
    if repo_configured:
        if mark is not None:  # closed earlier (no repository then): reopen so it can be snapshotted
            client.indices.open(index=index, expand_wildcards="all", wait_for_active_shards=1)
        snap = _snapshot_of(client, settings, index, reason)
        return delete_now(client, index, data_stream, reason=reason, policy=policy, snapshot=snap)
    if emergency:
        docs, size = (mark["docs"], mark["bytes"]) if mark else index_figures(client, index)
        return delete_now(client, index, data_stream, reason=reason, policy=policy, snapshot=None, docs=docs,
                          size=size)
    grace = age_seconds(settings.grace_period)
    if mark is None:
        docs, size = index_figures(client, index)
        client.indices.close(index=index, expand_wildcards="all")
        _ensure_index(client)
        client.index(index=LIFECYCLE_INDEX, id=f"pending:{index}", refresh="wait_for", body={
            "type": "pending_delete", "index": index, "name": data_stream, "policy": policy, "reason": reason,
            "closed_at": now, "docs": docs, "bytes": size})
        lifecycle_audit.record(client, "close", index=index, data_stream=data_stream, docs=docs, bytes_freed=0,
                               reason=reason, policy=policy, outcome="closed",
                               detail=f"deleted after the grace period of {settings.grace_period}")
        return Outcome(index, "closed", f"closed; deleted after {settings.grace_period}", docs=docs,
                       due_at=now + grace)
    due = float(mark["closed_at"]) + grace
    if now < due:
        return Outcome(index, "waiting", "closed, in grace period", due_at=due)
    return delete_now(client, index, data_stream, reason=mark.get("reason") or reason, policy=policy, snapshot=None,
                      docs=int(mark.get("docs") or 0), size=int(mark.get("bytes") or 0))


def reopen(client: OpenSearch, index: str, *, why: str) -> Outcome | None:
    """Cancel a pending deletion (policy changed, or a hold was set): open and unmark."""
    try:
        mark = client.get(index=LIFECYCLE_INDEX, id=f"pending:{index}")["_source"]
    except NotFoundError:
        return None
    client.indices.open(index=index, expand_wildcards="all", ignore=[404])
    client.delete(index=LIFECYCLE_INDEX, id=f"pending:{index}", ignore=[404], refresh="wait_for")
    lifecycle_audit.record(client, "reopen", index=index, data_stream=mark.get("name"), reason=why,
                           policy=mark.get("policy"), outcome="reopened")
    return Outcome(index, "reopened", why)
