"""On clusters with ISM: ISM rolls over and moves tiers; LogHarbor deletes (safely).

Why split: ISM's ``delete`` action removes an index outright — no snapshot check, no grace
period, no audit record, no legal hold. So the policies LogHarbor installs in ISM stop at
``cold`` (:func:`for_ism` drops the ``delete`` state), and :func:`sweep` — run by the leased
lifecycle loop on the same schedule — deletes backing indices older than their (tenant's)
retention through :mod:`opensearch.safe_delete`, then applies the size budgets, exactly as
the LogHarbor runner does. Ages count from index creation, as ``min_index_age`` does.
"""

from __future__ import annotations

import time

from opensearchpy import OpenSearch

from . import lifecycle, retention, safe_delete, size_budget, snapshots
from .ism_policy import for_ism
from .lifecycle_settings import LifecycleSettings

__all__ = ["for_ism", "sweep"]  # for_ism lives in ism_policy (a leaf, so bootstrap needs no cycle)


def sweep(client: OpenSearch, *, now: float | None = None, pattern: str = "logs-*",
          settings: LifecycleSettings | None = None) -> lifecycle.RunReport:
    """Expired non-write backing indices → safe deletion; then size budgets."""
    now = time.time() if now is None else now
    settings = settings or LifecycleSettings()
    report = lifecycle.RunReport()
    held = set(safe_delete.holds(client))
    ctx = lifecycle.RunContext(settings, now, snapshots.repository_exists(client, settings.snapshot_repository), held)
    days_cache: dict[str, dict[str, int]] = {}
    for b in size_budget.backing_indices(client, pattern):
        if b.is_write:
            continue
        tenant, cls = b.data_stream[len("logs-"):].rsplit("-", 1)
        days = days_cache.setdefault(tenant, retention.get_retention(client, tenant=tenant))
        if cls not in days or now - b.created < days[cls] * 86400:
            if b.index in safe_delete.pending(client):
                out = safe_delete.reopen(client, b.index, why="retention changed: not due for deletion")
                if out:
                    report.outcomes.append(out)
            continue
        ctx.policy = f"retention {cls}={days[cls]}d"
        report.outcomes.append(safe_delete.request_delete(
            client, b.index, b.data_stream, reason="retention", policy=ctx.policy, settings=settings, now=now,
            repo_configured=ctx.repo_configured, held=held))
    report.outcomes += size_budget.enforce(client, settings, now=now, ctx=ctx, pattern=pattern)
    report.deleted = [o.index for o in report.outcomes if o.action == "deleted"]
    return report
