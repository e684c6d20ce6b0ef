"""Pipeline settings: section ``pipeline`` of the YAML file, env prefix ``LOGHARBOR_PIPELINE_``.

Connection details (Kafka, OpenSearch) and topic names stay in :mod:`logharbor.config` so
there is one place for them; this class holds only what the pipeline alone decides. The
processing steps themselves (parsers, filter rules, redactors, enrichers, routing) live in a
separate *rules file* (``rules_path``) because operators edit those often and the pipeline
hot-reloads that file by mtime without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from logharbor.config import SectionSettings


class PipelineSettings(SectionSettings):
    """What one pipeline process needs besides the shared Kafka/OpenSearch settings."""

    section: ClassVar[str] = "pipeline"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_PIPELINE_", env_nested_delimiter="__", extra="forbid")

    # Streaming aggregates (docs/PIPELINE.md "Streaming aggregates"): rollup partials per batch.
    stream_aggregates: bool = False
    aggregation_rules_path: Path | None = None  # YAML `aggregation:` document; None = the defaults

    # Rules file (YAML, see docs/PIPELINE.md). None = the built-in default step list.
    rules_path: Path | None = None
    rules_reload_interval_s: float = Field(default=2.0, gt=0)

    # Parsing defaults; the rules file may override per source.
    default_format: str = "auto"
    default_timezone: str = "UTC"
    # Operators' own log families: a YAML file or a directory of them (docs/PIPELINE.md "Log formats").
    formats_path: Path | None = None

    # Kafka consumption. None = the names in KafkaSettings (one place for topic names).
    topic: str | None = None
    consumer_group: str | None = None
    max_poll_records: int = Field(default=2000, ge=1)
    poll_timeout_ms: int = Field(default=500, ge=1)
    publish_processed: bool = True
    # Processed batches waiting for the sink (OpenSearch/Kafka) while the next one is processed.
    inflight_batches: int = Field(default=2, ge=1)
    # Bulk requests in flight at once (pipeline/worker.py ``_sink``); batches still finish in order.
    sink_concurrency: int = Field(default=2, ge=1)

    # Bulk indexing: a bulk request is cut at whichever limit is hit first.
    bulk_max_docs: int = Field(default=2000, ge=1)
    bulk_max_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)

    # A record whose processing raises is retried this many times, then dead-lettered; a record
    # that kills the worker process is dead-lettered after this many deaths (crash guard).
    max_record_attempts: int = Field(default=3, ge=1)
    crash_guard: bool = True
    state_dir: Path | None = None  # crash-guard markers; None = <data dir>/pipeline-state
    dlq_index: bool = True

    # Enrichment resources named by path (the rules file refers to them by setting).
    geoip_path: Path | None = None  # None = the bundled GeoLite2-City (old; see pipeline/enrich/geoip_db.py)
    geoip_asn_path: Path | None = None  # GeoLite2-ASN / DB-IP ASN Lite: client.as.number, .organization.name

    # Multiprocessing and the operations endpoint (/health, /ready, /metrics).
    workers: int = Field(default=1, ge=1)
    # Loopback by default (issue 16): /metrics shows every tenant's counts. Set 0.0.0.0 (or an
    # interface address) when a Prometheus on another host scrapes it.
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8089, ge=0, le=65535)
    restart_crashed_workers: bool = True
    # ``--workers auto`` (pipeline/autoscale.py): worker count follows the group's lag between
    # min_workers and max_workers (and never above the raw topic's partitions).
    autoscale: bool = False
    min_workers: int = Field(default=1, ge=1)
    max_workers: int = Field(default=4, ge=1)
    autoscale_up_lag: int = Field(default=5_000, ge=0)  # total lag (records) that calls for one more worker
    autoscale_up_after_s: float = Field(default=30.0, ge=0)  # ... when it lasts this long
    autoscale_down_lag: int = Field(default=100, ge=0)  # "near zero": one worker fewer ...
    autoscale_down_after_s: float = Field(default=60.0, ge=0)  # ... after this long
    autoscale_cooldown_s: float = Field(default=30.0, ge=0)  # no two changes closer than this
    autoscale_check_s: float = Field(default=5.0, gt=0)  # how often the lag is read
