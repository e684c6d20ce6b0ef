"""Mergeable sketches: merged partials equal one pass, within each sketch's documented error."""

from __future__ import annotations

import random
import statistics

import pytest

from pipeline.streamagg.rollup import AggregationRules, Observation, fold, merge_rows, partial_documents
from pipeline.streamagg.sketches import HyperLogLog, Moments, QuantileSketch


def _values(n: int = 20_000) -> list[float]:
    rng = random.Random(7)
    return [rng.lognormvariate(4, 1) for _ in range(n)]


def test_moments_merge_exactly_with_population_stddev() -> None:
    values = _values()
    merged = Moments()
    for part in (values[0::3], values[1::3], values[2::3]):
        m = Moments()
        for v in part:
            m.add(v)
        merged.merge(Moments.from_json(m.to_json()))
    s = merged.summary()
    assert s["count"] == len(values) and s["min"] == min(values) and s["max"] == max(values)
    assert s["mean"] == pytest.approx(statistics.fmean(values), rel=1e-9)
    assert s["stddev"] == pytest.approx(statistics.pstdev(values), rel=1e-6)


def test_quantile_sketch_within_relative_accuracy_after_merge() -> None:
    values = _values()
    merged = QuantileSketch(alpha=0.01)
    for part in (values[0::2], values[1::2]):
        q = QuantileSketch(alpha=0.01)
        for v in part:
            q.add(v)
        merged.merge(QuantileSketch.from_json(q.to_json()))
    ordered = sorted(values)
    for qu in (0.5, 0.9, 0.95, 0.99, 0.999):
        true = ordered[int(qu * (len(ordered) - 1))]
        assert abs(merged.quantile(qu) - true) <= 0.01 * true * 1.0001, qu
    assert set(merged.quantiles()) == {"p50", "p90", "p95", "p99", "p99.9"}


def test_hyperloglog_merge_and_error() -> None:
    a, b = HyperLogLog(), HyperLogLog()
    for i in range(30_000):
        a.add(f"user-{i}")
    for i in range(20_000, 50_000):
        b.add(f"user-{i}")
    a.merge(HyperLogLog.from_json(b.to_json()))
    assert abs(a.estimate() - 50_000) <= 50_000 * 0.05  # 3 × the 1.6 % standard error
    small = HyperLogLog()
    for i in range(100):
        small.add(i)
    assert abs(small.estimate() - 100) <= 3  # linear counting


def test_partials_of_any_split_merge_to_one_pass() -> None:
    rules = AggregationRules()
    rng = random.Random(3)
    obs = [Observation(i % 3, i, "acme" if i % 5 else "other", 1_700_000_000_000 + i * 137,
                       {"service.name": f"svc{i % 4}", "log.level": rng.choice(["INFO", "ERROR"]),
                        "logharbor.pattern.id": f"p{i % 6}", "url.path": f"/a/{i % 3}",
                        "logharbor.duration_ms": rng.uniform(1, 500), "user.id": f"u{i % 97}"})
           for i in range(3000)]
    whole = merge_rows([r for _, d in partial_documents("raw", obs, rules, 0) for r in d["rows"]
                        if r["tenant"] == "acme" and r["kind"] == "count" and r["w"] == 60], ["service.name"])
    parts = []
    for k in range(0, 3000, 250):  # other batch boundaries
        parts += [r for _, d in partial_documents("raw", obs[k:k + 250], rules, 0) for r in d["rows"]
                  if r["tenant"] == "acme" and r["kind"] == "count" and r["w"] == 60]
    assert merge_rows(parts, ["service.name"]) == whole
    assert sum(r["count"] for r in whole) == sum(1 for o in obs if o.tenant == "acme")
    cells = fold(obs, rules)
    assert {k[1] for k in cells} == {"count", "duration", "unique"}


def test_rules_from_yaml(tmp_path) -> None:
    path = tmp_path / "agg.yaml"
    path.write_text("aggregation:\n  windows_s: [10]\n  unique_fields: [user.id, client.ip]\n")
    rules = AggregationRules.from_yaml(path)
    assert rules.windows_s == [10] and rules.unique_fields == ["user.id", "client.ip"]
    with pytest.raises(ValueError):
        AggregationRules.model_validate({"windows": [10]})



def test_kind_cells_count_events_with_values_and_fold_per_window() -> None:
    rules = AggregationRules(windows_s=[10, 60])
    obs = [Observation(0, i, "t", 1_700_000_000_000 + i * 1000,
                       {"service.name": "api", "url.path": "/a", **({"logharbor.duration_ms": 5.0} if i % 2 else {})})
           for i in range(30)]
    cells = fold(obs, rules)
    dur = [c for k, c in cells.items() if k[1] == "duration" and k[2] == 60]
    assert sum(c.count for c in dur) == 15 == sum(c.moments.count for c in dur if c.moments)  # type: ignore[union-attr]
    tens = sorted((k[3], c.count) for k, c in cells.items() if k[1] == "count" and k[2] == 10)
    assert [n for _, n in tens] == [10, 10, 10]
