"""The fault scenarios: what each does to the stack, on a timeline relative to the run.

A scenario is a function ``(stack, clock) -> None`` run in a thread beside the load; it uses
``clock.at(fraction)`` to wait until that fraction of the load period and ``clock.mark(name)``
to record what it did (``fault`` and ``heal`` marks feed ``recovery_s``). ``max_loss`` is the
scenario's contract: 0 means every line must be stored exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ops.chaos.stack import ChaosStack


class Clock(Protocol):
    def at(self, fraction: float) -> None: ...
    def mark(self, name: str) -> None: ...


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    apply: Callable[[ChaosStack, Clock], None]
    max_loss: int = 0
    own_kafka: bool = False  # the stack runs a broker of its own (the fault hits it)
    netns: bool = False  # shipper-0 runs in a network namespace of the run's own
    own_opensearch: bool = False  # the stack runs an OpenSearch node of its own (the fault hits it)
    opensearch_nodes: int = 1  # nodes of that cluster (one JVM each when more than one)


def gateway_kill(stack: ChaosStack, clock: Clock) -> None:
    """kill -9 the gateway shipper-0 prefers; both shippers carry on through the other one."""
    clock.at(0.25)
    stack.gateways[0].kill()
    clock.mark("fault")
    clock.at(0.6)
    stack.gateways[0].start()
    clock.mark("heal")


def pipeline_kill(stack: ChaosStack, clock: Clock) -> None:
    """kill -9 a pipeline process four times (alternating), restarting each a second later."""
    for i, at in enumerate((0.15, 0.35, 0.55, 0.75)):
        clock.at(at)
        stack.pipelines[i % 2].kill()
        clock.mark("fault" if i == 0 else f"kill-{i}")
        time.sleep(1.0)
        stack.pipelines[i % 2].start()
    clock.mark("heal")


def kafka_leader_kill(stack: ChaosStack, clock: Clock) -> None:
    """kill -9 the broker leading most raw partitions of the run's own three-broker Kafka
    (replication 3, min ISR 2), restart it 3 s later: leadership moves to an in-sync replica and
    acks=all writes go on; nothing acknowledged is lost."""
    clock.at(0.25)
    leader = stack.kill_kafka()
    clock.mark("fault")
    clock.mark(f"killed-broker-{leader}")
    # the controller fences a broker after broker.session.timeout.ms (9 s by default), then moves
    # its leaderships to in-sync replicas
    deadline = time.monotonic() + 45
    while leader in stack.raw_leaders().values() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert leader not in stack.raw_leaders().values(), "no leadership moved off the killed broker within 45 s"
    clock.mark("leaders-moved")
    stack.start_kafka()
    clock.mark("heal")


def rolling_restart(stack: ChaosStack, clock: Clock) -> None:
    """SIGTERM and restart every process in turn: gateways, pipelines, shippers."""
    order = stack.gateways + stack.pipelines + stack.shippers
    clock.mark("fault")
    for i, proc in enumerate(order):
        clock.at(0.1 + 0.75 * i / len(order))
        proc.stop()
        proc.start()
        clock.mark(f"restarted-{proc.name}")
    clock.mark("heal")


def network_partition(stack: ChaosStack, clock: Clock) -> None:
    """Cut shipper-0 (in its network namespace) off both gateways mid-load, then heal: its
    in-flight requests hang until their timeout, it spools and resends; nothing lost or doubled."""
    assert stack.netns is not None, "network-partition needs the stack's network namespace"
    port = stack.gateways[0].port
    assert port is not None and stack.netns.reachable(port), "the namespace cannot reach the gateway before the cut"
    clock.at(0.2)
    stack.netns.cut()
    clock.mark("fault")
    assert not stack.netns.reachable(port), "the gateway is still reachable from the namespace after the cut"
    clock.mark("cut-verified")
    clock.at(0.65)
    stack.netns.heal()
    clock.mark("heal")
    deadline = time.monotonic() + 10
    while not stack.netns.reachable(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stack.netns.reachable(port), "the gateway is not reachable from the namespace 10 s after healing"
    clock.mark("heal-verified")


def opensearch_pause(stack: ChaosStack, clock: Clock) -> None:
    """SIGSTOP the run's own OpenSearch for ``--fault-seconds`` (60 by default), then SIGCONT:
    bulk requests time out and are retried, nothing is committed until indexed."""
    import os
    import signal

    pid = stack.opensearch_pid()
    clock.at(0.2)
    os.kill(pid, signal.SIGSTOP)
    clock.mark("fault")
    try:
        time.sleep(stack.fault_s if stack.fault_s is not None else 60.0)
    finally:
        os.kill(pid, signal.SIGCONT)
        clock.mark("heal")


def opensearch_node_kill(stack: ChaosStack, clock: Clock) -> None:
    """kill -9 the data node holding most primaries of the run's streams (the write indices) in a
    three-node cluster of the run's own (every node hot, so each stream has a replica elsewhere),
    restart it from its data dir: the replicas are promoted, the pipelines (given every node's URL)
    retry what the dead node could not take, and the node rejoins and recovers its copies."""
    import os
    import signal

    from logharbor.config import OpenSearchSettings
    from opensearch.client import sync_client
    from ops.devstack import stack as devstack

    clock.at(0.25)
    client = sync_client(OpenSearchSettings(url=stack.os_url, timeout_s=30))
    try:
        shards = client.cat.shards(index=f"logs-{stack.tenant}-*", format="json", h="prirep,node,state")
        nodes = client.cat.nodes(format="json", h="name,ip")
    finally:
        client.close()
    primaries: dict[str, int] = {}
    for sh in shards:
        if sh.get("prirep") == "p" and sh.get("node"):
            primaries[sh["node"]] = primaries.get(sh["node"], 0) + 1
    pids = stack.opensearch_node_pids()
    victim = max(primaries, key=lambda n: primaries[n]) if primaries else next(iter(pids))
    assert victim in pids, f"node {victim!r} of the run's streams is not one of the run's own {sorted(pids)} ({nodes})"
    os.kill(pids[victim], signal.SIGKILL)
    clock.mark("fault")
    clock.mark(f"killed-{victim.replace(' ', '-').lower()}")
    clock.at(0.6)
    devstack.up(stack.opensearch_settings, ["opensearch"], log=lambda _msg: None)  # restarts the dead node
    clock.mark("heal")


WM = "cluster.routing.allocation.disk.watermark."
WATERMARKS = (WM + "low", WM + "high", WM + "flood_stage")


def _tenant_backing(client: Any, tenant: str) -> list[str]:
    """Every backing index of the run's data streams."""
    try:
        streams = client.indices.get_data_stream(name=f"logs-{tenant}-*")["data_streams"]
    except Exception:
        return []
    return sorted(i["index_name"] for ds in streams for i in ds["indices"])


def _until(pred: Callable[[], bool], within_s: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def disk_watermark(stack: ChaosStack, clock: Clock) -> None:
    """Make the run's own OpenSearch node believe its disk is full: byte watermarks (low, high and
    flood stage) 50 GiB above its real free space, set at 5 % of the load. On its next disk check
    (the stack's node checks every 10 s, the first time 30 s after it started) OpenSearch puts
    ``index.blocks.read_only_allow_delete`` on every index, bulk items get 429
    ``cluster_block_exception``, and the pipelines keep their batches, pause consumption and
    commit nothing (``pipeline.indexer.is_flood_stage_block``); Kafka holds the backlog.

    ``fault`` is marked only once the block is verified on every backing index of the run. While
    it lasts (``--fault-seconds``, 30 by default) LogHarbor's disk monitor is run once the way its
    scheduler would (``disk_monitor.protect``): it sees ``flood``, lifts the block from its own
    bookkeeping indices and finds nothing to delete (a run's streams have only write indices) —
    verified, as is that nothing was indexed during the hold. Heal: the watermarks are reset and
    OpenSearch lifts the block itself on its next disk check once usage is under the high
    watermark (``block-released``); if it did not within 60 s, the block is removed by hand as an
    operator would (``block-removed-by-hand``); the same for the cluster-wide create-index block.
    Nothing outside the run's own node is touched."""
    from logharbor.config import OpenSearchSettings
    from opensearch import disk_monitor, lifecycle_audit
    from opensearch.client import sync_client

    client = sync_client(OpenSearchSettings(url=stack.os_url, timeout_s=30))
    tenant = stack.tenant
    try:
        assert stack.own_opensearch, "disk-watermark changes cluster settings: only on a node of the run's own"
        lifecycle_audit.ensure_index(client)  # as in a running deployment; not creatable once "full"
        # OpenSearch lifts its cluster-wide create-index block only once the node has left its
        # "over the high watermark" set, which it does at most once per reroute interval (60 s by
        # default; measured: the block lingered 70 s after the watermarks were reset). 5 s on the
        # run's own node so the heal is observed within seconds.
        client.cluster.put_settings(body={"persistent": {"cluster.routing.allocation.disk.reroute_interval": "5s"}})
        clock.at(0.05)
        rows = client.cat.allocation(format="json", bytes="b")
        free = min(int(r["disk.avail"]) for r in rows if r.get("disk.avail"))
        over = f"{free + 50 * 2**30}b"  # 50 GiB more free space required than the node has
        client.cluster.put_settings(body={"persistent": dict.fromkeys(WATERMARKS, over)})
        clock.mark("watermarks-set")
        try:
            def all_blocked() -> bool:
                backing = _tenant_backing(client, tenant)
                return bool(backing) and set(backing) <= set(disk_monitor.blocked_indices(client))

            assert _until(all_blocked, 90), (
                f"OpenSearch did not put the flood-stage block on the run's indices within 90 s "
                f"(blocked: {disk_monitor.blocked_indices(client)})")
            clock.mark("fault")
            health = disk_monitor.disk_health(client)
            assert health["state"] == "flood", f"the disk monitor sees {health['state']!r}, not 'flood'"
            emergency = disk_monitor.protect(client)
            clock.mark(f"emergency-{emergency.get('outcome')}")
            assert emergency.get("outcome") == "nothing_deletable" and not emergency["deleted"], emergency
            assert all_blocked(), "the disk monitor lifted the block from the run's data indices"
            time.sleep(2.0)  # a bulk already past the block check when it landed may still finish
            held_from = stored_no_refresh(client, tenant)
            time.sleep(max(stack.fault_s if stack.fault_s is not None else 30.0, 2.0) - 2.0)
            held_to = stored_no_refresh(client, tenant)
            assert held_to == held_from, f"{held_to - held_from} documents indexed while the block held"
            clock.mark("held-verified")
        finally:
            client.cluster.put_settings(body={"persistent": dict.fromkeys(WATERMARKS)})
            clock.mark("heal")
        if _until(lambda: not (set(_tenant_backing(client, tenant)) & set(disk_monitor.blocked_indices(client))),
                  60):
            clock.mark("block-released")
        else:  # what an operator does when a cluster does not auto-release (older versions)
            client.indices.put_settings(index=f"logs-{tenant}-*", body={disk_monitor.BLOCK: None})
            clock.mark("block-removed-by-hand")
        # while "full" OpenSearch also set its cluster-wide create-index block (no rollover, no new
        # stream); it lifts it on a later disk check — or by hand, as above
        if _until(lambda: not disk_monitor.create_index_blocked(client), 30):
            clock.mark("create-index-block-released")
        else:
            client.cluster.put_settings(body={"persistent": {"cluster.blocks.create_index": None}})
            clock.mark("create-index-block-removed-by-hand")
    finally:
        client.close()


def stored_no_refresh(client: Any, tenant: str) -> int:
    """Documents of the run searchable now (no refresh: a refresh is a write the block refuses)."""
    return int(client.count(index=f"logs-{tenant}-*", ignore_unavailable=True, allow_no_indices=True)["count"])


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("gateway-kill", "kill -9 one of two gateways mid-load; shippers fail over; restart it", gateway_kill),
        Scenario("pipeline-kill", "kill -9 a pipeline process 4 times (alternating), restart each", pipeline_kill),
        Scenario("rolling-restart", "SIGTERM + restart every gateway, pipeline and shipper in turn", rolling_restart),
        Scenario("kafka-leader-kill", "kill -9 the broker leading most raw partitions (3 brokers of the run's own, "
                 "replication 3, min ISR 2), restart it", kafka_leader_kill, own_kafka=True),
        Scenario("network-partition", "cut one shipper off both gateways (network namespace + veth pair), heal",
                 network_partition, netns=True),
        Scenario("opensearch-pause", "SIGSTOP the run's own OpenSearch for 60 s (--fault-seconds), then SIGCONT",
                 opensearch_pause, own_opensearch=True),
        Scenario("opensearch-node-kill", "kill -9 the data node with the run's write indices in a 3-node OpenSearch "
                 "of the run's own; restart it", opensearch_node_kill, own_opensearch=True, opensearch_nodes=3),
        Scenario("disk-watermark", "push the run's own OpenSearch past its flood stage (byte watermarks) for 30 s "
                 "(--fault-seconds), verify the block, restore the watermarks", disk_watermark, own_opensearch=True),
    )
}

# Named by issue 20 but not implemented yet: listed so `logharbor chaos list` says so instead of
# pretending (every scenario the issue names is implemented now).
PLANNED: dict[str, str] = {}
