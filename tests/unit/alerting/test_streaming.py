"""The streaming match engine: tenant isolation, keys per event / per throttle bucket, the
per-minute cap with a summary, and the prefilter never skipping a rule that matches."""

from __future__ import annotations

import random

from alerting.evaluator import Context
from alerting.prefilter import Prefilter
from alerting.rules import Rule
from alerting.settings import AlertingSettings
from alerting.streaming import MatchEngine
from opensearch.query import compile_matcher, parse


def engine(*rules: dict, **settings) -> MatchEngine:
    e = MatchEngine(Context(None, AlertingSettings(**settings)))  # type: ignore[arg-type]
    e.load([Rule.model_validate({"name": r.get("id", "m"), "condition": {"type": "match", **r.pop("condition", {})},
                                 **r}) for r in rules])
    return e


def doc(i: int, tenant: str = "acme", msg: str = "card declined", svc: str = "api", ts: int = 0) -> dict:
    return {"@timestamp": ts or 1_700_000_000_000 + i, "event.id": f"e{i}", "message": msg, "service.name": svc,
            "data_stream": {"name": f"logs-{tenant}-standard"}}


def test_only_the_rule_tenant_and_matching_events():
    e = engine({"id": "m1", "tenant": "acme", "query": '"card declined"'})
    assert len(e.judge(doc(1), 0)) == 1
    assert e.judge(doc(2, tenant="other"), 0) == []
    assert e.judge(doc(3, msg="all good"), 0) == []
    assert e.judge(doc(1), 0) == []  # the same event again (replay): no second entry


def test_throttle_keys_by_group_and_bucket():
    e = engine({"id": "m1", "tenant": "acme", "query": '"card declined"', "throttle": "1m",
                "condition": {"group_by": ["service.name"]}})
    t0 = 1_700_000_040_000
    keys = [x["key"] for i in range(5) for x in e.judge(doc(i, ts=t0 + i * 1000), t0)]
    keys += [x["key"] for x in e.judge(doc(9, svc="web", ts=t0), t0)]
    keys += [x["key"] for x in e.judge(doc(10, ts=t0 + 60_000), t0)]
    assert keys == [f"m1|service.name=api|match|{t0 // 60_000}", f"m1|service.name=web|match|{t0 // 60_000}",
                    f"m1|service.name=api|match|{t0 // 60_000 + 1}"]


def test_per_minute_cap_then_one_summary():
    e = engine({"id": "m1", "tenant": "acme", "query": '"card declined"'}, match_max_per_minute=3)
    now = 1_700_000_040_000
    out = [x for i in range(10) for x in e.judge(doc(i), now)]
    assert [x["status"] for x in out] == ["sending"] * 3 + ["summarised"] * 7
    summary = e.flush_summaries(now + 60_000)
    assert len(summary) == 1 and summary[0]["notification"]["total_groups"] == 7
    assert e.flush_summaries(now + 120_000) == []


def test_prefilter_agrees_with_the_matchers():
    texts = ['service:api AND "payment failed"', "service:(api OR web) AND level:ERROR", "level:ERROR",
             'host.name:h1 AND NOT service:api', '"timeout"', "service:db", "service:api OR level:WARN"]
    queries = [parse(t) for t in texts]
    matchers = [compile_matcher(q) for q in queries]
    pre = Prefilter(queries)
    rnd = random.Random(1)
    for _ in range(2000):
        d = {"service.name": rnd.choice(["api", "web", "db", "x"]), "log.level": rnd.choice(["ERROR", "WARN", "INFO"]),
             "host.name": rnd.choice(["h1", "h2"]), "message": rnd.choice(["payment failed", "timeout here", "ok"])}
        want = [j for j, m in enumerate(matchers) if m(d)]
        got = [j for j in pre.candidates(d) if matchers[j](d)]
        assert got == want, (d, got, want)
    assert len(pre.always) < len(texts)
