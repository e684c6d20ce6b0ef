"""The system under test of one chaos run: real LogHarbor processes of the run's own.

Two shippers tail files the load writes (each prefers a different gateway and fails over to
the other; for the network-partition scenario shipper-0 runs in a network namespace of the
run's own, :mod:`ops.chaos.netns`), two ``logharbor gateway`` processes produce to a raw topic of the run's own, two
single-process ``logharbor pipeline`` processes share it as one consumer group and index into
the run's own tenant. The runner acts as their supervisor: scenarios kill, stop and restart
them through :class:`Proc`. Servers (OpenSearch, Kafka) are the ones configured
(``LOGHARBOR_OPENSEARCH_URL``, ``LOGHARBOR_KAFKA_BOOTSTRAP``); nothing here touches them beyond
the run's own topics, keys (one per shipper) and data streams, which :meth:`ChaosStack.close`
deletes.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from gateway.testing import create_topic, free_port, keys

REPO = Path(__file__).resolve().parents[2]


def free_runner_http_port(nodes: int = 1) -> int:
    """``nodes`` consecutive free HTTP ports the devstack's OpenSearch runner accepts (it binds only
    up to 9299), searched from a random start: two runs starting at once (parallel CI jobs, several
    engineers on one box) would both see the first free port while neither JVM has bound it yet;
    the loser's node then binds the next free port of its range, and the start-up wait polls the
    other run's cluster at the chosen one until it times out."""
    import random

    from ops.devstack.opensearch_node import RUNNER_MAX_HTTP_PORT
    from ops.devstack.process import port_in_use

    span = list(range(9211, RUNNER_MAX_HTTP_PORT - nodes + 2))
    start = random.randrange(len(span))
    for port in span[start:] + span[:start]:
        if not any(port_in_use(port + i) for i in range(nodes)):
            return port
    raise RuntimeError("no free HTTP ports in 9211..9299 for the chaos run's own OpenSearch")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port_run(n: int) -> int:
    """The first of ``n`` consecutive free ports (Kafka brokers and controllers, transport ports
    of a multi-node cluster), outside the kernel's ephemeral range.

    Why outside: the servers start one after another, and the first ones' outgoing connections
    (a broker dialling the controller quorum) take ephemeral source ports. A run inside that range
    once lost its last port that way ("Socket server failed to bind to 127.0.0.1:54370")."""
    from ops.devstack.process import port_in_use

    low, high = _ephemeral_range()
    span = (20_000, low - n) if low - n > 20_000 else (high + 1, 65_535 - n)
    for _ in range(200):
        base = random.randint(*span)
        if not any(port_in_use(base + i) for i in range(n)):
            return base
    raise RuntimeError(f"no run of {n} free ports in {span[0]}..{span[1] + n}")


def source_for_partition(prefix: str, partition: int, partitions: int) -> str:
    """``prefix-N`` with the smallest N whose Kafka key lands on ``partition`` of ``partitions``
    (the partitioner the gateway uses: murmur2 of the key, as aiokafka's and Java's default)."""
    from aiokafka.partitioner import murmur2

    for n in range(10_000):
        source = f"{prefix}-{n}"
        if (murmur2(source.encode()) & 0x7FFFFFFF) % partitions == partition:
            return source
    raise RuntimeError(f"no source for partition {partition} of {partitions}")


class Proc:
    """One LogHarbor process the runner owns; ``start()`` again after a kill restarts it."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path, port: int | None = None,
                 host: str = "127.0.0.1") -> None:
        self.name, self.cmd, self.env, self.log, self.port, self.host = name, cmd, env, log, port, host
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout_s: float = 60.0, wait: bool = True) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.cmd, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.starts += 1
        if wait and self.port is not None:
            self.wait_http("/health", timeout_s)

    def wait_http(self, path: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited with {self.proc and self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"http://{self.host}:{self.port}{path}", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name}: {path} not 200 within {timeout_s} s: {self.tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no drain, no flush, no commit."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout_s: float = 40.0, wait: bool = True) -> None:
        """SIGTERM and wait (the graceful path), SIGKILL after ``timeout_s``."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            if not wait:
                return
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, n: int = 2000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-n:]
        return ""


