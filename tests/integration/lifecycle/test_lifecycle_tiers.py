"""Tiers on a real three-node cluster (``devstack up --nodes 3``: temp = hot, warm, cold).

The test starts its OWN cluster (free ports, its own data dir — never the shared devstack), one
JVM per node, and ages an index with a later ``now``: its shards are observed in ``_cat/shards``
on the warm node (read-only, force-merged) and then on the cold node; a fresh index gets one
replica because a second eligible node exists (``auto_expand_replicas 0-1``). Then the JVM of a
node holding a copy of the stream's write index (the hot one) is SIGKILLed: that index goes
yellow, not red, and every document of the stream is still found by search (count and
content); ``devstack up`` then starts that node's JVM again and the cluster returns to green.
Aged indices have no replica here (one warm, one cold node: ``auto_expand_replicas`` respects
the tier filters), so the node killed is never the one holding their only copy (docs/STORAGE.md).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from lifecycle_nodes import free_http_port
from opensearchpy.exceptions import OpenSearchException

from logharbor.config import OpenSearchSettings
from opensearch import lifecycle
from opensearch.bootstrap import bootstrap
from opensearch.client import sync_client
from ops.devstack import opensearch_node, stack
from ops.devstack.process import load_record, port_in_use
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
        try:
            if pred():
                return True
        except OpenSearchException:  # e.g. no cluster manager for a moment after a node is killed
            pass
        time.sleep(1)
    return False


def _settled(health: dict) -> bool:
    return health["status"] == "green" and health["relocating_shards"] == 0 and health["initializing_shards"] == 0


def _victim(client, index: str) -> str:
    """A node holding a copy of ``index`` but no shard's only copy (so killing it loses nothing), hot first."""
    copies: dict[tuple[str, str], set[str]] = {}
    for r in client.cat.shards(format="json", h="index,shard,node,state"):
        if r.get("state") == "STARTED":
            copies.setdefault((r["index"], r["shard"]), set()).add(r["node"])
    sole = {next(iter(nodes)) for nodes in copies.values() if len(nodes) == 1}
    holders = set().union(*(nodes for (name, _), nodes in copies.items() if name == index))
    temps = {r["node"]: r["value"] for r in client.cat.nodeattrs(format="json") if r.get("attr") == "temp"}
    ok = sorted(holders - sole, key=lambda n: (temps.get(n) != "hot", n))
    assert ok, f"every holder of {index} also holds a shard's only copy: {copies}"
    return ok[0]


def _kill_node(settings: DevstackSettings, victim: str):
    """SIGKILL the JVM of node ``victim``; a client to a surviving node."""
    record = load_record(settings.data_dir, "opensearch")
    assert record is not None
    procs = opensearch_node.node_processes(record)
    assert len({p.pid for p in procs.values()}) == 3, "each node must be its own JVM (one process each)"
    os.kill(procs[victim].pid, signal.SIGKILL)
    url = next(p.info["url"] for name, p in procs.items() if name != victim)
    return sync_client(OpenSearchSettings(url=url, timeout_s=120))


def test_index_moves_hot_warm_cold_and_a_killed_node_loses_nothing() -> None:
    data = tempfile.mkdtemp(prefix="logharbor-tiers-")
    settings = DevstackSettings(data_dir=Path(data), nodes=3, opensearch_port=free_http_port(3),
                                opensearch_transport_port=_free_transport_run(3), opensearch_node_heap_mb=320,
                                cluster_name="logharbor-tiers-test")
    t0 = time.monotonic()
    stack.up(settings, ["opensearch"], log=lambda m: None)
    print(f"tiers test: three JVMs up at {time.monotonic() - t0:.0f}s")
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

        print(f"tiers test: indexed, fresh index replicated at {time.monotonic() - t0:.0f}s")
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

        print(f"tiers test: warm, merged at {time.monotonic() - t0:.0f}s")
        report = lifecycle.run_once(client, now=time.time() + 8 * DAY, pattern=stream)
        assert (old, "warm", "cold") in report.transitions, report
        assert _wait(lambda: {c[2] for c in _where(client, old) if c[1] == "STARTED"} == {"cold"} and
                     all(c[1] == "STARTED" for c in _where(client, old)), 120), _where(client, old)
        client.indices.refresh(index=stream)
        assert client.count(index=stream)["count"] == 600

        # losing a node: a third batch goes to the stream's write index (one primary, one replica), then
        # the JVM of a node holding a copy of it is SIGKILLed — never a node holding the only copy of a
        # shard (the aged indices have no replica: one warm and one cold node)
        body = []
        for i in range(300):
            body += [{"create": {"_index": stream}}, {"@timestamp": "2026-11-30T10:00:00Z", "message": f"2-{i}"}]
        assert not client.bulk(body=body, refresh="true")["errors"]
        write = client.indices.get_data_stream(name=stream)["data_streams"][0]["indices"][-1]["index_name"]
        # green and settled: a shard the balancer is still moving has one STARTED copy only
        assert _wait(lambda: _settled(client.cluster.health()), 120), client.cluster.health()
        victim = _victim(client, write)
        print(f"tiers test: third batch replicated at {time.monotonic() - t0:.0f}s; killing {victim}")
        client.close()
        client = _kill_node(settings, victim)
        assert _wait(lambda: len(client.cat.nodes(format="json")) == 2, 90), "the killed node never left"
        # its copy is gone, the other serves the index (promoted to primary if it was the replica); the
        # replica waits for the node (delayed_timeout 1 min): yellow, not red
        assert _wait(lambda: client.cluster.health(index=write)["status"] == "yellow", 60), \
            (client.cluster.health(index=write), _where(client, write))
        assert client.cluster.health()["status"] == "yellow", client.cluster.health()
        print(f"tiers test: node killed, cluster yellow at {time.monotonic() - t0:.0f}s")
        client.indices.refresh(index=stream)
        assert client.count(index=write)["count"] == 300
        hits = client.search(index=stream, body={"size": 1000, "query": {"match_all": {}}, "_source": ["message"]})
        assert hits["hits"]["total"]["value"] == 900
        assert sorted(h["_source"]["message"] for h in hits["hits"]["hits"]) == \
            sorted(f"{g}-{i}" for g in range(3) for i in range(300))

        # `devstack up` starts the dead node's JVM again (same data dir); its copy recovers: green
        stack.up(settings, ["opensearch"], log=lambda m: None)
        assert _wait(lambda: client.cluster.health()["status"] == "green", 120), _where(client, write)
        assert len(client.cat.nodes(format="json")) == 3 and len(_where(client, write)) == 2
        print(f"tiers test: node restarted, green at {time.monotonic() - t0:.0f}s")
    finally:
        client.close()
        stack.down(settings, ["opensearch"], log=lambda m: None)
        shutil.rmtree(data, ignore_errors=True)
