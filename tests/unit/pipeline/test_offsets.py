"""pipeline/offsets.py: only the contiguous prefix of settled offsets is committed; revoked partitions forgotten."""

from __future__ import annotations

from pipeline.offsets import OffsetTracker


def test_offsets_commit_only_contiguous_prefix() -> None:
    t = OffsetTracker()
    for off in (10, 11, 12, 13):
        t.track("p0", off)
    t.track("p1", 5)
    t.done("p0", 11)
    t.done("p0", 13)
    assert t.committable() == {}
    t.done("p0", 10)
    assert t.committable() == {"p0": 12}
    t.mark_committed({"p0": 12})
    assert t.committable() == {}
    t.done("p0", 12)
    t.done("p1", 5)
    assert t.committable() == {"p0": 14, "p1": 6}
    assert t.pending("p0") == 0


def test_offsets_forget_revoked_partition() -> None:
    t = OffsetTracker()
    t.track("p0", 1)
    t.forget(["p0"])
    t.done("p0", 1)  # late completion after revoke is ignored
    assert t.committable() == {}
