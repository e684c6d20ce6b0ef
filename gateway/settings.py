"""Gateway settings: section ``gateway`` in the YAML file, env prefix ``LOGHARBOR_GATEWAY_``.

Every limit the ingest contract names (docs/ARCHITECTURE.md §2) is here with its single-node default, so an
operator tunes one place and the error messages quote the same numbers.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from gateway.protocol_settings import ProtocolSettings
from logharbor.config import SectionSettings

KB = 1024
MB = 1024 * 1024


class GatewaySettings(SectionSettings):
    """Everything ``logharbor gateway`` can be told; defaults suit one node."""

    section: ClassVar[str] = "gateway"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_GATEWAY_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=0, le=65535)
    workers: int = Field(default=1, ge=1)

    # validation
    policy: str = Field(default="partial", pattern="^(strict|partial)$")
    max_message_bytes: int = Field(default=32 * KB, ge=1)
    max_entry_bytes: int = Field(default=64 * KB, ge=1)
    max_batch_bytes: int = Field(default=10 * MB, ge=1)
    max_events_per_batch: int = Field(default=100_000, ge=1)
    future_skew_s: float = Field(default=300.0, ge=0)
    max_depth: int = Field(default=32, ge=1, le=200)  # object/array nesting per entry
    max_fields: int = Field(default=1000, ge=1)  # leaf values per entry

    # decompression (zip-bomb defences)
    max_decompressed_bytes: int = Field(default=100 * MB, ge=1)
    max_compression_ratio: float = Field(default=200.0, ge=1)
    # The ratio cap only applies once this much has been inflated, so tiny very-compressible
    # batches (a few KB of repeated lines) are not refused.
    ratio_grace_bytes: int = Field(default=1 * MB, ge=0)
    max_gzip_members: int = Field(default=64, ge=1)

    # timeouts
    header_timeout_s: float = Field(default=10.0, gt=0)
    body_timeout_s: float = Field(default=30.0, gt=0)
    keepalive_timeout_s: float = Field(default=75.0, gt=0)
    shutdown_timeout_s: float = Field(default=30.0, gt=0)

    # rate limits (per process: a fleet of N gateways admits N x rate per key)
    default_rate: float = Field(default=1000.0, gt=0)
    default_burst: float = Field(default=5000.0, gt=0)
    max_concurrent_requests: int = Field(default=256, ge=1)
    retry_after_s: int = Field(default=1, ge=1)

    # keys and audit
    # proxies/load balancers whose X-Forwarded-For is believed for the audit's client_ip
    trusted_proxies: list[str] = Field(default_factory=list)
    # TCP peers allowed to read /metrics (CIDRs; "*" = everyone). Loopback by default: the
    # ingest port faces every shipper (docs/SECURITY.md).
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    key_refresh_s: float = Field(default=5.0, gt=0)
    audit_flush_s: float = Field(default=1.0, gt=0)
    audit_max_buffer: int = Field(default=10_000, ge=1)

    # Kafka produce and backpressure
    produce_timeout_s: float = Field(default=15.0, gt=0)
    # 0: a request enqueues all its records before the sender runs, so they batch anyway;
    # a linger only delays every ack (measured: p50 at half load 13 ms with 0, 110+ ms with 5)
    kafka_linger_ms: int = Field(default=0, ge=0)
    kafka_max_batch_bytes: int = Field(default=1 * MB, ge=1024)
    kafka_compression: str | None = Field(default=None, pattern="^(gzip|snappy|lz4|zstd)$")
    max_consumer_lag: int = Field(default=5_000_000, ge=0)  # 0 disables the lag check
    lag_check_s: float = Field(default=5.0, gt=0)
    kafka_unavailable_retry_after_s: int = Field(default=5, ge=1)
    trust_event_ids: bool = True

    # Elasticsearch-compatible, OTLP, GELF and syslog doors (gateway/protocol_settings.py)
    protocols: ProtocolSettings = Field(default_factory=ProtocolSettings)
