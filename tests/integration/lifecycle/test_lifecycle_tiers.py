"""Tiers on a real three-node cluster (``devstack up --nodes 3``: temp = hot, warm, cold).

The test starts its OWN cluster (free ports, its own data dir — never the shared devstack) and
ages an index with a later ``now``: its shards are observed in ``_cat/shards`` on the warm node
(read-only, force-merged) and then on the cold node; a fresh index gets one replica because a
second eligible node exists (``auto_expand_replicas 0-1``), so its documents survive a node.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from lifecycle_nodes import free_http_port

from logharbor.config import OpenSearchSettings
from opensearch import lifecycle
from opensearch.bootstrap import bootstrap
from opensearch.client import sync_client
from ops.devstack import stack
from ops.devstack.process import port_in_use
from ops.devstack.settings import DevstackSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]
DAY = 86400.0


def _free_transport_run(n: int) -> int:
    for base in range(19500, 29000, 11):
        if not any(port_in_use(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free transport ports")


def _where(client, index: str) -> list[tuple[str, str, str]]:
    """(prirep, state, node temp) of every copy of ``index``'s shards."""
    temps = {r["node"]: r["value"] for r in client.cat.nodeattrs(format="json") if r.get("attr") == "temp"}
    rows = client.cat.shards(index=index, format="json", h="prirep,state,node")
    return sorted((r["prirep"], r["state"], temps.get(r.get("node") or "", "-")) for r in rows)


def _wait(pred, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(1)
    return False


def test_index_moves_hot_warm_cold_and_fresh_index_has_a_replica() -> None:
    data = tempfile.mkdtemp(prefix="logharbor-tiers-")
    settings = DevstackSettings(data_dir=Path(data), nodes=3, opensearch_port=free_http_port(3),
                                opensearch_transport_port=_free_transport_run(3), opensearch_heap_mb=384,
                                cluster_name="logharbor-tiers-test")
    stack.up(settings, ["opensearch"], log=lambda m: None)
    client = sync_client(OpenSearchSettings(url=f"http://127.0.0.1:{settings.opensearch_port}", timeout_s=120))
    try:
        assert lifecycle.node_tiers(client) == {"hot", "warm", "cold"}
        bootstrap(client)
        stream = f"logs-t{uuid.uuid4().hex[:8]}-standard"
        for g in range(2):
            body = []
            for i in range(300):
                body += [{"create": {"_index": stream}}, {"@timestamp": "2026-11-30T10:00:00Z", "message": f"{g}-{i}"}]
            assert not client.bulk(body=body, refresh="true")["errors"]
            if g == 0:
                client.indices.rollover(alias=stream)
        backing = [i["index_name"] for i in client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"]]
        old, fresh = backing
        # a fresh index: primary and one replica, on two different nodes (green)
        assert _wait(lambda: client.cluster.health(index=fresh)["status"] == "green", 90)
        copies = _where(client, fresh)
        assert [c[0] for c in copies] == ["p", "r"] and len({c[2] for c in copies}) == 2, copies

        report = lifecycle.run_once(client, now=time.time() + 3 * DAY, pattern=stream)
        assert (old, "hot", "warm") in report.transitions, report
        assert _wait(lambda: {c[2] for c in _where(client, old) if c[1] == "STARTED"} == {"warm"} and
                     all(c[1] == "STARTED" for c in _where(client, old)), 120), _where(client, old)
        lifecycle.run_once(client, now=time.time() + 3 * DAY, pattern=stream)  # the next run merges
        idx = client.indices.get_settings(index=old)[old]["settings"]["index"]
        assert idx["blocks"]["write"] == "true" and idx["routing"]["allocation"]["require"]["temp"] == "warm"
        assert _wait(lambda: len({s["segment"] for s in client.cat.segments(index=old, format="json")
                                  if s.get("prirep") == "p"}) <= 1, 60), "warm phase force-merges to 1 segment"
        assert client.count(index=old)["count"] == 300

        report = lifecycle.run_once(client, now=time.time() + 8 * DAY, pattern=stream)
        assert (old, "warm", "cold") in report.transitions, report
        assert _wait(lambda: {c[2] for c in _where(client, old) if c[1] == "STARTED"} == {"cold"} and
                     all(c[1] == "STARTED" for c in _where(client, old)), 120), _where(client, old)
        client.indices.refresh(index=stream)
        assert client.count(index=stream)["count"] == 600
    finally:
        client.close()
        stack.down(settings, ["opensearch"], log=lambda m: None)
        shutil.rmtree(data, ignore_errors=True)
