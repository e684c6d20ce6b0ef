"""Restore tests ("regular restore tests", spec §5.4.5): prove the latest snapshot restores.

Restores every backing index of the snapshot under scratch names (``lhverify-<run>-<name>``),
compares document counts with the live source and a random sample of content hashes
(documents are written once with ``op_type=create``, so a stored document never changes),
deletes the scratch copies whatever happens, and records the result and its duration in the
lifecycle audit (kind ``verify``) where ``/api/v1/status`` and the UI read it.

A live write index keeps growing after the snapshot, so for it the restored count may be
lower; for every other index the counts must be equal. An index deleted since the snapshot
is checked for readability only.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import orjson
from opensearchpy import NotFoundError, OpenSearch

from . import lifecycle_audit, snapshots


def doc_hash(source: dict[str, Any]) -> str:
    """Content hash of one stored document (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(source, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _write_indices(client: OpenSearch) -> set[str]:
    try:
        # LogHarbor's streams only: the least-privilege user (ops/opensearch-security/roles.yml)
        # may not list every data stream, and "*" is refused whole (403)
        streams = client.indices.get_data_stream(name="logs-*")["data_streams"]
    except NotFoundError:
        return set()
    return {ds["indices"][-1]["index_name"] for ds in streams if ds.get("indices")}


def _count(client: OpenSearch, index: str) -> int | None:
    try:
        client.indices.refresh(index=index, expand_wildcards="all")
        return int(client.count(index=index, expand_wildcards="all")["count"])
    except NotFoundError:
        return None


def _sample(client: OpenSearch, index: str, size: int) -> list[dict[str, Any]]:
    res = client.search(index=index, expand_wildcards="all", body={
        "size": size, "query": {"function_score": {"random_score": {"seed": secrets.randbelow(10**6),
                                                                    "field": "_seq_no"}}}})
    return res["hits"]["hits"]


def check_index(client: OpenSearch, source: str, scratch: str, sample: int, is_write: bool) -> dict[str, Any]:
    """Counts and sampled hashes of one restored index against its live source."""
    restored = _count(client, scratch) or 0
    live = _count(client, source)
    out: dict[str, Any] = {"index": source, "restored_docs": restored, "live_docs": live, "sampled": 0,
                           "mismatched": 0, "ok": True}
    if live is None:
        out["note"] = "source deleted since the snapshot; restored copy is readable"
        return out
    if restored > live or (not is_write and restored != live):
        out["ok"] = False
        out["note"] = f"document count {restored} restored vs {live} live"
    hits = _sample(client, scratch, sample)
    if hits:
        got = client.mget(index=source, body={"ids": [h["_id"] for h in hits]})["docs"]
        by_id = {d["_id"]: d for d in got if d.get("found")}
        for h in hits:
            out["sampled"] += 1
            d = by_id.get(h["_id"])
            if d is None or doc_hash(d["_source"]) != doc_hash(h["_source"]):
                out["mismatched"] += 1
        if out["mismatched"]:
            out["ok"] = False
            out["note"] = f"{out['mismatched']} of {out['sampled']} sampled documents differ from the source"
    return out


def verify(client: OpenSearch, repo: str, *, snapshot: str | None = None, sample: int = 200,
           timeout_s: float = 600.0, actor: str | None = None) -> dict[str, Any]:
    """Restore into scratch names, compare, clean up, record; returns the result document."""
    started = time.monotonic()
    snap = snapshots.info(client, repo, snapshot) if snapshot else snapshots.latest(client, repo)
    name = snap["snapshot"]
    sources = sorted(i for i in (snap.get("indices") or []) if not i.startswith("lhverify-"))
    prefix = f"lhverify-{secrets.token_hex(3)}-"
    result: dict[str, Any] = {"snapshot": name, "repository": repo, "indices": [], "ok": False}
    try:
        if not sources:
            raise snapshots.SnapshotError(f"snapshot '{name}' holds no indices")
        client.snapshot.restore(repository=repo, snapshot=name, wait_for_completion=True, request_timeout=timeout_s,
                                body={"indices": ",".join(sources), "include_global_state": False,
                                      "include_aliases": False, "rename_pattern": "(.+)",
                                      "rename_replacement": f"{prefix}$1",
                                      "index_settings": {"index.number_of_replicas": 0}})
        writes = _write_indices(client)
        per_doc = max(1, sample // len(sources))
        for src in sources:
            result["indices"].append(check_index(client, src, prefix + src, per_doc, src in writes))
        result["ok"] = all(r["ok"] for r in result["indices"])
    except Exception as exc:  # recorded, then re-raised as the command's failure
        result["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        client.indices.delete(index=f"{prefix}*", expand_wildcards="all", ignore_unavailable=True)
    result["duration_s"] = round(time.monotonic() - started, 3)
    result["restored_docs"] = sum(r["restored_docs"] for r in result["indices"])
    result["sampled"] = sum(r["sampled"] for r in result["indices"])
    bad = [f"{r['index']}: {r.get('note')}" for r in result["indices"] if not r["ok"]]
    lifecycle_audit.record(
        client, "verify", snapshot=name, repository=repo, actor=actor, outcome="ok" if result["ok"] else "failed",
        duration_s=result["duration_s"], docs=result["restored_docs"],
        detail=result.get("error") or "; ".join(bad) or
        f"{len(sources)} indices, {result['restored_docs']} docs, {result['sampled']} hashes compared")
    return result


def last_verify(client: OpenSearch) -> dict[str, Any] | None:
    rows = lifecycle_audit.search(client, kind="verify", size=1)
    return rows[0] if rows else None
