"""The storage-capacity and snapshot-failing built-in rules through the real scheduled evaluator.

snapshot-failing: ``snapshot_health`` reads the run history from the lifecycle audit index; this
test points that module's index name at a test-unique hidden index (the cluster is shared, so a
FAILED record in the real history would page everyone else's tests), writes a PARTIAL run, then a
SUCCESS one, and expects firing → resolved notifications at a real webhook receiver.
storage-capacity: the shared cluster's real disk facts (no watermark is touched) — inactive.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from alert_support import Receivers, cleanup_alerting
from test_pipeline import delete_streams, templates_fixture  # noqa: F401  (fixture "templates")

from alerting import manage
from alerting.evaluator import Context, ScheduledEvaluator
from alerting.health import BUILTIN
from alerting.health_facts import storage_value
from alerting.rules import Rule
from alerting.sender import Sender
from alerting.settings import AlertingSettings
from alerting.state import RuleState
from logharbor.config import OpenSearchSettings
from opensearch import lifecycle_audit
from opensearch.alerts_store import LEASES
from opensearch.client import async_client, sync_client
from opensearch.disk_monitor import disk_health

pytestmark = pytest.mark.integration


@pytest.fixture
async def env(templates, os_url, os_client, unique_tenant, monkeypatch):
    client = async_client(OpenSearchSettings(url=os_url))
    sync = sync_client(OpenSearchSettings(url=os_url))
    receivers = await Receivers().start()
    history = f".logharbor-lifecycle-audit-test-{unique_tenant}"
    monkeypatch.setattr(lifecycle_audit, "AUDIT_INDEX", history)
    yield client, sync, receivers, unique_tenant
    sync.indices.delete(index=history, ignore=[404], expand_wildcards="all")
    await cleanup_alerting(client, unique_tenant)
    await receivers.stop()
    await client.close()
    sync.close()
    delete_streams(os_client, unique_tenant)


async def deliver_all(sender: Sender) -> None:
    await sender.poll_once()
    for t in list(sender._tasks):
        await t


def snapshot_run(sync, outcome: str) -> None:
    time.sleep(0.01)  # strictly newer @timestamp (ms) than the previous record
    lifecycle_audit.record(sync, "snapshot", snapshot=f"test-{outcome.lower()}", repository="test-repo",
                           outcome=outcome, reason="test")


async def test_snapshot_failing_fires_on_partial_and_resolves_on_success(env):
    client, sync, receivers, tenant = env
    ctx = Context(client, AlertingSettings(watermark="clock"), facts_client=sync)
    spec = {**BUILTIN["snapshot-failing"], "schedule": {"every": "1s"},
            "channels": [{"type": "webhook", "url": receivers.url("/hook"), "secret": "s"}]}
    doc = await manage.create_rule(ctx, tenant, spec)
    rule = Rule.model_validate(await ctx.rules.get(tenant, doc["id"]))
    ev, sender = ScheduledEvaluator(ctx), Sender(ctx)
    try:
        snapshot_run(sync, "PARTIAL")
        safe, _ = await ev.safe_until()
        res = await ev.evaluate(rule, safe)
        assert res.error is None and res.transitions == 1, res
        await deliver_all(sender)
        got = (await receivers.wait("/hook", 1))[0].json()
        assert got["transition"] == "firing" and got["value"] == 1 and got["condition_type"] == "snapshot"
        # Still failing on the next window: no second notification.
        await asyncio.sleep(1.1)
        safe, _ = await ev.safe_until()
        assert (await ev.evaluate(rule, safe)).transitions == 0
        # The next run succeeds → resolved.
        snapshot_run(sync, "SUCCESS")
        await asyncio.sleep(1.1)
        safe, _ = await ev.safe_until()
        res = await ev.evaluate(rule, safe)
        assert res.error is None and res.transitions == 1, res
        await deliver_all(sender)
        assert [r.json()["transition"] for r in await receivers.wait("/hook", 2)] == ["firing", "resolved"]
    finally:
        await sender.close()
        with contextlib.suppress(Exception):
            await client.delete(index=LEASES, id=rule.id)


async def test_storage_capacity_reads_the_real_disk_facts(env):
    client, sync, _, tenant = env
    ctx = Context(client, AlertingSettings(watermark="clock"), facts_client=sync)
    rule = Rule.model_validate({**BUILTIN["storage-capacity"], "id": f"storage-{tenant}", "tenant": tenant})
    expected = storage_value(disk_health(sync))
    assert expected < 2, f"the shared devstack's disk is past the high watermark or blocked: {disk_health(sync)}"
    ev = ScheduledEvaluator(ctx)
    state = RuleState(rule.id, tenant)
    res = await ev.evaluate_into(rule, state, ctx.now())
    assert res.error is None and res.windows == 1, res
    assert state.summary() == "ok" and not state.groups  # inactive: nothing kept, nothing notified
    # The same condition with a threshold every value meets: the evaluator's value is the real fact.
    probe = rule.model_copy(update={"condition": rule.condition.model_copy(update={"threshold": 0})})
    state = RuleState(rule.id, tenant)
    res = await ev.evaluate_into(probe, state, ctx.now())
    assert res.error is None and state.summary() == "firing", (res, state.to_doc())
    assert state.groups["*"].value == expected
