"""The devstack as an operator uses it: a three-node tiered cluster, status, and a clean `down`.

Runs a second, OpenSearch-only devstack on its own ports and data dir, so it never touches
the servers the rest of the session uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil
import pytest

from ops.devstack.process import port_in_use

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE = 9250  # the runner binds HTTP ports up to 9299 only
TRANSPORT = 19350


def _cli(args: list[str], env: dict[str, str], timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops.cli", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_three_tiered_nodes_then_down_leaves_nothing(tmp_path):
    env = {**os.environ, "LOGHARBOR_DEVSTACK_DATA_DIR": str(tmp_path / "ds")}
    ports = ["--opensearch-port", str(BASE), "--transport-port", str(TRANSPORT)]
    up = _cli(["devstack", "up", "--only", "opensearch", "--nodes", "3", *ports], env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "OpenSearch is" in up.stdout
        again = _cli(["devstack", "up", "--only", "opensearch", "--nodes", "3", *ports], env)
        assert "already running" in again.stdout
        st = _cli(["devstack", "status", "--json", *ports], env)
        info = json.loads(st.stdout)["opensearch"]
        assert info["running"] and info["status"] in ("green", "yellow")
        assert sorted(n["temp"] for n in info["nodes"]) == ["cold", "hot", "warm"]
        pid = info["pid"]
    finally:
        down = _cli(["devstack", "down", *ports], env)
    assert down.returncode == 0, down.stderr
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    for port in [BASE, BASE + 1, BASE + 2, TRANSPORT, TRANSPORT + 1, TRANSPORT + 2]:
        assert not port_in_use(port), f"port {port} still listening after down"
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
