"""The chaos oracle's tally: it must notice every lost and every doubled line, ignore other runs'."""

from __future__ import annotations

from ops.chaos.oracle import SEQ, tally
from ops.chaos.scenarios import PLANNED, SCENARIOS


def test_tally_counts_loss_and_duplicates() -> None:
    texts = [f"2026-01-01T00:00:00Z INFO chaos-r1 file=0 seq={s} x" for s in (0, 1, 1, 3)]
    texts += ["chaos-r1 file=1 seq=0 y", "chaos-other file=0 seq=2 x", "unrelated"]
    v = tally(texts, "r1", [4, 1])
    assert (v.sent, v.stored, v.docs, v.lost, v.duplicates) == (5, 4, 5, 1, 1)
    assert v.missing_sample == ["file=0 seq=2"]


def test_exact_once_is_clean() -> None:
    v = tally((f"chaos-r file={k} seq={s}" for k in range(2) for s in range(3)), "r", [3, 3])
    assert (v.sent, v.stored, v.lost, v.duplicates) == (6, 6, 0, 0)


def test_line_format_round_trips() -> None:
    assert SEQ.search("… chaos-ab12 file=1 seq=42 GET").groups() == ("ab12", "1", "42")


def test_scenario_table() -> None:
    assert {"gateway-kill", "pipeline-kill", "rolling-restart"} <= set(SCENARIOS)
    assert not set(SCENARIOS) & set(PLANNED)
    # every scenario issue 20 names is implemented; the ones that change server state run only on
    # servers of the run's own
    named = {"kafka-leader-kill", "opensearch-node-kill", "opensearch-pause", "gateway-kill", "pipeline-kill",
             "rolling-restart", "network-partition", "disk-watermark"}
    assert named <= set(SCENARIOS) and not PLANNED
    assert SCENARIOS["disk-watermark"].own_opensearch and SCENARIOS["opensearch-pause"].own_opensearch


def test_soak_slope_per_minute() -> None:
    from ops.chaos.soak import slope_per_min

    assert slope_per_min([(0, 100.0), (30, 101.0), (60, 102.0)]) == 2.0  # +1 MB per 30 s
    assert slope_per_min([(0, 5.0), (60, 5.0), (120, 5.0)]) == 0.0
    assert slope_per_min([(0, 1.0)]) is None


def test_shipper_sources_land_on_partitions_owned_by_different_pipelines() -> None:
    """Each shipper's key source must put its lines on the first / last raw partition with the
    partitioner the gateway uses, so both members of the two-pipeline group get work."""
    from aiokafka.partitioner import DefaultPartitioner

    from ops.chaos.stack import source_for_partition

    partitioner = DefaultPartitioner()
    parts = [0, 1, 2, 3]
    for prefix, target in (("chaos-0", 0), ("chaos-1", 3)):
        source = source_for_partition(prefix, target, 4)
        assert source.startswith(prefix + "-")
        assert partitioner(source.encode(), parts, parts) == target


def test_port_runs_avoid_the_ephemeral_range() -> None:
    """Servers started one after another must not find their port taken by an earlier one's
    outgoing connection (an ephemeral source port)."""
    import socket

    from ops.chaos.stack import _ephemeral_range, free_port_run

    low, high = _ephemeral_range()
    for _ in range(20):
        base = free_port_run(6)
        assert not (low <= base + 5 and base <= high), (base, low, high)
        for port in range(base, base + 6):  # and each port of the run can be bound
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
