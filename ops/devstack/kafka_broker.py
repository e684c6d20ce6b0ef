"""The devstack's Kafka: one KRaft broker+controller from ``org.apache.kafka:kafka_2.13`` jars."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

from logharbor.config import ConfigError, KafkaSettings

from .java import find_java
from .process import ProcessRecord, ensure_free, port_in_use, record_of, spawn, tail
from .settings import DevstackSettings

KAFKA_MIN_JAVA = 17

LOG4J = """log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
"""


def broker_ports(settings: DevstackSettings) -> list[tuple[int, int]]:
    """(broker port, controller port) of each broker: one broker keeps the configured two ports;
    with several, broker n uses kafka_port + 2(n-1) and kafka_controller_port + 2(n-1), so the
    defaults 9092/9093 give 9092/9093, 9094/9095, 9096/9097."""
    n = settings.kafka_brokers
    step = 2 if n > 1 else 0
    return [(settings.kafka_port + step * i, settings.kafka_controller_port + step * i) for i in range(n)]


def bootstrap_of(settings: DevstackSettings) -> str:
    return ",".join(f"127.0.0.1:{kp}" for kp, _ in broker_ports(settings))


def server_properties(settings: DevstackSettings, data: Path, index: int = 0) -> str:
    ports = broker_ports(settings)
    kp, cp = ports[index]
    n = len(ports)
    rf = min(3, n)
    isr = min(2, rf)
    props = {
        "process.roles": "broker,controller",
        "node.id": str(index + 1),
        "controller.quorum.voters": ",".join(f"{i + 1}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports)),
        "listeners": f"PLAINTEXT://127.0.0.1:{kp},CONTROLLER://127.0.0.1:{cp}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{kp}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": "3",
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(isr),
        "offsets.topic.replication.factor": str(rf),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(isr),
        "share.coordinator.state.topic.replication.factor": str(rf),
        "share.coordinator.state.topic.min.isr": str(isr),
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.retention.hours": "48",
        "log.segment.bytes": str(256 * 1024 * 1024),
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def start(settings: DevstackSettings, lib: Path, log=print) -> ProcessRecord:
    ports = broker_ports(settings)
    ensure_free([p for pair in ports for p in pair],
                "LOGHARBOR_DEVSTACK_KAFKA_PORT / LOGHARBOR_DEVSTACK_KAFKA_CONTROLLER_PORT "
                "(or `devstack up --kafka-port N`)")
    java, major = find_java(
        KAFKA_MIN_JAVA, explicit=settings.kafka_java_home, what="Kafka 4.x",
        setting="LOGHARBOR_DEVSTACK_KAFKA_JAVA_HOME",
    )
    home = settings.data_dir / "kafka"
    home.mkdir(parents=True, exist_ok=True)
    (home / "log4j.properties").write_text(LOG4J)
    cp = f"{lib}/*"
    log4j = f"-Dlog4j.configuration=file:{home / 'log4j.properties'}"
    cluster_id = _cluster_id(home)
    heap = settings.kafka_heap_mb
    records = []
    for i, (kp, ctl) in enumerate(ports):
        # broker 1 keeps the single-broker layout (kafka/data, kafka/server.properties)
        bhome = home if i == 0 else home / f"broker-{i + 1}"
        bhome.mkdir(parents=True, exist_ok=True)
        data = bhome / "data"
        props = bhome / "server.properties"
        props.write_text(server_properties(settings, data, i))
        if not (data / "meta.properties").exists():
            # KRaft storage is formatted once, before the first start (one cluster id for all brokers)
            out = subprocess.run(
                [java, log4j, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)],
                capture_output=True, text=True, timeout=120,
            )
            if out.returncode != 0:
                raise ConfigError(f"formatting Kafka storage in {data} failed:\n{out.stdout}{out.stderr}")
        cmd = [java, f"-Xms{heap}m", f"-Xmx{heap}m", "-XX:+UseG1GC", "-Djava.awt.headless=true", log4j,
               "-cp", cp, "kafka.Kafka", str(props)]
        log_path = settings.data_dir / "logs" / ("kafka.log" if i == 0 else f"kafka-broker{i + 1}.log")
        proc = spawn(cmd, log_path, cwd=bhome)
        records.append(record_of("kafka", proc, [kp, ctl], log_path,
                                 {"java": java, "java_major": major, "heap_mb": heap, "broker": i + 1,
                                  "bootstrap": f"127.0.0.1:{kp}", "data": str(data), "cmd": cmd}))
    first = records[0]
    if len(records) > 1:
        first.ports = [p for pair in ports for p in pair]
        first.info = {**first.info, "brokers": len(records), "bootstrap": bootstrap_of(settings),
                      "heap_mb": heap * len(records)}
        first.members = [{k: v for k, v in vars(r).items() if k != "members"} for r in records[1:]]
    pids = ", ".join(str(r.pid) for r in records)
    log(f"started Kafka (KRaft, {len(records)} broker(s), heap {heap} MB each, Java {major}) pid(s) {pids}")
    return first


def _cluster_id(home: Path) -> str:
    """One KRaft cluster id per devstack, kept so a broker added later formats into the same cluster."""
    path = home / "cluster.id"
    if path.exists():
        return path.read_text().strip()
    meta = home / "data" / "meta.properties"  # a single-broker devstack from before this file existed
    if meta.exists():
        for line in meta.read_text().splitlines():
            if line.startswith("cluster.id="):
                path.write_text(line.split("=", 1)[1].strip())
                return path.read_text().strip()
    path.write_text(uuid.uuid4().hex[:22])
    return path.read_text().strip()


def _live_brokers(bootstrap: str) -> int:
    """How many brokers the cluster's metadata lists."""
    import asyncio
    import logging

    from aiokafka.admin import AIOKafkaAdminClient

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # "Unable connect" while brokers start

    async def count() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        await admin.start()
        try:
            return len((await admin.describe_cluster()).get("brokers") or [])
        finally:
            await admin.close()

    return asyncio.run(count())


