"""The hourly rollup job: keeps ``.logharbor-rollup-hourly-<tenant>`` current for every tenant.

It runs inside each ui process (``ui.rollup_interval_s``; 0 disables it). The work is
idempotent (see :func:`opensearch.aggregate.rollup_tenant`), so several ui processes may run
it at once; they only repeat each other's work. Tenants are the ``<tenant>`` of every
``logs-<tenant>-<class>`` data stream with a configured retention class.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from opensearchpy import AsyncOpenSearch

from opensearch.aggregate import rollup_tenant
from opensearch.search import DLQ_CLASS, StreamResolver

log = logging.getLogger(__name__)


def tenants_of(names: Iterable[str], classes: Sequence[str]) -> set[str]:
    """Tenants from data stream names, using the known classes to split ``logs-<t>-<class>``."""
    out = set()
    for name in names:
        if not name.startswith("logs-"):
            continue
        for cls in classes:
            suffix = "-" + cls
            if name.endswith(suffix) and len(name) > 5 + len(suffix):
                out.add(name[5:-len(suffix)])
    return out


async def rollup_all(client: AsyncOpenSearch, resolver: StreamResolver, classes: Sequence[str],
                     lookback_hours: int, now_ms: int | None = None,
                     only: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One pass over every tenant (or those in ``only``); a failing tenant is logged and does
    not stop the others."""
    resolved = await client.indices.resolve_index(name="logs-*")
    names = [d["name"] for d in resolved.get("data_streams", [])]
    tenants = tenants_of(names, [c for c in classes if c != DLQ_CLASS])
    if only is not None:
        tenants &= set(only)
    reports = []
    for tenant in sorted(tenants):
        try:
            indices = await resolver.streams(tenant)
            reports.append(await rollup_tenant(client, tenant, indices,
                                               now_ms or int(time.time() * 1000), lookback_hours))
        except Exception:
            log.exception("rollup of tenant %s failed; next pass retries", tenant)
    return reports


async def run_rollups(client: AsyncOpenSearch, resolver: StreamResolver, classes: Sequence[str],
                      interval_s: float, lookback_hours: int) -> None:
    """Forever: a pass, then sleep ``interval_s`` (cancel the task to stop)."""
    while True:
        try:
            reports = await rollup_all(client, resolver, classes, lookback_hours)
            log.debug("rollups: %s", reports)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("rollup pass failed; retrying in %ss", interval_s)
        await asyncio.sleep(interval_s)
