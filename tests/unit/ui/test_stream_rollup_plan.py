"""Which aggregate requests the streaming rollup covers, and its answer's shape from partial rows."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.streamagg.rollup import AggregationRules, Observation, partial_documents
from ui import stream_rollup
from ui.params import parse_aggregate
from ui.settings import UISettings

NOW = datetime(2026, 1, 19, 12, 0, 0, tzinfo=UTC)
RULES = AggregationRules()


def params(**q: str):
    base = {"from": "2026-01-19T10:00:00Z", "to": "2026-01-19T11:00:00Z"}
    return parse_aggregate({**base, **q}, UISettings(), NOW)


def test_covered_shapes_pick_the_largest_aligned_window() -> None:
    p = params(metric="count", group_by="service,level")
    assert stream_rollup.plan(p, None, RULES).window_s == 60  # type: ignore[union-attr]
    p = params(metric="count", **{"from": "2026-01-19T10:00:10Z"})
    assert stream_rollup.plan(p, None, RULES).window_s == 10  # type: ignore[union-attr]
    assert stream_rollup.plan(params(metric="stddev", field="logharbor.duration_ms", group_by="url.path"),
                              None, RULES).kind == "duration"  # type: ignore[union-attr]
    assert stream_rollup.plan(params(metric="cardinality", field="user.id"), 60, RULES).kind == "unique"  # type: ignore[union-attr]


def test_uncovered_shapes() -> None:
    for p, interval in ((params(metric="count", q="timeout"), None),
                        (params(metric="count", group_by="host"), None),
                        (params(metric="avg", field="event.duration"), None),
                        (params(metric="avg", field="logharbor.duration_ms", level="error"), None),
                        (params(metric="cardinality", field="client.ip"), None),
                        (params(metric="count", **{"from": "2026-01-19T10:00:05Z"}), None),
                        (params(metric="count", interval="15s"), 15)):
        assert stream_rollup.plan(p, interval, RULES) is None, p


def test_answer_ranks_groups_and_fills_time_buckets() -> None:
    base = int(datetime(2026, 1, 19, 10, 0, tzinfo=UTC).timestamp() * 1000)
    obs = [Observation(0, i, "t", base + i * 7_000, {"service.name": "api" if i % 3 else "web",
                                                       "log.level": "ERROR" if i % 4 == 0 else "INFO"})
           for i in range(300)]  # 35 minutes of events
    rows = [r for _, d in partial_documents("raw", obs, RULES, 0) for r in d["rows"]]
    p = params(metric="error_rate", group_by="service", interval="10m")
    plan = stream_rollup.plan(p, 600, RULES)
    assert plan is not None and stream_rollup.consistent(rows, plan, RULES)
    total, out = stream_rollup.answer(rows, p, plan, 600, RULES.count_dimensions)
    assert total == 300
    assert [r["key"]["service.name"] for r in out] == ["api"] * 6 + ["web"] * 6  # api has more events
    assert out[0]["key"]["@timestamp"] == "2026-01-19T10:00:00.000Z" and out[5]["count"] == 0
    assert sum(r["count"] for r in out) == 300 and sum(r["errors"] for r in out) == 75
    other = AggregationRules(count_dimensions=["service.name", "host.name"])  # rules the partials were not written with
    assert not stream_rollup.consistent(rows, plan, other)