class ChaosStack:
    """Shippers → 2 gateways → Kafka → 2 pipelines → OpenSearch, all of this run's own."""

    def __init__(
        self, workdir: Path, os_url: str, bootstrap: str, partitions: int = 4, own_kafka: bool = False,
        netns: bool = False, own_opensearch: bool = False, opensearch_nodes: int = 1,
    ) -> None:
        self.workdir, self.os_url, self.bootstrap = workdir, os_url, bootstrap
        self.own_kafka = own_kafka
        self.own_opensearch = own_opensearch
        self.opensearch_nodes = opensearch_nodes
        self.opensearch_settings: Any = None
        self.opensearch_started = False
        self.fault_s: float | None = None  # how long a timed fault lasts (--fault-seconds); None = its default
        self.want_netns = netns
        self.netns: Any = None  # ops.chaos.netns.NetNs: shipper-0 runs inside it
        self.kafka_settings: Any = None
        self.kafka_brokers = 3  # own_kafka: a three-broker cluster (kafka-leader-kill kills one of them)
        self.kafka_starts = 0
        run = uuid.uuid4().hex[:10]
        self.run_id = run
        self.tenant = "chaos" + run
        self.raw, self.processed, self.dlq = (f"lh-chaos-{k}-{run}" for k in ("raw", "processed", "dlq"))
        self.group = f"lh-chaos-pipeline-{run}"
        self.partitions = partitions
        self.gateways: list[Proc] = []
        self.pipelines: list[Proc] = []
        self.shippers: list[Proc] = []
        self.files: list[Path] = []
        self.key_id: str | None = None  # shipper-0's key (kept for callers of one key)
        self.key_ids: list[str | None] = []  # every shipper's key

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "LOGHARBOR_OPENSEARCH_URL": self.os_url,
            "LOGHARBOR_KAFKA_BOOTSTRAP": self.bootstrap,
            "LOGHARBOR_KAFKA_RAW_TOPIC": self.raw,
            "LOGHARBOR_KAFKA_PROCESSED_TOPIC": self.processed,
            "LOGHARBOR_KAFKA_DLQ_TOPIC": self.dlq,
            "LOGHARBOR_KAFKA_CONSUMER_GROUP": self.group,
            **extra,
        }

    @property
    def procs(self) -> list[Proc]:
        return self.gateways + self.pipelines + self.shippers

    def start(self) -> None:
        from logharbor.config import OpenSearchSettings
        from opensearch.bootstrap import bootstrap
        from opensearch.client import sync_client

        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.own_kafka:
            self.start_kafka()
        if self.own_opensearch:
            self.start_opensearch()
        gw_host = "127.0.0.1"
        if self.want_netns:
            from ops.chaos.netns import NetNs

            self.netns = NetNs(self.run_id).create()
            gw_host = self.netns.host_ip  # the host end of the veth pair: reachable from both shippers
        client = sync_client(OpenSearchSettings(url=self.os_url))
        try:
            bootstrap(client)  # idempotent: templates so the tenant's data streams get LogHarbor's mapping
        finally:
            client.close()
        create_topic(self.bootstrap, self.raw, self.partitions)
        create_topic(self.bootstrap, self.processed, 1)
        create_topic(self.bootstrap, self.dlq, 1)
        # one key per shipper, each with a source of its own: the gateway keys every Kafka record by
        # its key's source, so one shared key put every line on one raw partition and only one of
        # the two pipelines ever worked (the other stood by). The sources are chosen to land on the
        # first and the last partition, which every assignor gives to different members of a
        # two-member group (range: 0-1 | 2-3, round robin: 0,2 | 1,3).
        api_keys = []
        for i, partition in enumerate((0, self.partitions - 1)):
            key, record = keys(self.os_url, "create", tenant=self.tenant,
                               source=source_for_partition(f"chaos-{i}", partition, self.partitions),
                               scopes=["ingest"], description=f"logharbor chaos run {self.run_id} shipper-{i}")
            api_keys.append(key)
            self.key_ids.append(getattr(record, "key_id", None) or getattr(record, "id", None))
        self.key_id = self.key_ids[0]
        py = [sys.executable, "-m", "ops.cli"]
        for i in range(2):
            port = free_port()
            # aiohttp's graceful stop waits out idle keep-alive connections (the shippers') up to
            # shutdown_timeout_s (30 s by default): 5 s keeps a rolling restart bounded.
            env = self.env(LOGHARBOR_GATEWAY_SHUTDOWN_TIMEOUT_S="5")
            self.gateways.append(Proc(f"gateway-{i}", [*py, "gateway", "--host", gw_host, "--port", str(port)], env,
                                      self.workdir / f"gateway-{i}.log", port, host=gw_host))
        for i in range(2):
            port = free_port()
            env = self.env(LOGHARBOR_PIPELINE_STATE_DIR=str(self.workdir / f"pipeline-{i}-state"),
                           LOGHARBOR_PIPELINE_MAX_POLL_RECORDS="500", LOGHARBOR_PIPELINE_BULK_MAX_DOCS="500")
            self.pipelines.append(Proc(f"pipeline-{i}", [*py, "pipeline", "--port", str(port)], env,
                                       self.workdir / f"pipeline-{i}.log", port))
        urls = [f"http://{gw_host}:{g.port}" for g in self.gateways]
        for i in range(2):
            path = self.workdir / f"app-{i}.log"
            path.touch()
            self.files.append(path)
            cfg = {
                "gateway": {"urls": urls[i:] + urls[:i], "api_key": api_keys[i], "timeout_s": 5, "probe_interval_s": 1},
                "data_dir": str(self.workdir / f"shipper-{i}"),
                "sources": [{"type": "file", "name": f"app-{i}", "paths": [str(path)], "format": "auto",
                             "start_at": "beginning"}],
                "batch": {"max_events": 200, "max_wait_s": 0.2},
                "retry": {"delays_s": [0.2, 0.5, 1.0], "jitter": 0.1},
                "spool": {"resend_interval_s": 1.0},
                "checkpoint_interval_s": 0.5,
                "log_level": "WARNING",
                "shutdown_timeout_s": 5,
                "detect_host_ip": False,
            }
            cfg_path = self.workdir / f"shipper-{i}.json"  # JSON is YAML
            cfg_path.write_text(json.dumps(cfg))
            os.chmod(cfg_path, 0o600)
            prefix = self.netns.exec_prefix() if self.netns is not None and i == 0 else []
            self.shippers.append(Proc(f"shipper-{i}", [*prefix, *py, "shipper", "--config", str(cfg_path)], self.env(),
                                      self.workdir / f"shipper-{i}.log"))
        for p in self.procs:  # boot concurrently (interpreter start-up dominates), then wait for each
            p.start(wait=False)
        for p in self.procs:
            if p.port is not None:
                p.wait_http("/health", 90)

    def start_kafka(self) -> None:
        """Three brokers of the run's own (devstack machinery, scratch data dir, free ports; topics
        with replication 3 and min.insync.replicas 2); idempotent — starts again a killed broker."""
        from ops.devstack import stack as devstack
        from ops.devstack.kafka_broker import bootstrap_of
        from ops.devstack.settings import DevstackSettings

        if self.kafka_settings is None:
            base = free_port_run(6)  # broker n on base + 2(n-1), its controller on base + 2(n-1) + 1
            self.kafka_settings = DevstackSettings(
                data_dir=self.workdir / "kafka", kafka_port=base, kafka_controller_port=base + 1,
                kafka_brokers=self.kafka_brokers, kafka_heap_mb=256,
            )
            self.bootstrap = bootstrap_of(self.kafka_settings)
        devstack.up(self.kafka_settings, ["kafka"], log=lambda _msg: None)
        self.kafka_starts += 1

    def start_opensearch(self) -> None:
        """A single OpenSearch node of the run's own (devstack machinery, scratch data dir, free
        ports), so a scenario may pause or kill it without touching the shared one; idempotent."""
        from ops.devstack import stack as devstack
        from ops.devstack.settings import DevstackSettings

        if self.opensearch_settings is None:
            n = self.opensearch_nodes
            self.opensearch_settings = DevstackSettings(
                data_dir=self.workdir / "opensearch", nodes=n, opensearch_port=free_runner_http_port(n),
                opensearch_transport_port=free_port_run(n), opensearch_heap_mb=512, opensearch_node_heap_mb=320,
                # every node hot: the run's streams get a replica on another node (auto_expand_replicas)
                temps=["hot"] * n, cluster_name=f"logharbor-chaos-{self.run_id}")
            base = self.opensearch_settings.opensearch_port
            # every LogHarbor process gets every node: requests move to another when one is down
            self.os_url = ",".join(f"http://127.0.0.1:{base + i}" for i in range(n))
        first = not self.opensearch_started
        devstack.up(self.opensearch_settings, ["opensearch"], log=lambda _msg: None)
        self.opensearch_started = True
        if first:
            self.set_disk_check_interval()

    def set_disk_check_interval(self) -> None:
        """The run's own cluster checks disk usage every 10 s (OpenSearch's minimum; 30 s by
        default), set as soon as it is up so a watermark change (disk-watermark) acts within
        seconds under load: the interval in force is only replaced after its next check."""
        from logharbor.config import OpenSearchSettings
        from opensearch.client import sync_client

        client = sync_client(OpenSearchSettings(url=self.os_url, timeout_s=30))
        try:
            client.cluster.put_settings(body={"persistent": {"cluster.info.update.interval": "10s"}})
        finally:
            client.close()

    def opensearch_node_pids(self) -> dict[str, int]:
        """Node name → pid of the run's own cluster (one JVM per node when it has several)."""
        from ops.devstack import opensearch_node
        from ops.devstack.process import load_record

        assert self.own_opensearch and self.opensearch_settings is not None, "only a node of the run's own"
        rec = load_record(self.opensearch_settings.data_dir, "opensearch")
        assert rec is not None, "the run's OpenSearch is not running"
        return {name: p.pid for name, p in opensearch_node.node_processes(rec).items()}

    def opensearch_pid(self) -> int:
        """The pid of the run's own node (never the shared one: read from the run's data dir)."""
        from ops.devstack.process import load_record

        assert self.own_opensearch and self.opensearch_settings is not None, "only a node of the run's own"
        rec = load_record(self.opensearch_settings.data_dir, "opensearch")
        assert rec is not None and rec.alive(), "the run's OpenSearch is not running"
        return rec.pid

    def raw_leaders(self, attempts: int = 20) -> dict[int, int]:
        """Partition → leader broker id of the run's raw topic (retried: right after a broker died
        the admin client may pick that broker for its request)."""
        for i in range(attempts):
            try:
                return self._raw_leaders()
            except Exception:
                if i == attempts - 1:
                    raise
                time.sleep(0.5)
        return {}

    def _raw_leaders(self) -> dict[int, int]:
        from gateway.testing import run_async

        async def describe() -> dict[int, int]:
            from aiokafka.admin import AIOKafkaAdminClient

            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await admin.start()
            try:
                (meta,) = await admin.describe_topics([self.raw])
                return {p["partition"]: p["leader"] for p in meta["partitions"]}
            finally:
                await admin.close()

        return run_async(describe())

    def kill_kafka(self) -> int:
        """kill -9 the broker leading most partitions of the raw topic (never the shared broker: the
        pid comes from the run's data dir); returns its broker id."""
        from ops.devstack.process import load_record

        assert self.own_kafka and self.kafka_settings is not None, "only a broker of the run's own is killed"
        rec = load_record(self.kafka_settings.data_dir, "kafka")
        assert rec is not None and rec.alive(), "the run's Kafka is not running"
        leaders = list(self.raw_leaders().values())
        leader = max(set(leaders), key=leaders.count)
        victim = next(p for p in rec.processes() if int(p.info.get("broker", 1)) == leader)
        os.kill(victim.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while victim._alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        return leader

    def close(self) -> None:
        """Stop every process, delete the run's topics, key-scoped data streams and key."""
        for group in (self.shippers, self.gateways + self.pipelines):
            for p in group:
                with contextlib.suppress(Exception):
                    p.stop(wait=False)
            for p in group:
                with contextlib.suppress(Exception):
                    p.stop(20)
        from gateway.testing import run_async

        async def _delete_topics() -> None:
            from aiokafka.admin import AIOKafkaAdminClient

            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await admin.start()
            try:
                await admin.delete_topics([self.raw, self.processed, self.dlq])
            finally:
                await admin.close()

        if self.own_kafka and self.kafka_settings is not None:
            from ops.devstack import stack as devstack

            with contextlib.suppress(Exception):
                devstack.down(self.kafka_settings, ["kafka"], log=lambda _msg: None)
        else:
            with contextlib.suppress(Exception):
                run_async(_delete_topics())
        if self.netns is not None:
            self.netns.delete()
        if self.own_opensearch and self.opensearch_settings is not None:
            from ops.devstack import stack as devstack

            with contextlib.suppress(Exception):
                os.kill(self.opensearch_pid(), signal.SIGCONT)  # a paused node cannot stop
            with contextlib.suppress(Exception):
                devstack.down(self.opensearch_settings, ["opensearch"], log=lambda _msg: None)
            return  # the node and its data go with the run's workdir
        for key_id in self.key_ids:
            if key_id:
                with contextlib.suppress(Exception):
                    keys(self.os_url, "revoke", key_id)
        from logharbor.config import OpenSearchSettings
        from opensearch.client import sync_client

        client = sync_client(OpenSearchSettings(url=self.os_url))
        try:
            with contextlib.suppress(Exception):
                client.indices.delete_data_stream(name=f"logs-{self.tenant}-*")
        finally:
            client.close()
