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
from typing import Protocol

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
    )
}

# Named by issue 20 but not implemented yet (they need servers of the run's own): listed so
# `logharbor chaos list` says so instead of pretending.
PLANNED: dict[str, str] = {
    "disk-watermark": "push the run's own node past its flood stage (byte watermarks) under load, then clear it",
}
