"""Size-based retention ("keep maximum 1 TB", spec §5.4.4): per tenant+class and cluster-wide.

``lifecycle.size_budgets`` maps a key to a size: ``"<tenant>/<class>"`` or a data stream name
(``logs-acme-debug``) or a glob (``logs-acme-*``) budgets those streams together; ``"*"`` is
every ``logs-*`` stream. While the streams' stored bytes (primaries and replicas) exceed the
budget, the oldest non-write backing index is removed through :mod:`opensearch.safe_delete`
(reason ``size_budget``), so held streams are skipped and the snapshot/grace rules apply.
Indices already closed and pending deletion do not count (their bytes are on the way out).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from opensearchpy import NotFoundError, OpenSearch

from .lifecycle_index import size_bytes


@dataclass
class Backing:
    index: str
    data_stream: str
    created: float
    docs: int
    bytes: int
    is_write: bool
    status: str = "open"


def backing_indices(client: OpenSearch, pattern: str = "logs-*") -> list[Backing]:
    """Every backing index of the matching data streams with its figures, oldest first."""
    try:
        streams = client.indices.get_data_stream(name=pattern)["data_streams"]
    except NotFoundError:
        return []
    if not streams:
        return []
    rows = client.cat.indices(index=f".ds-{pattern}", format="json", bytes="b", expand_wildcards="all",
                              h="index,status,docs.count,store.size,creation.date")
    by_name = {r["index"]: r for r in rows}
    out = []
    for ds in streams:
        names = [i["index_name"] for i in ds["indices"]]
        for name in names:
            r = by_name.get(name)
            if r is None:
                continue
            out.append(Backing(name, ds["name"], int(r.get("creation.date") or 0) / 1000.0,
                               int(r.get("docs.count") or 0), int(r.get("store.size") or 0),
                               name == names[-1], r.get("status") or "open"))
    return sorted(out, key=lambda b: b.created)


def _matches(key: str, data_stream: str) -> bool:
    if key == "*":
        return True
    if "/" in key:
        tenant, cls = key.split("/", 1)
        key = f"logs-{tenant}-{cls}"
    return fnmatch.fnmatchcase(data_stream, key)


def plan(indices: list[Backing], budgets: dict[str, str], skip: set[str] = frozenset(),
         held: set[str] = frozenset()) -> list[tuple[Backing, str]]:
    """(index, budget key) pairs to remove, oldest first, so every budget is met.

    Pure: the tests and ``--dry-run`` call it with figures; ``enforce`` with live ones.
    """
    doomed: dict[str, tuple[Backing, str]] = {}
    for key, limit in budgets.items():
        cap = size_bytes(limit)
        mine = [b for b in indices if _matches(key, b.data_stream) and b.status == "open" and b.index not in skip]
        total = sum(b.bytes for b in mine if b.index not in doomed)
        for b in mine:
            if total <= cap:
                break
            if b.is_write or b.data_stream in held or b.index in doomed:
                continue
            doomed[b.index] = (b, key)
            total -= b.bytes
    return sorted(doomed.values(), key=lambda pair: pair[0].created)


def enforce(client: OpenSearch, settings: Any, *, now: float, ctx: Any, pattern: str = "logs-*") -> list[Any]:
    """Apply the budgets once; returns the safe-deletion outcomes."""
    if not settings.size_budgets:
        return []
    from .safe_delete import pending, request_delete

    waiting = set(pending(client))
    out = []
    for b, key in plan(backing_indices(client, pattern), settings.size_budgets, skip=waiting, held=ctx.held):
        out.append(request_delete(client, b.index, b.data_stream, reason="size_budget",
                                  policy=f"size_budget {key}={settings.size_budgets[key]}", settings=settings,
                                  now=now, repo_configured=ctx.repo_configured, held=ctx.held))
    # indices closed by an earlier run for a budget finish their grace period here
    for index, mark in pending(client).items():
        if mark.get("reason") == "size_budget" and index in waiting and \
                fnmatch.fnmatchcase(mark.get("name") or "", pattern):
            out.append(request_delete(client, index, mark.get("name"), reason="size_budget",
                                      policy=mark.get("policy"), settings=settings, now=now,
                                      repo_configured=ctx.repo_configured, held=ctx.held))
    return out
