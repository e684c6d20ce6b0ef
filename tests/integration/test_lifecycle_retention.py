"""Safe deletion, legal hold, size budgets, per-tenant retention and the dry run, on the shared
devstack (no snapshot repository there, so expired indices take the grace-period path).

Ages are shrunk by running the lifecycle with a later ``now``; every run is limited to the
test's own tenant (``pattern``), so other tests' data is never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from opensearch import lifecycle, lifecycle_audit, retention, safe_delete
from opensearch.bootstrap import bootstrap
from opensearch.lifecycle_settings import LifecycleSettings

pytestmark = [pytest.mark.integration]
DAY = 86400.0
SETTINGS = LifecycleSettings(grace_period="1h", snapshot_repository="none-on-the-shared-devstack")


@pytest.fixture(scope="module")
def client(os_client):
    bootstrap(os_client)
    return os_client


def _stream(client, name: str, generations: int, docs: int = 50) -> list[str]:
    for g in range(generations):
        body = []
        for i in range(docs):
            body.append({"create": {"_index": name}})
            body.append({"@timestamp": "2026-11-01T00:00:00Z", "message": f"gen {g} doc {i} " + "x" * 200})
        assert not client.bulk(body=body, refresh="true")["errors"]
        if g < generations - 1:
            client.indices.rollover(alias=name)
    return [i["index_name"] for i in client.indices.get_data_stream(name=name)["data_streams"][0]["indices"]]


def _status(client, index: str) -> str | None:
    rows = client.cat.indices(index=index, format="json", h="status", expand_wildcards="all", ignore=[404])
    return rows[0]["status"] if isinstance(rows, list) and rows else None


def _run(client, tenant: str, at: float, settings: LifecycleSettings = SETTINGS) -> lifecycle.RunReport:
    report = lifecycle.run_once(client, now=at, pattern=f"logs-{tenant}-*", settings=settings)
    assert not report.errors, report.errors
    return report


def _cleanup(client, tenant: str) -> None:
    client.indices.delete_data_stream(name=f"logs-{tenant}-*", ignore=[404])
    for h in safe_delete.holds(client):
        if h.startswith(f"logs-{tenant}-"):
            safe_delete.clear_hold(client, h)


def test_expired_index_closed_for_the_grace_period_then_deleted_with_audit(client, unique_tenant):
    name = f"logs-{unique_tenant}-debug"
    try:
        backing = _stream(client, name, 3)
        t0 = time.time() + 8 * DAY  # debug keeps 7 days
        _run(client, unique_tenant, t0)
        old = backing[:2]
        assert [_status(client, i) for i in old] == ["close", "close"]
        assert set(safe_delete.pending(client)) >= set(old)
        closes = lifecycle_audit.search(client, kind="close", data_stream=name)
        assert {c["index"] for c in closes} >= set(old)
        assert lifecycle_audit.search(client, kind="deletion", data_stream=name) == []

        _run(client, unique_tenant, t0 + 1800)  # half-way through the grace period: still there
        assert [_status(client, i) for i in old] == ["close", "close"]

        _run(client, unique_tenant, t0 + 3700)
        assert [_status(client, i) for i in old] == [None, None]
        deletions = {d["index"]: d for d in lifecycle_audit.search(client, kind="deletion", data_stream=name)}
        assert set(deletions) >= set(old)
        for i in old:
            d = deletions[i]
            assert d["docs"] == 50 and d["bytes_freed"] > 0 and d["reason"] == "retention"
            assert d["policy"] == "logharbor-debug" and d["tenant"] == unique_tenant
    finally:
        _cleanup(client, unique_tenant)


def test_retention_lengthened_during_grace_reopens_and_tenant_isolation(client, unique_tenant):
    other = unique_tenant + "b"
    mine, theirs = f"logs-{unique_tenant}-standard", f"logs-{other}-standard"
    try:
        a = _stream(client, mine, 2)
        b = _stream(client, theirs, 2)
        # tenant A shortens its own standard retention to 2 days; tenant B keeps the default 30
        eff, _ = retention.set_retention(client, {"standard": 2}, tenant=unique_tenant, actor="key:admin-a")
        assert eff["standard"] == 2
        assert retention.get_retention(client, tenant=other)["standard"] == 30
        assert retention.get_retention(client)["standard"] == 30
        t0 = time.time() + 3 * DAY
        _run(client, unique_tenant, t0)
        _run(client, other, t0)
        assert _status(client, a[0]) == "close"
        assert _status(client, b[0]) == "open"
        change = lifecycle_audit.search(client, kind="retention_change", tenant=unique_tenant)[0]
        assert change["actor"] == "key:admin-a" and "standard: 30 -> 2 days" in change["detail"]

        # the tenant lengthens retention again while the index waits: it is reopened, not deleted
        retention.set_retention(client, {"standard": 10}, tenant=unique_tenant, actor="key:admin-a")
        report = _run(client, unique_tenant, t0 + 2 * 3600)
        assert _status(client, a[0]) == "open"
        assert a[0] in [o.index for o in report.outcomes if o.action == "reopened"]
        assert lifecycle_audit.search(client, kind="deletion", data_stream=mine) == []
    finally:
        retention.clear_tenant(client, unique_tenant)
        _cleanup(client, unique_tenant)
        _cleanup(client, other)


def test_legal_hold_stops_every_deletion_until_cleared(client, unique_tenant):
    name = f"logs-{unique_tenant}-standard"
    try:
        backing = _stream(client, name, 2)
        safe_delete.set_hold(client, name, reason="case 4711", actor="operator")
        far = time.time() + 400 * DAY
        budget = SETTINGS.model_copy(update={"size_budgets": {f"{unique_tenant}/standard": "1b"}})
        _run(client, unique_tenant, far, budget)
        _run(client, unique_tenant, far + DAY, budget)
        assert _status(client, backing[0]) == "open"
        assert lifecycle_audit.search(client, kind="deletion", data_stream=name) == []
        safe_delete.clear_hold(client, name, actor="operator")
        _run(client, unique_tenant, far)
        assert _status(client, backing[0]) == "close"
        holds = lifecycle_audit.search(client, kind="legal_hold", data_stream=name)
        assert [h["outcome"] for h in holds] == ["cleared", "set"]
    finally:
        _cleanup(client, unique_tenant)


def test_size_budget_removes_oldest_non_write_indices_first(client, unique_tenant):
    name = f"logs-{unique_tenant}-errors"
    try:
        backing = _stream(client, name, 4, docs=200)
        sizes = {r["index"]: int(r["store.size"]) for r in client.cat.indices(
            index=f".ds-{name}-*", format="json", bytes="b", h="index,store.size", expand_wildcards="all")}
        total = sum(sizes.values())
        # room for everything but the oldest index: exactly that one goes
        limit = total - sizes[backing[0]] + 1
        settings = SETTINGS.model_copy(update={"size_budgets": {f"{unique_tenant}/errors": f"{limit}b"}})
        now = time.time()
        _run(client, unique_tenant, now, settings)
        assert [_status(client, i) for i in backing] == ["close", "open", "open", "open"]
        _run(client, unique_tenant, now + 3700, settings)
        assert _status(client, backing[0]) is None
        d = lifecycle_audit.search(client, kind="deletion", index=backing[0])[0]
        assert d["reason"] == "size_budget" and d["bytes_freed"] == sizes[backing[0]]
        assert [_status(client, i) for i in backing[1:]] == ["open", "open", "open"]
    finally:
        _cleanup(client, unique_tenant)


def test_dry_run_prints_next_action_and_when_and_changes_nothing(client, unique_tenant, os_url):
    name = f"logs-{unique_tenant}-debug"
    try:
        backing = _stream(client, name, 2)
        env = {**os.environ, "LOGHARBOR_OPENSEARCH_URL": os_url, "LOGHARBOR_LIFECYCLE_GRACE_PERIOD": "1h",
               "LOGHARBOR_LIFECYCLE_SNAPSHOT_REPOSITORY": SETTINGS.snapshot_repository}  # devstack has 'logharbor'
        cmd = [sys.executable, "-m", "ops.cli", "indices", "lifecycle", "--dry-run", "--pattern",
               f"logs-{unique_tenant}-*"]
        now = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert now.returncode == 0, now.stderr
        assert "dry run: nothing is changed" in now.stdout
        line = next(x for x in now.stdout.splitlines() if x.startswith(backing[0]))
        assert "-> warm" in line and ("in 2.0d" in line or "in 1.9d" in line), line
        later = subprocess.run([*cmd, "--at", "8d", "--json"], capture_output=True, text=True, env=env, timeout=120)
        rows = {r["index"]: r for r in json.loads(later.stdout)}
        assert rows[backing[0]]["next_action"] == "-> warm -> cold -> delete close, then delete after 1h"
        assert rows[backing[1]]["write_index"] is True
        assert [_status(client, i) for i in backing] == ["open", "open"]
    finally:
        _cleanup(client, unique_tenant)


def test_ism_side_sweep_deletes_expired_indices_through_safe_deletion(client, unique_tenant):
    """What runs on ISM clusters (ISM stops at cold): the same safe deletion, driven by retention."""
    from opensearch import lifecycle_ism

    name = f"logs-{unique_tenant}-standard"
    try:
        backing = _stream(client, name, 2)
        t0 = time.time() + 31 * DAY  # standard keeps 30 days
        report = lifecycle_ism.sweep(client, now=t0, pattern=f"logs-{unique_tenant}-*", settings=SETTINGS)
        assert [(o.index, o.action) for o in report.outcomes] == [(backing[0], "closed")]
        report = lifecycle_ism.sweep(client, now=t0 + 3700, pattern=f"logs-{unique_tenant}-*", settings=SETTINGS)
        assert report.deleted == [backing[0]] and _status(client, backing[1]) == "open"
        d = lifecycle_audit.search(client, kind="deletion", index=backing[0])[0]
        assert d["policy"] == "retention standard=30d" and d["docs"] == 50
    finally:
        _cleanup(client, unique_tenant)
