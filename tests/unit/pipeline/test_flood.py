"""Flood aggregation: the first N (then K) events of a pattern per window pass, the rest become
one summary per batch whose count says how many it stands for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from logharbor.envelope import Envelope
from pipeline import metrics
from pipeline.event import Event
from pipeline.logpatterns.flood import COUNT, FIRST, LAST, SUMMARY, FloodConfig, FloodStep
from pipeline.logpatterns.step import PatternsConfig, PatternsStep
from pipeline.step import Chain
from pipeline.step_kinds import parse_step_config

T0 = datetime(2026, 1, 19, 10, 0, 0, tzinfo=UTC)


def events(n: int, start: datetime, service: str = "api", msg: str = "Database timeout after {i} ms") -> list[Event]:
    out = []
    for i in range(n):
        env = Envelope(id=f"{service}-{start.timestamp()}-{i}", tenant="acme", source=service,
                       received_at="2026-01-19T10:00:00Z", message=msg.format(i=i))
        e = Event.from_envelope(env)
        e.ts = start + timedelta(milliseconds=10 * i)
        out.append(e)
    return out


def chain(**flood: object) -> Chain:
    return Chain([PatternsStep(PatternsConfig(store=False)), FloodStep(FloodConfig(**flood))])


def folded(rule: str = "flood") -> float:
    return metrics.FLOOD_FOLDED.labels(rule)._value.get()


def test_first_n_pass_then_one_summary_per_batch() -> None:
    c = chain(threshold=5, keep=2, window_s=60)
    before = folded()
    res = c.run(events(50, T0))
    plain = [e for e in res.kept if not e.doc.get(SUMMARY)]
    summaries = [e for e in res.kept if e.doc.get(SUMMARY)]
    assert len(plain) == 5 and len(summaries) == 1
    s = summaries[0].doc
    assert s[COUNT] == 45 and "flood_summary" in summaries[0].tags
    assert s[FIRST] == "2026-01-19T10:00:00.050Z" and s[LAST] == "2026-01-19T10:00:00.490Z"
    assert s["logharbor.pattern.id"] == plain[0].doc["logharbor.pattern.id"]
    assert folded() - before == 44 and res.dropped == 44  # the summary itself is stored
    # the next batch of the same window: another summary; the counts add up
    res2 = c.run(events(10, T0 + timedelta(seconds=5)))
    assert len(res2.kept) == 1 and res2.kept[0].doc[COUNT] == 10


def test_a_flood_continuing_into_the_next_window_keeps_only_k() -> None:
    c = chain(threshold=5, keep=2, window_s=60)
    c.run(events(20, T0))
    res = c.run(events(20, T0 + timedelta(seconds=60)))
    assert len([e for e in res.kept if not e.doc.get(SUMMARY)]) == 2
    assert [e.doc[COUNT] for e in res.kept if e.doc.get(SUMMARY)] == [18]
    calm = c.run(events(3, T0 + timedelta(seconds=180)))  # a quiet window later: back to N
    assert len(calm.kept) == 3 and not any(e.doc.get(SUMMARY) for e in calm.kept)


def test_other_patterns_and_sources_are_not_folded() -> None:
    c = chain(threshold=3, keep=1)
    batch = events(10, T0) + events(10, T0, service="web") + events(2, T0, msg="User {i} logged in")
    res = c.run(batch)
    counts: dict[tuple, int] = {}
    for e in res.kept:
        key = (e.doc["service.name"], e.doc["logharbor.pattern.id"], bool(e.doc.get(SUMMARY)))
        counts[key] = counts.get(key, 0) + (e.doc.get(COUNT) or 1)
    assert sum(counts.values()) == 22  # every event accounted for: stored, or in a summary's count
    assert len([e for e in res.kept if e.doc.get(SUMMARY)]) == 2  # api and web, not the login lines


def test_config() -> None:
    cfg = parse_step_config({"type": "flood", "threshold": 100, "keep": 5})
    assert isinstance(cfg, FloodConfig) and cfg.window_s == 60
    with pytest.raises(ValueError, match="keep"):
        parse_step_config({"type": "flood", "threshold": 5, "keep": 10})
