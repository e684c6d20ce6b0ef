"""Scheduled rules on real OpenSearch with shifted window times (no waiting for real minutes).

* 1,000 groups firing in one window → one summary notification (top groups listed), not 1,000;
  they resolve → one summary; they fire again within the throttle → nothing (per-group throttle),
  while a new group in the same window is notified on its own.
* Restart after 10 minutes down → at most ``max_catchup_windows`` windows evaluated (the rest
  counted as skipped), one notification for the net change; re-evaluating the same windows after
  a lost state write (a crash between outbox and state) enqueues nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from alert_support import Receivers, cleanup_alerting
from test_pipeline import delete_streams, templates_fixture  # noqa: F401  (fixture "templates")

from alerting import manage
from alerting.evaluator import Context, ScheduledEvaluator
from alerting.rules import Rule
from alerting.schedule import utc
from alerting.sender import Sender
from alerting.settings import AlertingSettings
from logharbor.config import OpenSearchSettings
from opensearch.alerts_store import LEASES, OUTBOX, STATE
from opensearch.client import async_client

pytestmark = pytest.mark.integration
M = 60_000


def iso(ms: int) -> str:
    return utc(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def index_errors(client, tenant: str, window_end: int, services: list[str]) -> None:
    body = []
    for i, svc in enumerate(services):
        body += [{"create": {"_index": f"logs-{tenant}-standard"}},
                 {"@timestamp": iso(window_end - M + 1000 + i % 50_000), "log": {"level": "ERROR"},
                  "service": {"name": svc}, "message": f"failure in {svc}"}]
    resp = await client.bulk(body=body, refresh="true")
    assert not resp["errors"], str(resp)[:500]


async def deliver_all(sender: Sender) -> None:
    await sender.poll_once()
    for t in list(sender._tasks):
        await t


async def count_status(client, rule_id: str, status: str) -> int:
    await client.indices.refresh(index=OUTBOX)
    resp = await client.count(index=OUTBOX, body={"query": {"bool": {"filter": [
        {"term": {"rule_id": rule_id}}, {"term": {"status": status}}]}}})
    return resp["count"]


@pytest.fixture
async def env(templates, os_url, os_client, unique_tenant):
    client = async_client(OpenSearchSettings(url=os_url))
    receivers = await Receivers().start()
    yield client, receivers, unique_tenant
    await cleanup_alerting(client, unique_tenant)
    await receivers.stop()
    await client.close()
    delete_streams(os_client, unique_tenant)


async def test_thousand_groups_summarised_and_throttled_per_group(env):
    client, receivers, tenant = env
    ctx = Context(client, AlertingSettings(max_catchup_windows=1, watermark="clock"))
    now = ctx.now()
    base = now - now % M - 30 * M
    services = [f"svc-{i:04d}" for i in range(1000)]
    e1, e2, e3, e4 = base + M, base + 2 * M, base + 3 * M, base + 4 * M
    await index_errors(client, tenant, e1, services)
    await index_errors(client, tenant, e2, services)
    await index_errors(client, tenant, e4, [*services, "svc-new"])
    doc = await manage.create_rule(ctx, tenant, {
        "name": "errors per service", "query": "level:ERROR", "throttle": "10m", "summary_over": 10,
        "condition": {"type": "count", "op": ">", "threshold": 0, "group_by": ["service.name"]},
        "max_groups": 2000, "channels": [{"type": "webhook", "url": receivers.url("/hook"), "secret": "s"}]})
    rule = Rule.model_validate(await ctx.rules.get(tenant, doc["id"]))
    ev, sender = ScheduledEvaluator(ctx), Sender(ctx)
    try:
        for end in (e1, e2, e3, e4):
            res = await ev.evaluate(rule, end)
            assert res.error is None and res.windows == 1, res
            await deliver_all(sender)
        got = [r.json() for r in await receivers.wait("/hook", 3)]
        await asyncio.sleep(0.5)
        assert len(receivers.at("/hook")) == 3
        assert [g["transition"] for g in got] == ["summary-firing", "summary-resolved", "firing"]
        assert got[0]["total_groups"] == 1000 and len(got[0]["groups"]) == 20
        assert got[0]["summary"] == "[FIRING] errors per service: 1000 groups firing"
        assert got[2]["group"] == "service.name=svc-new"
        assert await count_status(client, rule.id, "summarised") == 2000
        throttled = await client.count(index=OUTBOX, body={"query": {"bool": {"filter": [
            {"term": {"rule_id": rule.id}}, {"term": {"status": "suppressed"}}]}}})
        assert throttled["count"] == 1000
        state = (await client.get(index=STATE, id=rule.id))["_source"]
        assert state["firing"] == 1001
    finally:
        await sender.close()
        with contextlib.suppress(Exception):
            await client.delete(index=LEASES, id=rule.id)


async def test_restart_after_ten_minutes_bounded_catchup_no_duplicates(env):
    client, receivers, tenant = env
    settings = AlertingSettings(max_catchup_windows=5, watermark="clock", lease_ttl_s=1)
    ctx_a = Context(client, settings)
    now = ctx_a.now()
    e0 = now - now % M - 30 * M
    doc = await manage.create_rule(ctx_a, tenant, {
        "name": "errors", "query": "level:ERROR", "condition": {"type": "count", "op": ">", "threshold": 0},
        "channels": [{"type": "webhook", "url": receivers.url("/hook"), "secret": "s"}]})
    rule = Rule.model_validate(await ctx_a.rules.get(tenant, doc["id"]))
    # While the evaluator is down: an incident at minute 3 (beyond the catch-up bound), one at 6
    # that resolves at 7, and one from 8 that is still open at 10.
    for minute in (3, 6, 8, 9, 10):
        await index_errors(client, tenant, e0 + minute * M, ["api"])
    sender = Sender(ctx_a)
    try:
        res = await ScheduledEvaluator(ctx_a).evaluate(rule, e0)  # last evaluation before going down
        assert res.windows == 1 and res.transitions == 0
        await asyncio.sleep(1.2)  # the dead evaluator's lease expires (ttl 1 s)
        before, _ = await ctx_a.states.get(rule.id)

        ctx_b = Context(client, settings)  # restarted process: a new holder
        res = await ScheduledEvaluator(ctx_b).evaluate(rule, e0 + 10 * M)
        assert (res.windows, res.skipped, res.transitions) == (5, 5, 3), res
        await deliver_all(sender)
        got = [r.json() for r in await receivers.wait("/hook", 1)]
        assert [(g["transition"], g["window_end"]) for g in got] == [("firing", e0 + 8 * M)]
        state = (await client.get(index=STATE, id=rule.id))["_source"]
        assert state["skipped_windows"] == 5 and state["last_end"] == e0 + 10 * M

        # A crash between the outbox write and the state write: the state goes back, another
        # evaluator redoes the same windows, and the outbox refuses every entry as known.
        await client.index(index=STATE, id=rule.id, body=before, refresh="true")
        await asyncio.sleep(1.2)
        ctx_c = Context(client, settings)
        res = await ScheduledEvaluator(ctx_c).evaluate(rule, e0 + 10 * M)
        assert res.transitions == 3 and res.enqueued == 0, res
        await deliver_all(sender)
        await asyncio.sleep(0.5)
        assert len(receivers.at("/hook")) == 1
        # And back in normal operation: the next window (still erroring? no — minute 11 is quiet) resolves once.
        res = await ScheduledEvaluator(ctx_c).evaluate(rule, e0 + 11 * M)
        await deliver_all(sender)
        got = [r.json()["transition"] for r in await receivers.wait("/hook", 2)]
        assert got == ["firing", "resolved"]
    finally:
        await sender.close()
        with contextlib.suppress(Exception):
            await client.delete(index=LEASES, id=rule.id)


async def test_pipeline_lag_health_rule_reads_the_ingestion_watermark(env):
    from alerting.health import BUILTIN
    from opensearch.alerts_store import WATERMARKS
    from opensearch.watermarks import write_watermarks

    client, receivers, tenant = env
    group = "lh-test-lag-" + tenant
    ctx = Context(client, AlertingSettings(watermark="pipeline", watermark_group=group), watermark_group=group)
    now = ctx.now()
    spec = {**BUILTIN["pipeline-lag"], "for": "0s", "schedule": {"every": "1s"},
            "channels": [{"type": "webhook", "url": receivers.url("/hook"), "secret": "s"}]}
    doc = await manage.create_rule(ctx, tenant, spec)
    rule = Rule.model_validate(await ctx.rules.get(tenant, doc["id"]))
    ev, sender = ScheduledEvaluator(ctx), Sender(ctx)
    try:
        # Partition 0 has been stuck 10 minutes behind; partition 1 is caught up.
        await write_watermarks(client, group, [
            {"topic": "raw", "partition": 0, "record_ts": now - 600_000, "caught_up": False, "updated_at": now},
            {"topic": "raw", "partition": 1, "record_ts": now - 1000, "caught_up": True, "updated_at": now}])
        await client.indices.refresh(index=WATERMARKS)
        safe, late = await ev.safe_until()
        assert late  # the evaluator does not wait for a watermark that far behind
        res = await ev.evaluate(rule, safe)
        assert res.transitions == 1, res
        await deliver_all(sender)
        got = (await receivers.wait("/hook", 1))[0].json()
        assert got["transition"] == "firing" and 590 <= got["value"] <= 700
        # The backlog drains: both partitions caught up → resolved.
        later = ctx.now()
        await write_watermarks(client, group, [{"topic": "raw", "partition": p, "record_ts": later, "caught_up": True,
                                                "updated_at": later} for p in (0, 1)])
        await client.indices.refresh(index=WATERMARKS)
        await asyncio.sleep(1.1)
        safe, late = await ev.safe_until()
        assert not late
        await ev.evaluate(rule, safe + 1000)
        await deliver_all(sender)
        assert [r.json()["transition"] for r in await receivers.wait("/hook", 2)] == ["firing", "resolved"]
    finally:
        await sender.close()
        await client.delete_by_query(index=WATERMARKS, body={"query": {"term": {"group": group}}},
                                     params={"refresh": "true", "conflicts": "proceed"})
        with contextlib.suppress(Exception):
            await client.delete(index=LEASES, id=rule.id)


async def test_a_failing_query_is_an_error_state_shown_and_retried(env):
    client, _, tenant = env
    ctx = Context(client, AlertingSettings(watermark="clock"))
    now = ctx.now()
    end = now - now % M - 5 * M
    await index_errors(client, tenant, end, ["api"])
    # avg over a text field: OpenSearch refuses the aggregation.
    doc = await manage.create_rule(ctx, tenant, {
        "name": "broken", "condition": {"type": "metric", "metric": {"agg": "avg", "field": "message"},
                                        "threshold": 1}})
    rule = Rule.model_validate(await ctx.rules.get(tenant, doc["id"]))
    try:
        res = await ScheduledEvaluator(ctx).evaluate(rule, end)
        assert res.error and res.windows == 0
        await client.indices.refresh(index=STATE)
        active = await manage.active(ctx, tenant)
        assert [(a["rule_id"], a["state"]) for a in active] == [(rule.id, "error")] and active[0]["error"]
        listed = await manage.list_rules(ctx, tenant)
        assert listed[0]["state"]["state"] == "error"
        state = (await client.get(index=STATE, id=rule.id))["_source"]
        assert state["last_end"] is None  # the window is retried next tick, not skipped
    finally:
        with contextlib.suppress(Exception):
            await client.delete(index=LEASES, id=rule.id)
