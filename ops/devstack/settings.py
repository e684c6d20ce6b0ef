"""Devstack settings: where the local OpenSearch and Kafka live and which ports they use."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from logharbor.config import SectionSettings, default_data_dir


class DevstackSettings(SectionSettings):
    """Every value has a single-node default; ``LOGHARBOR_DEVSTACK_<FIELD>`` overrides it."""

    section: ClassVar[str] = "devstack"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_DEVSTACK_", env_nested_delimiter="__", extra="forbid")

    data_dir: Path = Field(default_factory=lambda: default_data_dir() / "devstack")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache/logharbor/devstack")
    opensearch_port: int = Field(default=9200, ge=1, le=65535)
    opensearch_transport_port: int = Field(default=9300, ge=1, le=65535)
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    kafka_controller_port: int = Field(default=9093, ge=1, le=65535)
    nodes: int = Field(default=1, ge=1, le=5)
    # the ``temp`` attribute of each node (None: hot, warm, cold, hot, ... for --nodes > 1); all
    # "hot" gives a cluster whose data streams carry a replica on another node
    temps: list[str] | None = None
    opensearch_heap_mb: int = Field(default=768, ge=256)
    # --nodes N > 1: each node is its own JVM with this heap (opensearch_heap_mb is the one-JVM heap)
    opensearch_node_heap_mb: int = Field(default=320, ge=256)
    kafka_heap_mb: int = Field(default=512, ge=128)
    # --kafka-brokers N > 1: N KRaft broker+controller JVMs (broker n on kafka_port + 2(n-1),
    # its controller on kafka_controller_port + 2(n-1)); topics get replication 3, min ISR 2
    kafka_brokers: int = Field(default=1, ge=1, le=5)
    opensearch_java_home: Path | None = None
    kafka_java_home: Path | None = None
    maven: str = "mvn"
    startup_timeout_s: float = Field(default=240.0, gt=0)
    cluster_name: str = "logharbor-devstack"
    # OpenSearch's disk watermarks (percent used or absolute free bytes such as "2gb")
    watermark_low: str = "85%"
    watermark_high: str = "90%"
    watermark_flood_stage: str = "95%"