def ensure_topics(bootstrap: str, kafka: KafkaSettings | None = None) -> list[str]:
    """Create LogHarbor's topics if absent; returns the names created."""
    from logharbor.topics import ensure_topics_sync, logharbor_topics

    return ensure_topics_sync(bootstrap, logharbor_topics(kafka or KafkaSettings()))


def wait_ready(settings: DevstackSettings, record: ProcessRecord, log=print) -> None:
    """Wait until the broker answers metadata requests, then create the topics."""
    bootstrap = record.info["bootstrap"]
    brokers = int(record.info.get("brokers", 1))
    deadline = time.monotonic() + settings.startup_timeout_s
    started = time.monotonic()
    last = 0.0
    while time.monotonic() < deadline:
        if record.dead():
            dead = record.dead()[0]
            raise ConfigError(f"Kafka exited during start-up; see {dead.log}. Last lines:\n{tail(Path(dead.log))}")
        if not record.dead() and port_in_use(settings.kafka_port):
            try:
                if brokers > 1 and _live_brokers(bootstrap) < brokers:
                    raise RuntimeError("not every broker has joined")  # topics need all replicas
                created = ensure_topics(bootstrap)
            except Exception as exc:  # broker still electing its controller
                if time.monotonic() - last > 5:
                    last = time.monotonic()
                    log(f"  waiting for Kafka at {bootstrap} ... ({type(exc).__name__})")
                time.sleep(1)
                continue
            log(f"Kafka is ready at {bootstrap} after {time.monotonic() - started:.0f}s"
                + (f"; created topics {', '.join(created)}" if created else ""))
            return
        if time.monotonic() - last > 5:
            last = time.monotonic()
            log(f"  waiting for Kafka at {bootstrap} ... {time.monotonic() - started:.0f}s")
        time.sleep(0.5)
    raise ConfigError(
        f"Kafka did not become ready within {settings.startup_timeout_s:.0f}s; see {record.log}. "
        f"Last lines:\n{tail(Path(record.log))}"
    )
