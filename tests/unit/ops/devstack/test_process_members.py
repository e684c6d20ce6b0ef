"""A devstack record with members (``--nodes N``: one JVM per OpenSearch node) is stopped whole.

Real child processes (``sleep``) stand in for the JVMs: the record is saved and loaded as
``down`` does, one member is SIGKILLed as the three-node test does, and ``stop`` must still end
every other process; records written before members existed still load.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from ops.devstack import opensearch_node
from ops.devstack.process import (
    ProcessRecord,
    load_record,
    record_of,
    respawn_dead,
    save_record,
    spawn,
    state_file,
    stop,
)


def _sleeper(tmp_path: Path, n: int) -> tuple[subprocess.Popen, ProcessRecord]:
    proc = spawn(["sleep", "300"], tmp_path / f"s{n}.log", cwd=tmp_path)
    return proc, record_of("opensearch", proc, [], tmp_path / f"s{n}.log", {"node": f"Node {n}", "url": f"u{n}"})


def _wait_dead(rec: ProcessRecord) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and rec._alive():
        time.sleep(0.05)
    return not rec._alive()


def test_stop_ends_every_member_even_when_one_was_killed(tmp_path: Path) -> None:
    procs, recs = zip(*(_sleeper(tmp_path, n) for n in (1, 2, 3)), strict=True)
    first = recs[0]
    first.info["nodes"] = 3
    first.members = [{k: v for k, v in vars(r).items() if k != "members"} for r in recs[1:]]
    save_record(tmp_path, first)
    loaded = load_record(tmp_path, "opensearch")
    assert loaded is not None and [p.pid for p in loaded.processes()] == [p.pid for p in procs]
    assert {n: p.pid for n, p in opensearch_node.node_processes(loaded).items()} == \
        {"Node 1": procs[0].pid, "Node 2": procs[1].pid, "Node 3": procs[2].pid}

    os.kill(procs[1].pid, signal.SIGKILL)
    procs[1].wait(timeout=10)
    assert [p.pid for p in loaded.dead()] == [procs[1].pid]
    assert loaded.alive()  # the others still run, so `down` has something to stop

    assert stop(loaded, timeout_s=10)
    for p in procs:
        p.wait(timeout=10)
    assert all(_wait_dead(r) for r in loaded.processes())
    assert not loaded.alive() and not stop(loaded)


def test_record_without_members_loads_and_maps_every_node_to_its_one_jvm(tmp_path: Path) -> None:
    state_file(tmp_path, "opensearch").write_text(json.dumps(
        {"name": "opensearch", "pid": 1, "create_time": 0.0, "ports": [9200], "log": "x", "info": {"nodes": 3}}))
    rec = load_record(tmp_path, "opensearch")
    assert rec is not None and rec.members == []
    assert {n: p.pid for n, p in opensearch_node.node_processes(rec).items()} == {"Node 1": 1, "Node 2": 1, "Node 3": 1}


def test_a_killed_member_is_started_again_with_its_command_and_log(tmp_path: Path) -> None:
    procs, recs = zip(*(_sleeper(tmp_path, n) for n in (1, 2)), strict=True)
    for r in recs:
        r.info["cmd"] = ["sleep", "300"]
    first = recs[0]
    first.members = [{k: v for k, v in vars(recs[1]).items() if k != "members"}]
    os.kill(procs[1].pid, signal.SIGKILL)
    procs[1].wait(timeout=10)
    back = respawn_dead(first, tmp_path)
    try:
        assert [p.info["node"] for p in back] == ["Node 2"] and back[0].pid != procs[1].pid
        assert first.members[0]["pid"] == back[0].pid and first.dead() == []
        assert respawn_dead(first, tmp_path) == []  # nothing dead any more
    finally:
        stop(first, timeout_s=10)
        procs[0].wait(timeout=10)
