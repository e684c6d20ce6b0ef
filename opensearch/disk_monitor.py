"""Disk protection (spec scenario C): watch disk per node against OpenSearch's watermarks and run
emergency retention before the high watermark is reached.

OpenSearch's own watermarks act late and bluntly: past *high* it moves shards away, past
*flood stage* it puts ``index.blocks.read_only_allow_delete`` on every index with a shard on
the node, and ingest stops (the pipeline then pauses consumption and Kafka keeps the records;
see :mod:`pipeline.indexer`). So this monitor reads ``_cat/allocation`` and the watermark
settings, and when a node's free space falls under the *low* watermark it deletes the oldest
non-write backing indices until the space is back (plus ``lifecycle.emergency_headroom``):
indices already closed for deletion first, then by class in ``lifecycle.emergency_order``
(debug → standard → dlq → errors), oldest first. Classes in ``lifecycle.emergency_protected``
(audit) and streams under legal hold are never deleted automatically. With a snapshot
repository the chosen indices are snapshotted first; if that snapshot fails nothing is deleted
(an alert fact says so). Every deletion is audited, plus one ``emergency`` record per run,
which is the fact alerting reads (:func:`disk_health`).

Freed bytes are counted cluster-wide (an index's store size over all its copies); on a
multi-node cluster this may delete somewhat more than the one full node needed.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from opensearchpy import OpenSearch, TransportError

from . import lifecycle_audit, safe_delete, size_budget, snapshots
from .lease import Lease
from .lifecycle import LIFECYCLE_INDEX, size_bytes
from .lifecycle_settings import LifecycleSettings

log = logging.getLogger(__name__)
WM = "cluster.routing.allocation.disk.watermark."
BLOCK = "index.blocks.read_only_allow_delete"
_PCT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_RATIO = re.compile(r"^\s*(0(?:\.\d+)?|1(?:\.0+)?)\s*$")


def free_required(watermark: str, total: int) -> int:
    """Bytes that must stay free under a watermark ("85%", "0.85" or "500mb")."""
    m = _PCT.match(watermark)
    if m:
        return int(total * (1 - float(m.group(1)) / 100))
    m = _RATIO.match(watermark)
    if m:
        return int(total * (1 - float(m.group(1))))
    return size_bytes(watermark.strip().lower())


def watermarks(client: OpenSearch) -> dict[str, Any]:
    s = client.cluster.get_settings(include_defaults=True, flat_settings=True)
    merged = {**s.get("defaults", {}), **s.get("persistent", {}), **s.get("transient", {})}
    return {
        "enabled": str(merged.get("cluster.routing.allocation.disk.threshold_enabled", "true")) == "true",
        "low": merged.get(WM + "low", "85%"), "high": merged.get(WM + "high", "90%"),
        "flood_stage": merged.get(WM + "flood_stage", "95%"),
    }


def blocked_indices(client: OpenSearch) -> list[str]:
    """Indices carrying the flood-stage block (LogHarbor's and its system indices)."""
    # LogHarbor's own patterns, not "*": with the security plugin the least-privilege user may
    # read only these (ops/opensearch-security/roles.yml), and "*" is refused whole (403)
    got = client.indices.get_settings(index=".ds-logs-*,logs-*,.logharbor-*", name=BLOCK,
                                      expand_wildcards="all", ignore=[404])
    return sorted(i for i, v in (got or {}).items() if isinstance(v, dict) and
                  str(((v.get("settings") or {}).get("index") or {}).get("blocks", {}).get("read_only_allow_delete"))
                  == "true")


def disk_health(client: OpenSearch) -> dict[str, Any]:
    """Per node: total, used, free and the free bytes each watermark needs; plus blocked indices
    and the last emergency run. ``state`` per node: ok | low | high | flood."""
    wm = watermarks(client)
    nodes = []
    for r in client.cat.allocation(format="json", bytes="b"):
        if not r.get("disk.total"):
            continue
        total, avail = int(r["disk.total"]), int(r["disk.avail"])
        req = {k: free_required(wm[k], total) for k in ("low", "high", "flood_stage")}
        state = "flood" if avail < req["flood_stage"] else "high" if avail < req["high"] else \
            "low" if avail < req["low"] else "ok"
        nodes.append({"node": r.get("node"), "total": total, "used": int(r.get("disk.used") or total - avail),
                      "free": avail, "percent": float(r.get("disk.percent") or 0), "free_required": req,
                      "state": state if wm["enabled"] else "ok"})
    last = lifecycle_audit.search(client, kind="emergency", size=1)
    worst = max((n["state"] for n in nodes), key=("ok", "low", "high", "flood").index, default="ok")
    return {"watermarks": wm, "nodes": nodes, "state": worst, "blocked_indices": blocked_indices(client),
            "create_index_blocked": create_index_blocked(client), "last_emergency": last[0] if last else None}


def create_index_blocked(client: OpenSearch) -> bool:
    """OpenSearch's cluster-wide ``cluster.blocks.create_index`` (set while every node is past the
    high watermark): no new backing index or data stream can be created, so rollover waits."""
    s = client.cluster.get_settings(flat_settings=True)
    return any(str(s.get(k, {}).get("cluster.blocks.create_index")) == "true" for k in ("persistent", "transient"))


def candidates(client: OpenSearch, settings: LifecycleSettings) -> list[dict[str, Any]]:
    """Emergency deletion order: pending-closed first, then class rank, then oldest."""
    held = set(safe_delete.holds(client))
    marks = safe_delete.pending(client)
    order = {c: i for i, c in enumerate(settings.emergency_order)}
    out = []
    for b in size_budget.backing_indices(client):
        cls = b.data_stream.rsplit("-", 1)[-1]
        if b.is_write or b.data_stream in held or cls in settings.emergency_protected:
            continue
        mark = marks.get(b.index)
        size = int(mark["bytes"]) if mark else b.bytes
        docs = int(mark["docs"]) if mark else b.docs
        rank = (-1 if mark else order.get(cls, len(order)), b.created)
        out.append({"index": b.index, "data_stream": b.data_stream, "class": cls, "bytes": size, "docs": docs,
                    "created": b.created, "pending": mark is not None, "rank": rank})
    return sorted(out, key=lambda c: c["rank"])


def _unblock_system_indices(client: OpenSearch) -> None:
    """Under flood stage, our small bookkeeping indices must stay writable for the audit trail."""
    for index in (lifecycle_audit.AUDIT_INDEX, LIFECYCLE_INDEX):
        try:
            client.indices.put_settings(index=index, body={BLOCK: None}, expand_wildcards="all", ignore=[404])
        except TransportError as exc:
            log.warning("disk monitor: could not lift the block on %s (%s)", index, exc)


def protect(client: OpenSearch, settings: LifecycleSettings | None = None) -> dict[str, Any]:
    """One check; runs emergency retention if a node is under its low watermark."""
    settings = settings or LifecycleSettings()
    health = disk_health(client)
    short = [n for n in health["nodes"] if n["state"] != "ok"]
    result: dict[str, Any] = {"state": health["state"], "deleted": [], "bytes_freed": 0, "needed": 0}
    if not short:
        return result
    needed = max(n["free_required"]["low"] + size_bytes(settings.emergency_headroom) - n["free"] for n in short)
    result["needed"] = needed
    if health["blocked_indices"]:
        _unblock_system_indices(client)
    chosen, total = [], 0
    for c in candidates(client, settings):
        if total >= needed:
            break
        chosen.append(c)
        total += c["bytes"]
    where = ", ".join(f"{n['node']} {n['state']} free {n['free']}" for n in short)
    detail = f"nodes {where}; need {needed} bytes"
    if not chosen:
        result["outcome"] = "nothing_deletable"
        lifecycle_audit.record(client, "emergency", outcome="nothing_deletable", reason="disk", detail=detail)
        return result
    snap = None
    repo = settings.snapshot_repository
    if snapshots.repository_exists(client, repo):
        try:
            open_ones = [c["index"] for c in chosen if not c["pending"]]
            for c in chosen:
                if c["pending"]:
                    client.indices.open(index=c["index"], expand_wildcards="all", wait_for_active_shards=1)
            snap = snapshots.create(client, repo, indices=",".join(open_ones + [c["index"] for c in chosen
                                                                                if c["pending"]]),
                                    trigger="emergency")
            state = snapshots.wait(client, repo, snap, min(settings.snapshot_timeout_s, 600)).get("state")
            if state != "SUCCESS":
                raise snapshots.SnapshotError(f"emergency snapshot {snap} ended {state}")
        except Exception as exc:
            result["outcome"] = "snapshot_failed"
            lifecycle_audit.record(client, "emergency", outcome="snapshot_failed", reason="disk", snapshot=snap,
                                   detail=f"{detail}; nothing deleted: {exc}")
            return result
    for c in chosen:
        safe_delete.delete_now(client, c["index"], c["data_stream"], reason="emergency", policy="disk protection",
                               snapshot=snap, docs=c["docs"], size=c["bytes"], actor="disk-monitor")
        result["deleted"].append(c["index"])
        result["bytes_freed"] += c["bytes"]
    result["outcome"] = "deleted"
    result["snapshot"] = snap
    lifecycle_audit.record(client, "emergency", outcome="deleted", reason="disk", snapshot=snap,
                           bytes_freed=result["bytes_freed"], docs=sum(c["docs"] for c in chosen),
                           detail=f"{detail}; deleted {', '.join(result['deleted'])}")
    return result


def render(health: dict[str, Any]) -> str:
    wm = health["watermarks"]
    lines = [f"watermarks: low {wm['low']}, high {wm['high']}, flood stage {wm['flood_stage']}"
             f"{'' if wm['enabled'] else ' (DISABLED in this cluster)'}"]
    for n in health["nodes"]:
        req = n["free_required"]
        lines.append(f"  {n['node']}: {n['state']:<5} free {n['free'] / 2**30:.2f} GiB of {n['total'] / 2**30:.2f} "
                     f"(low needs {req['low'] / 2**30:.2f}, high {req['high'] / 2**30:.2f}, "
                     f"flood {req['flood_stage'] / 2**30:.2f})")
    if health["blocked_indices"]:
        lines.append(f"  FLOOD-STAGE BLOCK on {len(health['blocked_indices'])} indices: ingest is paused")
    if health.get("create_index_blocked"):
        lines.append("  CREATE-INDEX BLOCK (cluster.blocks.create_index): no rollover or new stream for now")
    return "\n".join(lines)


def run_forever(client: OpenSearch, stop: threading.Event, settings: LifecycleSettings | None = None) -> None:
    """Check every ``disk_check_interval_s`` while holding the ``disk-monitor`` lease."""
    settings = settings or LifecycleSettings()
    lease = Lease(client, "disk-monitor", ttl_s=max(settings.lease_ttl_s, settings.disk_check_interval_s * 3))
    while not stop.is_set():
        try:
            if lease.acquire():
                res = protect(client, settings)
                if res.get("deleted"):
                    log.warning("disk protection: deleted %s (%d bytes)", res["deleted"], res["bytes_freed"])
        except Exception as exc:  # keep watching through outages
            log.warning("disk monitor: check failed (%s)", exc)
        stop.wait(settings.disk_check_interval_s)
    lease.release()
