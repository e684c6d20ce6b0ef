"""The state machine: pending/for, firing once, throttle per group, grace, resolve, catch-up reduction."""

from __future__ import annotations

from alerting.rules import Rule
from alerting.state import RuleState, advance, reduce_catchup

M = 60_000


def rule(**kw) -> Rule:
    base = {"id": "r1", "name": "errors", "query": "level:ERROR",
            "condition": {"type": "count", "op": ">", "threshold": 10, "window": "1m", **kw.pop("condition", {})}}
    return Rule.model_validate({**base, **kw})


def obs(**groups: float) -> dict:
    return {k: ({"service.name": k}, v) for k, v in groups.items()}


def kinds(ts) -> list[tuple[str, str, bool]]:
    return [(t.group, t.kind, t.notify) for t in ts]


def test_fires_once_and_resolves_once_without_group():
    r, s = rule(), RuleState("r1", "t")
    assert advance(r, s, {"*": ({}, 5.0)}, 1 * M) == []
    t = advance(r, s, {"*": ({}, 50.0)}, 2 * M)
    assert kinds(t) == [("*", "firing", True)]
    assert advance(r, s, {"*": ({}, 60.0)}, 3 * M) == []
    t = advance(r, s, {}, 4 * M)  # no events at all → count 0 → resolved
    assert kinds(t) == [("*", "resolved", True)] and t[0].fired_at == 2 * M
    assert advance(r, s, {}, 5 * M) == []


def test_for_keeps_pending_until_elapsed_and_pending_clears_silently():
    r, s = rule(**{"for": "2m"}), RuleState("r1", "t")
    assert advance(r, s, {"*": ({}, 50.0)}, 1 * M) == []
    assert s.groups["*"].state == "pending"
    assert advance(r, s, {"*": ({}, 50.0)}, 2 * M) == []
    assert kinds(advance(r, s, {"*": ({}, 50.0)}, 3 * M)) == [("*", "firing", True)]
    s2 = RuleState("r1", "t")
    advance(r, s2, {"*": ({}, 50.0)}, 1 * M)
    assert advance(r, s2, {"*": ({}, 1.0)}, 2 * M) == [] and "*" not in s2.groups


def test_throttle_is_per_group():
    r, s = rule(throttle="10m", condition={"group_by": ["service.name"]}), RuleState("r1", "t")
    assert kinds(advance(r, s, obs(api=50, web=50), 1 * M)) == [("api", "firing", True), ("web", "firing", True)]
    assert kinds(advance(r, s, obs(web=50), 2 * M)) == [("api", "resolved", True)]
    # api fires again within its throttle: recorded, not sent; a new group still notifies.
    assert kinds(advance(r, s, obs(api=50, web=50, db=50), 3 * M)) == [("api", "firing", False), ("db", "firing", True)]
    advance(r, s, obs(), 4 * M)
    assert kinds(advance(r, s, obs(api=50), 12 * M)) == [("api", "firing", True)]


def test_grace_delays_resolve_and_absorbs_flapping():
    r, s = rule(grace="2m"), RuleState("r1", "t")
    assert kinds(advance(r, s, {"*": ({}, 50.0)}, 1 * M)) == [("*", "firing", True)]
    assert advance(r, s, {"*": ({}, 1.0)}, 2 * M) == []  # clear, in grace
    assert advance(r, s, {"*": ({}, 50.0)}, 3 * M) == []  # breached again: same incident
    assert advance(r, s, {"*": ({}, 1.0)}, 4 * M) == []
    assert advance(r, s, {"*": ({}, 1.0)}, 5 * M) == []
    assert kinds(advance(r, s, {"*": ({}, 1.0)}, 6 * M)) == [("*", "resolved", True)]


def test_metric_without_data_never_breaches_and_less_than_counts_missing_as_zero():
    r = rule(condition={"type": "metric", "metric": {"agg": "p95", "field": "http.response.time"}, "op": ">"})
    s = RuleState("r1", "t")
    assert advance(r, s, {"*": ({}, None)}, M) == []
    low = rule(condition={"op": "<", "threshold": 1})
    s = RuleState("r1", "t")
    assert kinds(advance(low, s, {}, M)) == [("*", "firing", True)]


def test_state_round_trips_through_its_document():
    r, s = rule(condition={"group_by": ["service.name"]}), RuleState("r1", "t")
    advance(r, s, obs(api=50), M)
    back = RuleState.from_doc(s.to_doc())
    assert back.groups["api"].state == "firing" and back.last_end == M and s.to_doc()["firing"] == 1


def test_catchup_reduction_keeps_one_fire_and_one_resolve_per_group():
    r, s = rule(condition={"group_by": ["service.name"]}), RuleState("r1", "t")
    before = {}
    ts = []
    for i, o in enumerate([obs(api=50), obs(), obs(api=50), obs(), obs(web=50)]):
        ts += advance(r, s, o, (i + 1) * M)
    reduce_catchup(before, ts, s)
    sent = [(t.group, t.kind, t.window_end) for t in ts if t.notify]
    assert sent == [("api", "firing", 1 * M), ("api", "resolved", 4 * M), ("web", "firing", 5 * M)]
    resolved = next(t for t in ts if t.notify and t.kind == "resolved")
    assert resolved.fired_at == 1 * M  # the resolve names the incident the firing opened


def test_catchup_of_a_group_firing_before_and_after_sends_nothing():
    r, s = rule(), RuleState("r1", "t")
    advance(r, s, {"*": ({}, 50.0)}, M)
    before = {k: g.state for k, g in s.groups.items()}
    ts = advance(r, s, {}, 2 * M) + advance(r, s, {"*": ({}, 50.0)}, 3 * M)
    reduce_catchup(before, ts, s)
    assert [t for t in ts if t.notify] == [] and s.groups["*"].fired_at == M


def test_repeat_renotifies_until_acknowledged():
    r, s = rule(repeat="3m"), RuleState("r1", "t")
    assert kinds(advance(r, s, {"*": ({}, 50.0)}, 1 * M)) == [("*", "firing", True)]
    assert advance(r, s, {"*": ({}, 50.0)}, 2 * M) == [] and advance(r, s, {"*": ({}, 50.0)}, 3 * M) == []
    t = advance(r, s, {"*": ({}, 50.0)}, 4 * M)
    assert kinds(t) == [("*", "repeat", True)] and t[0].fired_at == 1 * M  # the same incident
    s.groups["*"].acked = True
    assert advance(r, s, {"*": ({}, 50.0)}, 7 * M) == []
    assert kinds(advance(r, s, {}, 8 * M)) == [("*", "resolved", True)] and not s.groups["*"].acked
