"""``logharbor devstack up --kafka-brokers 3``: three KRaft broker JVMs of a private devstack
(its own data dir and free ports — never the session's shared broker). LogHarbor's topics get
replication 3 with ``min.insync.replicas`` 2; with the leader of a raw partition killed (kill -9)
an ``acks=all`` idempotent producer — the gateway's settings — still gets every record
acknowledged and a consumer reads each once; ``up`` starts the dead broker again; ``down`` stops
all three.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid

import psutil
import pytest

from ops.chaos.stack import free_port_run
from ops.devstack.process import load_record, port_in_use

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _cli(args: list[str], env: dict[str, str], timeout: float = 400) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


async def _describe(bootstrap: str, topic: str) -> tuple[dict[int, tuple[int, list[int]]], str]:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (meta,) = await admin.describe_topics([topic])
        parts = {p["partition"]: (p["leader"], p["replicas"]) for p in meta["partitions"]}
        (cfg,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {e[0]: e[1] for e in cfg.resources[0][4]}
        return parts, entries["min.insync.replicas"]
    finally:
        await admin.close()


async def _produce_and_read(bootstrap: str, topic: str, n: int) -> list[bytes]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                request_timeout_ms=30000)
    await producer.start()
    try:
        for i in range(n):
            await producer.send_and_wait(topic, f"r{i}".encode(), partition=i % 3)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id="lh-brokers-" + uuid.uuid4().hex[:6],
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got: list[bytes] = []
    try:
        while len(got) < n:
            batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 60)
            for records in batch.values():
                got.extend(r.value for r in records)
    finally:
        await consumer.stop()
    return got


def test_three_brokers_replicate_and_survive_a_leader_kill(tmp_path):
    kport = free_port_run(6)
    cport = kport + 1  # broker n: kport + 2(n-1), its controller cport + 2(n-1)
    data = tmp_path / "ds"
    env = {**os.environ, "LOGHARBOR_DEVSTACK_DATA_DIR": str(data), "LOGHARBOR_DEVSTACK_KAFKA_HEAP_MB": "256"}
    ports = ["--kafka-port", str(kport), "--controller-port", str(cport)]
    up = _cli(["devstack", "up", "--only", "kafka", "--kafka-brokers", "3", *ports], env)
    pids: list[int] = []
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        rec = load_record(data, "kafka")
        assert rec is not None
        pids = [p.pid for p in rec.processes()]
        assert len(set(pids)) == 3, "one JVM per broker"
        bootstrap = rec.info["bootstrap"]
        assert bootstrap == ",".join(f"127.0.0.1:{kport + 2 * i}" for i in range(3))
        parts, min_isr = asyncio.run(_describe(bootstrap, "logharbor.raw"))
        assert all(len(replicas) == 3 for _, replicas in parts.values()), parts
        assert min_isr == "2"
        # kill -9 the leader of partition 0; two in-sync replicas remain: acks=all still succeeds
        leader = parts[0][0]
        victim = next(p for p in rec.processes() if int(p.info["broker"]) == leader)
        os.kill(victim.pid, signal.SIGKILL)
        got = asyncio.run(_produce_and_read(bootstrap, "logharbor.raw", 60))
        assert sorted(got) == sorted(f"r{i}".encode() for i in range(60))  # each once
        after, _ = asyncio.run(_describe(bootstrap, "logharbor.raw"))
        assert after[0][0] != leader, "partition 0 must have a new leader"
        st = json.loads(_cli(["devstack", "status", "--json", *ports], env).stdout)["kafka"]
        assert [b["running"] for b in st["brokers"].values()].count(False) == 1, st
        again = _cli(["devstack", "up", "--only", "kafka", "--kafka-brokers", "3", *ports], env)
        assert again.returncode == 0 and "restarted" in again.stdout, again.stdout + again.stderr
        st = json.loads(_cli(["devstack", "status", "--json", *ports], env).stdout)["kafka"]
        assert all(b["running"] for b in st["brokers"].values()), st
        pids = [b["pid"] for b in st["brokers"].values()]
    finally:
        down = _cli(["devstack", "down", "--only", "kafka", *ports], env)
    assert down.returncode == 0, down.stderr
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    for port in range(kport, kport + 6):
        assert not port_in_use(port), f"port {port} still listening after down"
