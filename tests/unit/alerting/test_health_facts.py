"""The storage / snapshot fact conditions: pure value functions and the built-in rules' comparison."""

from __future__ import annotations

import pytest

from alerting.health import BUILTIN, builtin_rules
from alerting.health_facts import read_fact, snapshot_value, storage_value
from alerting.rules import Rule, compare


def breached(name: str, value: float) -> bool:
    cond = BUILTIN[name]["condition"]
    return compare(cond["op"], value, cond["threshold"])


@pytest.mark.parametrize(("health", "fires"), [
    ({"state": "ok", "blocked_indices": [], "create_index_blocked": False}, False),
    ({"state": "low", "blocked_indices": [], "create_index_blocked": False}, False),
    ({"state": "high", "blocked_indices": [], "create_index_blocked": False}, True),
    ({"state": "flood", "blocked_indices": [], "create_index_blocked": False}, True),
    # ingest blocked although the node now reads ok (block not lifted yet) → still firing
    ({"state": "ok", "blocked_indices": ["logs-a-standard-000001"], "create_index_blocked": False}, True),
    ({"state": "low", "blocked_indices": [], "create_index_blocked": True}, True),
    ({}, False),
])
def test_storage_capacity_fires_on_high_flood_or_blocked(health, fires):
    assert breached("storage-capacity", storage_value(health)) is fires


def test_storage_value_levels():
    assert [storage_value({"state": s}) for s in ("ok", "low", "high", "flood")] == [0, 1, 2, 3]
    assert storage_value({"state": "high", "blocked_indices": ["x"]}) == 3
    assert storage_value({"state": "flood", "create_index_blocked": True}) == 3


@pytest.mark.parametrize(("health", "fires"), [
    ({"failing": True, "last_run": {"outcome": "PARTIAL"}}, True),
    ({"failing": True, "last_run": {"outcome": "SUCCESS"}, "last_verify": {"outcome": "failed"}}, True),
    ({"failing": False, "last_run": {"outcome": "SUCCESS"}}, False),
    ({"failing": False, "last_run": None}, False),
])
def test_snapshot_failing_follows_snapshot_health(health, fires):
    assert breached("snapshot-failing", snapshot_value(health)) is fires


def test_new_builtins_are_valid_disabled_and_queryless():
    rules = {r["builtin"]: Rule.model_validate(r) for r in builtin_rules("default", [])}
    for name, kind in (("storage-capacity", "storage"), ("snapshot-failing", "snapshot")):
        r = rules[name]
        assert r.condition.type == kind and not r.enabled and r.query == "" and not r.streaming
    assert "snapshot-failing" not in {r["builtin"] for r in builtin_rules("default", ["snapshot-failing"])}


def test_read_fact_refuses_other_types():
    with pytest.raises(ValueError, match="not a fact condition"):
        read_fact(None, "count")  # type: ignore[arg-type]
