"""Scaling on the replicated stack (issue 20): 1 → 2 gateways and 1 → 2 pipelines, in one run.

    .venv/bin/python -m ops.bench.scaling                       # ≈ 6–10 min on a 2-core box
    .venv/bin/python -m ops.bench.scaling --rounds 1 --gateway-seconds 8 --docs 12000   # quicker

It starts a stack of its own with the chaos stack's machinery (:class:`ops.chaos.stack.ChaosStack`:
devstack code, free loopback ports, a scratch dir; never the shared devstack on 9200/9092):
Kafka with 3 brokers (topics replication 3, ``min.insync.replicas`` 2) and OpenSearch with 3
nodes, every node hot so LogHarbor's streams get one replica (``auto_expand_replicas`` 0-1).
Then, interleaved (round r runs 1 then 2 processes, round r+1 runs 2 then 1: one noisy
machine, so ratios are paired within a run):

1. **gateways** — 1 vs 2 ``logharbor gateway`` processes saturated by ``--clients`` concurrent
   clients (split evenly over the gateways) posting 100-event gzip batches back to back
   (``ops/bench/gateway.py``'s batches and client loop), acks=all to the 3-broker Kafka. One
   API key per raw partition (the record key is the key's source, so one key = one partition):
   the load spreads over every partition as many sources would. Figures: accepted events/s in
   total, and per gateway process the CPU (psutil user+system of it and its children) ÷ the
   events *it* accepted.
2. **pipelines** — 1 vs 2 ``logharbor pipeline`` processes (one consumer group) on a fresh raw
   topic; once the group is stable (every partition assigned, each process holding some, read
   from their /metrics), ``--docs`` envelopes (``ops/bench/ingest.py``'s mix) are produced
   evenly over the partitions, acks=all, several times faster than they drain: a backlog. The
   window runs from the last record's ack until the last event is indexed (progress from each
   pipeline's /metrics, no refresh load), so it holds neither start-up nor a rebalance; the
   count in OpenSearch is checked to equal ``--docs`` afterwards. Figures: drained events/s,
   CPU µs/event per pipeline process (÷ the events *it* indexed in the window), and the
   OpenSearch JVMs' and Kafka JVMs' CPU per event over the same window. The servers' idle CPU
   (5 s without traffic, before each phase) is reported beside them.
3. **the box** — cores, load average before each measurement, share of the box's CPU busy
   during it, and a Python yardstick (``sum(range(1000))`` µs, as ops/bench/cost.py prints).

It prints a progress line per step, a table and a JSON summary (``--json-out FILE`` writes it
too), then the derived sizing: the per-process CPU µs/event is the figure that carries to a
bigger machine (one core takes ≈ 1e6 / µs events/s per process), whereas the events/s of
1 vs 2 processes on two cores mostly show that the cores are already shared with the JVMs.
Bounded: ``--max-minutes`` stops starting new measurements (what was measured is reported),
each drain has a timeout, and everything the run started is stopped on exit, error or Ctrl-C.

Over 500 lines as one module on purpose: it is one bench, the ``ScalingBench`` class driving one
stack through its phases (start, warm-ups, gateway rounds, pipeline rounds, teardown), and its
pure figures already live in ``ops/bench/scaling_math.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ops.bench.scaling_math import (  # noqa: F401 (re-exported: the bench and its tests use them)
    _f,
    _median,
    _r,
    _server_us,
    busy_share,
    clean,
    derive,
    events_per_core,
    net_us_per_event,
    paired_ratio,
    sizing_lines,
    split_evenly,
    us_per_event,
)

# ---------------------------------------------------------------- measurement


def say(t0: float, text: str) -> None:
    print(f"[{time.monotonic() - t0:6.1f}s] {text}", flush=True)


def cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process and its children (0 once it is gone)."""
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.Error):
        p = psutil.Process(pid)
        for c in [p, *p.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = c.cpu_times()
                total += t.user + t.system
    return total


class Meter:
    """CPU snapshots of named groups of pids (a gateway, a pipeline, the 3 brokers, the 3 nodes)."""

    def __init__(self, groups: Mapping[str, Sequence[int]]) -> None:
        self.groups = groups

    def read(self) -> dict[str, float]:
        import psutil

        out = {name: sum(cpu_s(pid) for pid in pids) for name, pids in self.groups.items()}
        me = psutil.Process().cpu_times()  # this process only: its children are the stack under test
        out["loadgen"] = me.user + me.system
        out["_box"] = psutil.cpu_times()  # type: ignore[assignment]
        return out


def metric(port: int, name: str) -> float:
    """Sum of a metric's samples (every label set) in a process's /metrics; 0 while it is not up."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as resp:
            text = resp.read().decode()
    except OSError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and line[len(name):len(name) + 1] in ("{", " "))


def sources_per_partition(partitions: int, prefix: str) -> list[str]:
    """One source name per partition: the gateway keys a record by its source with aiokafka's
    default partitioner, so these names put each key's records on a partition of its own."""
    from ops.chaos.stack import source_for_partition

    return [source_for_partition(prefix, p, partitions) for p in range(partitions)]


class ScalingBench:
    """The run: its stack, its keys and topics, and the measurements."""

    def __init__(self, args: argparse.Namespace) -> None:
        from ops.chaos.stack import ChaosStack

        self.args = args
        self.t0 = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="logharbor-scaling-"))
        self.stack = ChaosStack(self.workdir, "", "", partitions=args.partitions, own_kafka=True,
                                own_opensearch=True, opensearch_nodes=3)
        self.runs: list[dict[str, Any]] = []
        self.facts: dict[str, Any] = {}
        self.idle: dict[str, float] = {}  # the servers' idle cores, measured before each phase

    def log(self, text: str) -> None:
        say(self.t0, text)

    def over_time(self) -> bool:
        return time.monotonic() - self.t0 > self.args.max_minutes * 60

    # -------------------------------------------------------------- stack

    def start(self) -> None:
        from logharbor.config import OpenSearchSettings
        from opensearch.bootstrap import bootstrap
        from opensearch.client import sync_client

        self.log("starting Kafka (3 brokers) and OpenSearch (3 nodes) of the run's own in " + str(self.workdir))
        errors: list[BaseException] = []

        def boot(fn: Any) -> None:
            try:
                fn()
            except BaseException as exc:  # reported below, the main thread cleans up
                errors.append(exc)

        threads = [threading.Thread(target=boot, args=(f,), daemon=True)
                   for f in (self.stack.start_kafka, self.stack.start_opensearch)]
        for t in threads:  # the JVMs boot concurrently
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        self.log(f"Kafka at {self.stack.bootstrap}; OpenSearch at {self.stack.os_url}")
        from gateway.testing import create_topic

        for topic in (self.stack.processed, self.stack.dlq):  # shared by every pipeline run
            create_topic(self.stack.bootstrap, topic, 1)
        self.client = sync_client(OpenSearchSettings(url=self.stack.os_url, timeout_s=60))
        bootstrap(self.client)
        health = self.client.cluster.health()
        self.facts["opensearch_nodes"] = health["number_of_nodes"]
        self.facts["kafka_brokers"] = self.stack.kafka_brokers
        from ops.devstack.process import load_record

        rec = load_record(self.stack.kafka_settings.data_dir, "kafka")
        assert rec is not None
        self.kafka_pids = [p.pid for p in rec.processes()]
        self.os_pids = list(self.stack.opensearch_node_pids().values())
        if len(set(self.os_pids)) != 3 or len(self.kafka_pids) != 3:
            raise RuntimeError(f"expected 3 OpenSearch JVMs and 3 brokers, got {self.os_pids} / {self.kafka_pids}")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        self.log("stopping everything the run started")
        with contextlib.suppress(Exception):
            self.stack.close()
        if self.args.keep_workdir:
            self.log(f"kept {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def describe_topic(self, topic: str) -> dict[str, Any]:
        """Replication of a topic (from metadata) and its min.insync.replicas (from its config)."""
        from aiokafka.admin import AIOKafkaAdminClient
        from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

        from gateway.testing import run_async

        async def go() -> dict[str, Any]:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.stack.bootstrap)
            await admin.start()
            try:
                (meta,) = await admin.describe_topics([topic])
                rf = {len(p["replicas"]) for p in meta["partitions"]}
                isr: Any = None
                with contextlib.suppress(Exception):
                    (resp,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
                    for res in resp.resources:
                        for entry in res[4]:
                            if entry[0] == "min.insync.replicas":
                                isr = int(entry[1])
                return {"partitions": len(meta["partitions"]), "replication": sorted(rf), "min_insync_replicas": isr}
            finally:
                await admin.close()

        return run_async(go())

    # -------------------------------------------------------------- gateways

    def start_gateways(self) -> None:
        from gateway.testing import create_topic, free_port, keys
        from ops.bench.gateway import make_batches
        from ops.chaos.stack import Proc

        self.gw_topic = f"lh-scale-gw-{self.stack.run_id}"
        create_topic(self.stack.bootstrap, self.gw_topic, self.args.partitions)
        self.facts["gateway_topic"] = self.describe_topic(self.gw_topic)
        self.gw_keys = []
        for source in sources_per_partition(self.args.partitions, "bench"):
            key, _ = keys(self.stack.os_url, "create", tenant=f"scale{self.stack.run_id}", source=source,
                          scopes=["ingest"], rate=1e9, burst=1e9, description="logharbor scaling bench")
            self.gw_keys.append(key)
        self.bodies = make_batches(200, 100)
        env = self.stack.env(LOGHARBOR_KAFKA_RAW_TOPIC=self.gw_topic, LOGHARBOR_GATEWAY_MAX_CONSUMER_LAG="0",
                             LOGHARBOR_GATEWAY_MAX_CONCURRENT_REQUESTS="4096", LOGHARBOR_LOG_LEVEL="WARNING",
                             LOGHARBOR_GATEWAY_SHUTDOWN_TIMEOUT_S="5")
        py = [sys.executable, "-m", "ops.cli"]
        for i in range(2):
            port = free_port()
            cmd = [*py, "gateway", "--host", "127.0.0.1", "--port", str(port)]
            self.stack.gateways.append(Proc(f"gateway-{i}", cmd, env, self.workdir / f"gateway-{i}.log", port))
        self.log("starting 2 gateways (the 1-gateway runs load gateway-0 only)")
        for g in self.stack.gateways:
            g.start(wait=False)
        for g in self.stack.gateways:
            g.wait_http("/ready", 120)

    def gateway_run(self, n: int, rnd: int) -> dict[str, Any]:
        from ops.bench.gateway import saturate

        gws = self.stack.gateways[:n]
        pairs = [(g, k) for g in gws for k in self.gw_keys]
        clients = split_evenly(self.args.clients, len(pairs))

        async def load(seconds: float) -> list[tuple[float, dict[int, int]]]:
            return await asyncio.gather(*(
                saturate(f"http://127.0.0.1:{g.port}/ingest", k, self.bodies, c, seconds, 100)
                for (g, k), c in zip(pairs, clients, strict=True) if c > 0))

        asyncio.run(load(2.0))  # connections, key cache, producer metadata
        meter = Meter({**{g.name: [g.proc.pid] for g in gws if g.proc},
                       "kafka": self.kafka_pids, "opensearch": self.os_pids})
        load_avg = os.getloadavg()[0]
        before, t_start = meter.read(), time.monotonic()
        results = asyncio.run(load(self.args.gateway_seconds))
        elapsed, after = time.monotonic() - t_start, meter.read()
        accepted: dict[str, int] = {g.name: 0 for g in gws}
        statuses: dict[int, int] = {}
        used = [pc for pc in zip(pairs, clients, strict=True) if pc[1] > 0]
        for ((g, _k), _c), (_rate, st) in zip(used, results, strict=True):
            accepted[g.name] += st.get(202, 0) * 100  # every event of these batches is valid
            for code, count in st.items():
                statuses[code] = statuses.get(code, 0) + count
        total = sum(accepted.values())
        return self._record("gateway", n, rnd, total, elapsed, before, after, accepted, load_avg,
                            statuses={str(k): v for k, v in statuses.items()})

    # -------------------------------------------------------------- pipelines

    def produce_backlog(self, topic: str, tenant: str, docs: int) -> float:
        """``--docs`` envelopes round-robin over the partitions (explicitly, so 2 pipelines get
        equal shares; ops/bench/ingest.produce keys by source, 7 sources over 6 partitions)."""
        from aiokafka import AIOKafkaProducer

        from logharbor.topics import ensure_topics
        from ops.bench.ingest import make_envelopes

        envelopes = make_envelopes(tenant, docs)
        parts = self.args.partitions

        async def go() -> float:
            await ensure_topics(self.stack.bootstrap, {topic: parts})
            producer = AIOKafkaProducer(bootstrap_servers=self.stack.bootstrap, acks="all", enable_idempotence=True,
                                        linger_ms=20, max_batch_size=512 * 1024)
            await producer.start()
            try:
                started = time.perf_counter()
                futures = [await producer.send(topic, e.to_bytes(), key=e.source.encode(), partition=i % parts)
                           for i, e in enumerate(envelopes)]
                await asyncio.gather(*futures)
                return len(envelopes) / (time.perf_counter() - started)
            finally:
                await producer.stop()

        from gateway.testing import run_async

        return run_async(go())

    def stored(self, tenant: str) -> int:
        self.client.indices.refresh(index=f"logs-{tenant}-*", ignore_unavailable=True, allow_no_indices=True)
        return int(self.client.count(index=f"logs-{tenant}-*", ignore_unavailable=True,
                                     allow_no_indices=True)["count"])

    def replicas(self, tenant: str) -> list[int]:
        """number_of_replicas of the tenant's backing indices (1 on three hot nodes)."""
        with contextlib.suppress(Exception):
            got = self.client.indices.get_settings(index=f".ds-logs-{tenant}-*", name="index.number_of_replicas")
            return sorted({int(v["settings"]["index"]["number_of_replicas"]) for v in got.values()})
        return []

    def pipeline_run(self, n: int, rnd: int, docs: int | None = None) -> dict[str, Any]:
        """Start ``n`` pipelines on an empty topic, wait until the group is stable (every partition
        assigned, every process holding some), then produce the backlog — far faster than it
        drains — and measure from the last produced record's ack to the last event indexed. So
        the window sees neither interpreter start-up nor the join/rebalance of a late process."""
        from gateway.testing import create_topic, free_port
        from ops.bench.ingest import indexed_so_far
        from ops.chaos.stack import Proc

        docs = docs or self.args.docs
        tag = f"{self.stack.run_id}-r{rnd if rnd >= 0 else 'w'}p{n}"
        tenant, topic, group = f"scale{tag.replace('-', '')}", f"lh-scale-raw-{tag}", f"lh-scale-{tag}"
        label = "warm-up" if rnd < 0 else f"round {rnd + 1}"
        create_topic(self.stack.bootstrap, topic, self.args.partitions)
        py = [sys.executable, "-m", "ops.cli"]
        procs = []
        for i in range(n):
            port = free_port()
            env = self.stack.env(
                LOGHARBOR_KAFKA_RAW_TOPIC=topic, LOGHARBOR_KAFKA_CONSUMER_GROUP=group, LOGHARBOR_LOG_LEVEL="WARNING",
                LOGHARBOR_PIPELINE_STATE_DIR=str(self.workdir / f"state-{tag}-{i}"),
                LOGHARBOR_PIPELINE_MAX_POLL_RECORDS=str(self.args.bulk),
                LOGHARBOR_PIPELINE_BULK_MAX_DOCS=str(self.args.bulk))
            procs.append(Proc(f"pipeline-{i}", [*py, "pipeline", "--port", str(port)], env,
                              self.workdir / f"pipeline-{tag}-{i}.log", port))
        self.stack.pipelines.extend(procs)  # so ChaosStack.close() stops them whatever happens
        self.log(f"{label}: starting {n} pipeline(s) on {topic} ({self.args.partitions} partitions)")
        spawned = time.monotonic()
        for p in procs:
            p.start(wait=False)
        try:
            for p in procs:
                p.wait_http("/health", 120)
            self.wait_assigned(procs)
            self.log(f"{label}: group stable after {time.monotonic() - spawned:.1f} s; producing "
                     f"{docs:,} events")
            meter = Meter({**{p.name: [p.proc.pid] for p in procs if p.proc},
                           "kafka": self.kafka_pids, "opensearch": self.os_pids})
            load_avg = os.getloadavg()[0]
            rate = self.produce_backlog(topic, tenant, docs)
            counts = [max(0, indexed_so_far(p.port or 0)) for p in procs]
            before, counts0, t_start = meter.read(), list(counts), time.monotonic()
            self.log(f"{label}: backlog produced ({rate:,.0f} records/s, {sum(counts0):,} already indexed)")
            last_progress, last_total = t_start, sum(counts0)
            deadline = t_start + self.args.drain_timeout
            next_say = t_start + 10
            while True:
                for i, p in enumerate(procs):
                    if not p.alive():
                        raise RuntimeError(f"{p.name} exited: {p.tail()}")
                    counts[i] = max(counts[i], indexed_so_far(p.port or 0))
                now, total = time.monotonic(), sum(counts)
                if total >= docs:
                    break
                if total > last_total:
                    last_progress, last_total = now, total
                if now > deadline or now - last_progress > 60:
                    raise RuntimeError(f"drain stalled or too slow: {total:,} of {docs:,} indexed "
                                       f"{now - t_start:.0f} s after the backlog was produced")
                if now >= next_say:
                    self.log(f"  … {total:,} of {docs:,} indexed ({', '.join(map(str, counts))})")
                    next_say = now + 10
                time.sleep(0.2)
            after, t_end = meter.read(), time.monotonic()
            stored = self.stored(tenant)
            if stored != docs:
                raise RuntimeError(f"pipelines reported {sum(counts):,} indexed, OpenSearch holds {stored:,}")
            per = {p.name: counts[i] - counts0[i] for i, p in enumerate(procs)}
            return self._record(
                "pipeline", n, rnd, sum(per.values()), t_end - t_start, before, after, per, load_avg,
                produce_records_per_s=round(rate), window_share=round(sum(per.values()) / docs, 3),
                stored=stored, replicas=self.replicas(tenant))
        finally:
            for p in procs:
                p.stop(wait=False)
            for p in procs:
                p.stop(30)

    def wait_assigned(self, procs: Sequence[Any], timeout_s: float = 90.0) -> None:
        """Until every partition is assigned and every process holds some, twice in a row
        (``logharbor_pipeline_assigned_partitions`` of each process's /metrics)."""
        deadline, stable = time.monotonic() + timeout_s, 0
        while time.monotonic() < deadline:
            got = [metric(p.port or 0, "logharbor_pipeline_assigned_partitions") for p in procs]
            stable = stable + 1 if all(g > 0 for g in got) and sum(got) == self.args.partitions else 0
            if stable >= 2:
                return
            time.sleep(0.5)
        raise TimeoutError(f"the consumer group did not settle within {timeout_s:.0f} s")

    def warm_up(self, role: str) -> None:
        """Before a phase's first measurement: one unmeasured run (JIT, caches, the first data
        streams of a fresh cluster would otherwise land on whichever configuration comes first),
        then the servers' idle cores, subtracted from their per-event figures."""
        if role == "gateway":
            self.log("warm-up: both gateways, 5 s (not measured)")
            saved, self.args.gateway_seconds = self.args.gateway_seconds, 5.0
            try:
                self.gateway_run(2, -1)
            finally:
                self.args.gateway_seconds = saved
        elif self.args.warmup_docs > 0:
            self.log(f"warm-up: 1 pipeline, {self.args.warmup_docs:,} events (not measured)")
            self.pipeline_run(1, -1, docs=self.args.warmup_docs)
        self.idle = self.facts[f"idle_cores_before_{role}s"] = self.idle_cores()
        self.log(f"servers idle before the {role} runs: {self.idle} cores")

    def idle_cores(self, seconds: float = 8.0) -> dict[str, float]:
        """Cores the servers burn with no LogHarbor traffic (JVM background: GC, cluster state,
        replication heartbeats) — part of every per-event server figure, shown so it can be told apart."""
        meter = Meter({"kafka": self.kafka_pids, "opensearch": self.os_pids})
        a = meter.read()
        time.sleep(seconds)
        b = meter.read()
        return {k: round((b[k] - a[k]) / seconds, 3) for k in ("kafka", "opensearch")}

    # -------------------------------------------------------------- common

    def _record(self, role: str, n: int, rnd: int, events: int, seconds: float, before: Mapping[str, Any],
                after: Mapping[str, Any], per_events: Mapping[str, int], load_avg: float,
                **extra: Any) -> dict[str, Any]:
        per_process = [{"name": name, "events": ev, "cpu_s": round(after[name] - before[name], 3),
                        "cpu_us_per_event": round(us_per_event(after[name] - before[name], ev), 1)}
                       for name, ev in per_events.items()]
        servers = {s: {"cpu_s": round(after[s] - before[s], 3),
                       "cpu_us_per_event": round(us_per_event(after[s] - before[s], events), 1),
                       "net_cpu_us_per_event": round(net_us_per_event(after[s] - before[s], self.idle.get(s, 0.0),
                                                                      seconds, events), 1)}
                   for s in ("kafka", "opensearch")}
        stack_cpu = sum(after[k] - before[k] for k in after if k != "_box")
        run = {
            "role": role, "processes": n, "round": rnd, "events": events, "seconds": round(seconds, 2),
            "events_per_s": round(events / seconds) if seconds > 0 else 0,
            "per_process": per_process, "servers": servers,
            "loadgen_cpu_us_per_event": round(us_per_event(after["loadgen"] - before["loadgen"], events), 1),
            "box_busy": round(busy_share(before["_box"], after["_box"]), 3), "load_avg_1m": round(load_avg, 2),
            # cores the run's stack used (its processes, the 6 JVMs, this process): the rest of a busy box
            # went to other work on the machine
            "stack_cores": round(stack_cpu / seconds, 2) if seconds > 0 else None,
            **extra,
        }
        if rnd >= 0:  # a warm-up run (round -1) is not a measurement
            self.runs.append(run)
        procs = ", ".join(f"{p['name']} {p['cpu_us_per_event']:.0f} µs/ev ({p['events']:,})" for p in per_process)
        label = "warm-up" if rnd < 0 else f"round {rnd + 1}"
        self.log(f"{label}: {n} {role}(s): {run['events_per_s']:,} events/s over {seconds:.1f} s; {procs}; "
                 f"kafka {servers['kafka']['net_cpu_us_per_event']:.0f}, opensearch "
                 f"{servers['opensearch']['net_cpu_us_per_event']:.0f} µs/ev (net of idle); stack "
                 f"{run['stack_cores']} cores, box busy {run['box_busy']:.0%}, load {load_avg:.1f}")
        return run

    def run(self) -> dict[str, Any]:
        from ops.bench.ingest import python_reference_us

        cores = os.cpu_count() or 1
        self.facts.update(cores=cores, load_avg_start=[round(x, 2) for x in os.getloadavg()],
                          yardstick_us_start=round(python_reference_us(), 2))
        self.log(f"box: {cores} cores, load average {self.facts['load_avg_start']}, "
                 f"sum(range(1000)) = {self.facts['yardstick_us_start']} µs")
        self.start()
        self.start_gateways()
        self.log(f"gateway topic {self.gw_topic}: {self.facts['gateway_topic']}")
        incomplete = []
        for role, fn in (("gateway", self.gateway_run), ("pipeline", self.pipeline_run)):
            for rnd in range(self.args.rounds):
                for n in ((1, 2) if rnd % 2 == 0 else (2, 1)):
                    if self.over_time():
                        incomplete.append(f"{role} round {rnd + 1} × {n}")
                        continue
                    if f"idle_cores_before_{role}s" not in self.facts:
                        self.warm_up(role)
                    if role == "gateway":
                        self.log(f"round {rnd + 1}: {n} gateway(s), {self.args.clients} clients, "
                                 f"{self.args.gateway_seconds:g} s")
                    fn(n, rnd)
        self.facts.update(load_avg_end=[round(x, 2) for x in os.getloadavg()],
                          yardstick_us_end=round(python_reference_us(), 2))
        derived = derive(self.runs, cores)
        return {"bench": "scaling", "facts": self.facts, "settings": {k: v for k, v in vars(self.args).items()
                if k not in ("json_out",)}, "runs": self.runs, "derived": derived,
                "sizing": sizing_lines(derived), "skipped_over_time": incomplete,
                "minutes": round((time.monotonic() - self.t0) / 60, 1)}


def table(summary: Mapping[str, Any]) -> str:
    """Markdown table of every measurement (the doc copies it); server figures net of idle."""
    rows = ["| round | role | procs | events/s | per-process CPU µs/event (events) | Kafka µs/ev | "
            "OpenSearch µs/ev | bench process µs/ev | stack cores | box busy | load 1m |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["runs"]:
        per = " / ".join(f"{_f(p['cpu_us_per_event'])} ({p['events']:,})" for p in r["per_process"])
        rows.append(f"| {r['round'] + 1} | {r['role']} | {r['processes']} | {r['events_per_s']:,} | {per} | "
                    f"{_f(_server_us(r, 'kafka'))} | {_f(_server_us(r, 'opensearch'))} | "
                    f"{_f(r['loadgen_cpu_us_per_event'])} | {_f(r.get('stack_cores'), '.2f')} | "
                    f"{_f(r['box_busy'], '.0%')} | {r['load_avg_1m']:.1f} |")
    return "\n".join(rows)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ops.bench.scaling", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds of 1 and 2 processes (default 2)")
    p.add_argument("--gateway-seconds", type=float, default=15.0, help="saturation seconds per gateway run (15)")
    p.add_argument("--clients", type=int, default=36, help="concurrent clients, split over gateways × keys (36)")
    p.add_argument("--docs", type=int, default=20_000, help="backlog events per pipeline run (default 20000)")
    p.add_argument("--partitions", type=int, default=6, help="partitions of the raw topics (default 6, as "
                   "kafka.raw_partitions)")
    p.add_argument("--bulk", type=int, default=500, help="pipeline max poll records and bulk docs (default 500, "
                   "as the chaos stack: more progress steps in the window)")
    p.add_argument("--warmup-docs", type=int, default=5000,
                   help="events of the unmeasured 1-pipeline warm-up drain (default 5000; 0 = none)")
    p.add_argument("--drain-timeout", type=float, default=180.0, help="most seconds per pipeline drain (180)")
    p.add_argument("--max-minutes", type=float, default=12.0,
                   help="start no new measurement after this many minutes (default 12)")
    p.add_argument("--json-out", type=Path, default=None, help="also write the JSON summary to this file")
    p.add_argument("--keep-workdir", action="store_true", help="keep the scratch dir (process logs) at the end")
    args = p.parse_args(argv)
    if args.rounds < 1 or args.docs < 1000 or args.gateway_seconds <= 0 or args.clients < 1:
        p.error("--rounds ≥ 1, --docs ≥ 1000, --gateway-seconds > 0 and --clients ≥ 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C (or kill -INT) stops and cleans up even when started from a script, which leaves
    # SIGINT ignored in background jobs
    signal.signal(signal.SIGINT, signal.default_int_handler)
    bench = ScalingBench(args)
    try:
        summary = bench.run()
    except KeyboardInterrupt:
        bench.log("interrupted; measured so far: " + json.dumps(clean(bench.runs), ensure_ascii=False))
        return 130
    except Exception as exc:
        bench.log(f"failed: {type(exc).__name__}: {exc}; measured so far: "
                  + json.dumps(clean(bench.runs), ensure_ascii=False))
        raise
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            bench.close()
    print()
    print(table(summary))
    print()
    for line in summary["sizing"]:
        print("- " + line)
    print()
    text = json.dumps(clean(summary), indent=2, ensure_ascii=False, default=str)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
