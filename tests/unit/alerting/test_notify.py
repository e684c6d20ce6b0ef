"""Outbox entries: keys, dedup keys stable per incident, silences, summaries above N groups."""

from __future__ import annotations

from alerting.notify import SUMMARY_GROUP, outbox_entries, silenced_by
from alerting.rules import Rule
from alerting.state import RuleState, advance

M = 60_000


def rule(**kw) -> Rule:
    return Rule.model_validate({"id": "r1", "tenant": "acme", "name": "errors", "query": "level:ERROR",
                                "condition": {"type": "count", "threshold": 0, "group_by": ["service.name"]},
                                "channels": [{"type": "webhook", "url": "http://127.0.0.1:1/h", "secret": "k"}], **kw})


def obs(n: int, value: float = 5) -> dict:
    return {f"service.name=s{i}": ({"service.name": f"s{i}"}, value + i) for i in range(n)}


def test_keys_and_dedup_key_stable_across_trigger_and_resolve():
    r, s = rule(), RuleState("r1", "acme")
    fire = outbox_entries(r, advance(r, s, obs(1), 3 * M), [], 3 * M, "http://ui")
    res = outbox_entries(r, advance(r, s, {}, 4 * M), [], 4 * M, "http://ui")
    assert fire[0]["key"] == "r1|service.name=s0|firing|180000" and res[0]["key"].endswith("|resolved|240000")
    assert fire[0]["notification"]["dedup_key"] == res[0]["notification"]["dedup_key"]
    assert fire[0]["notification"]["thread_id"] == res[0]["notification"]["thread_id"]
    assert fire[0]["notification"]["idempotency_key"] != res[0]["notification"]["idempotency_key"]
    assert fire[0]["status"] == "pending" and fire[0]["channels"] == [
        {"index": 0, "type": "webhook", "status": "pending", "attempts": 0}]
    assert "q=level%3AERROR" in fire[0]["notification"]["link"]


def test_more_groups_than_summary_over_send_one_summary():
    r, s = rule(summary_over=10), RuleState("r1", "acme")
    entries = outbox_entries(r, advance(r, s, obs(1000), M), [], M, "http://ui")
    pending = [e for e in entries if e["status"] == "pending"]
    assert len(entries) == 1001 and len(pending) == 1
    summary = pending[0]["notification"]
    assert summary["group"] == SUMMARY_GROUP and summary["total_groups"] == 1000
    assert [g["group"] for g in summary["groups"][:2]] == ["service.name=s999", "service.name=s998"]
    assert len(summary["groups"]) == 20
    few = outbox_entries(r, advance(r, RuleState("r1", "acme"), obs(3), M), [], M, "http://ui")
    assert [e["status"] for e in few] == ["pending"] * 3


def test_silences_match_labels_and_time():
    silence = {"id": "s1", "starts_at": 0, "ends_at": 10 * M,
               "matchers": [{"name": "rule_id", "value": "r1"},
                            {"name": "service.name", "value": "s[01]", "regex": True}]}
    r, s = rule(), RuleState("r1", "acme")
    entries = outbox_entries(r, advance(r, s, obs(3), M), [silence], M, "http://ui")
    assert [e["status"] for e in entries] == ["silenced", "silenced", "pending"]
    assert silenced_by([silence], {"rule_id": "r1", "service.name": "s0"}, 11 * M) is None
