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


def server_properties(settings: DevstackSettings, data: Path) -> str:
    kp, cp = settings.kafka_port, settings.kafka_controller_port
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{cp}",
        "listeners": f"PLAINTEXT://127.0.0.1:{kp},CONTROLLER://127.0.0.1:{cp}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{kp}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": "3",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.retention.hours": "48",
        "log.segment.bytes": str(256 * 1024 * 1024),
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def start(settings: DevstackSettings, lib: Path, log=print) -> ProcessRecord:
    ensure_free([settings.kafka_port, settings.kafka_controller_port],
                "LOGHARBOR_DEVSTACK_KAFKA_PORT / LOGHARBOR_DEVSTACK_KAFKA_CONTROLLER_PORT "
                "(or `devstack up --kafka-port N`)")
    java, major = find_java(
        KAFKA_MIN_JAVA, explicit=settings.kafka_java_home, what="Kafka 4.x",
        setting="LOGHARBOR_DEVSTACK_KAFKA_JAVA_HOME",
    )
    home = settings.data_dir / "kafka"
    data = home / "data"
    home.mkdir(parents=True, exist_ok=True)
    props = home / "server.properties"
    props.write_text(server_properties(settings, data))
    (home / "log4j.properties").write_text(LOG4J)
    cp = f"{lib}/*"
    log4j = f"-Dlog4j.configuration=file:{home / 'log4j.properties'}"
    if not (data / "meta.properties").exists():
        # KRaft storage is formatted once, before the first start
        out = subprocess.run(
            [java, log4j, "-cp", cp, "kafka.tools.StorageTool", "format", "-t", uuid.uuid4().hex[:22],
             "-c", str(props)],
            capture_output=True, text=True, timeout=120,
        )
        if out.returncode != 0:
            raise ConfigError(f"formatting Kafka storage in {data} failed:\n{out.stdout}{out.stderr}")
    heap = settings.kafka_heap_mb
    cmd = [java, f"-Xms{heap}m", f"-Xmx{heap}m", "-XX:+UseG1GC", "-Djava.awt.headless=true", log4j,
           "-cp", cp, "kafka.Kafka", str(props)]
    log_path = settings.data_dir / "logs" / "kafka.log"
    proc = spawn(cmd, log_path, cwd=home)
    record = record_of("kafka", proc, [settings.kafka_port, settings.kafka_controller_port], log_path,
                       {"java": java, "java_major": major, "heap_mb": heap,
                        "bootstrap": f"127.0.0.1:{settings.kafka_port}", "data": str(data)})
    log(f"started Kafka (KRaft, heap {heap} MB, Java {major}) pid {proc.pid}")
    return record


def ensure_topics(bootstrap: str, kafka: KafkaSettings | None = None) -> list[str]:
    """Create LogHarbor's topics if absent; returns the names created."""
    from logharbor.topics import ensure_topics_sync, logharbor_topics

    return ensure_topics_sync(bootstrap, logharbor_topics(kafka or KafkaSettings()))


def wait_ready(settings: DevstackSettings, record: ProcessRecord, log=print) -> None:
    """Wait until the broker answers metadata requests, then create the topics."""
    bootstrap = record.info["bootstrap"]
    deadline = time.monotonic() + settings.startup_timeout_s
    started = time.monotonic()
    last = 0.0
    while time.monotonic() < deadline:
        if not record.alive():
            raise ConfigError(f"Kafka exited during start-up; see {record.log}. Last lines:\n{tail(Path(record.log))}")
        if port_in_use(settings.kafka_port):
            try:
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
