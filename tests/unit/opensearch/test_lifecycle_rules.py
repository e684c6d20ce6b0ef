"""Pure rules of the lifecycle engine: watermarks, size-budget planning, ISM policy shaping,
schedule slots in a time zone, restore renames. No servers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from logharbor.config import StorageSettings
from opensearch.definitions import policy_for
from opensearch.disk_monitor import free_required
from opensearch.lifecycle_ism import for_ism
from opensearch.size_budget import Backing, plan
from opensearch.snapshot_schedule import next_slots
from opensearch.snapshots import _renamed


def test_watermarks_in_percent_ratio_and_bytes():
    total = 1000 * 2**20
    assert free_required("85%", total) == int(total * 0.15)
    assert abs(free_required("0.9", total) - total // 10) <= 1
    assert free_required("500mb", total) == 500 * 2**20
    assert free_required("123b", total) == 123
    with pytest.raises(ValueError):
        free_required("lots", total)


def _b(name: str, ds: str, created: float, size: int, write: bool = False, status: str = "open") -> Backing:
    return Backing(name, ds, created, 10, size, write, status)


def test_size_budget_deletes_oldest_non_write_first_and_skips_held_and_pending():
    rows = [_b("a1", "logs-a-debug", 1, 100), _b("a2", "logs-a-debug", 2, 100), _b("a3", "logs-a-debug", 3, 100, True),
            _b("b1", "logs-b-debug", 1, 500)]
    assert [b.index for b, _ in plan(rows, {"a/debug": "250b"})] == ["a1"]
    assert [b.index for b, _ in plan(rows, {"a/debug": "50b"})] == ["a1", "a2"]  # never the write index
    assert plan(rows, {"a/debug": "50b"}, held={"logs-a-debug"}) == []
    assert [b.index for b, _ in plan(rows, {"a/debug": "150b"}, skip={"a1"})] == ["a2"]
    assert [b.index for b, _ in plan(rows, {"*": "700b"})] == ["a1"]  # cluster-wide, oldest first
    assert [b.index for b, _ in plan(rows, {"logs-b-*": "100b"})] == ["b1"]


def test_ism_policies_stop_at_cold_so_logharbor_deletes_safely():
    body = policy_for("debug", 7, StorageSettings())
    assert any(s["name"] == "delete" for s in body["policy"]["states"])
    ism = for_ism(body)
    names = [s["name"] for s in ism["policy"]["states"]]
    assert "delete" not in names and names[-1] == "cold"
    assert ism["policy"]["states"][-1]["transitions"] == []
    assert any(s["name"] == "delete" for s in body["policy"]["states"])  # the input is not mutated


def test_schedule_slots_follow_the_time_zone():
    after = datetime(2026, 1, 10, 12, 0, tzinfo=ZoneInfo("UTC")).timestamp()
    slots = next_slots("0 2 * * *", "Europe/Berlin", after, 2)
    local = [datetime.fromtimestamp(t, ZoneInfo("Europe/Berlin")) for t in slots]
    assert [(d.day, d.hour, d.minute) for d in local] == [(11, 2, 0), (12, 2, 0)]
    assert datetime.fromtimestamp(slots[0], ZoneInfo("UTC")).hour == 1  # 02:00 CET is 01:00 UTC


def test_restore_rename_uses_java_group_syntax():
    assert _renamed("logs-a-debug", "logs-(.+)", "restored-$1") == "restored-a-debug"
    assert _renamed(".ds-logs-a-debug-000001", None, None) == ".ds-logs-a-debug-000001"


def test_disk_blocks_are_recognised_as_wait_not_failure():
    from pipeline.indexer import is_flood_stage_block

    flood = {"type": "cluster_block_exception", "reason": "index [.ds-x] blocked by: [TOO_MANY_REQUESTS/12/disk "
             "usage exceeded flood-stage watermark, index has read-only-allow-delete block];"}
    create = {"type": "index_create_block_exception", "reason": "blocked by: [FORBIDDEN/10/cluster create-index "
              "blocked (api)];"}
    assert is_flood_stage_block(flood) and is_flood_stage_block(create)
    assert not is_flood_stage_block({"type": "es_rejected_execution_exception", "reason": "queue full"})
    assert not is_flood_stage_block({"type": "cluster_block_exception", "reason": "index closed"})
    assert not is_flood_stage_block(None)
