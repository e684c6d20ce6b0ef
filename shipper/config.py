"""Shipper configuration: pydantic models read from one YAML file (``--config shipper.yaml``).

Why a separate file rather than a section of the central settings: the shipper runs on every
application host with its own small file, and operators expect the minimal file in
docs/SHIPPER.md to work as written. Every model forbids unknown keys so a typo is an error
that names the field (``sources.0.pathz: Extra inputs are not permitted``), not a silent
default. Every duration is configurable so tests can run the same code with short timings.

The process-wide sections live here; each source's model lives beside its source
(``shipper/sources/*.py``, listed in ``shipper/source_types.py``) and the multiline model
beside the joiner (``shipper/multiline.py``). They are re-exported below for older imports.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from shipper.model_base import StrictModel as _Model
from shipper.multiline import MultilineConfig  # noqa: F401  (re-exported)
from shipper.source_types import SOURCE_TYPES
from shipper.sources.database import DatabaseSourceConfig  # noqa: F401  (re-exported)
from shipper.sources.docker import DockerSourceConfig  # noqa: F401  (re-exported)
from shipper.sources.file_tail import FileSourceConfig  # noqa: F401  (re-exported)
from shipper.sources.journald import JournaldSourceConfig  # noqa: F401  (re-exported)
from shipper.sources.net_lines import TcpSourceConfig, UdpSourceConfig  # noqa: F401  (re-exported)
from shipper.sources.stdin import StdinSourceConfig  # noqa: F401  (re-exported)
from shipper.sources.syslog import SyslogSourceConfig  # noqa: F401  (re-exported)


def config_error(message: str) -> Exception:
    """logharbor.config.ConfigError, imported only on error: that module loads pydantic-settings
    (~15 MB), which the shipper itself does not need."""
    from logharbor.config import ConfigError

    return ConfigError(message)


class GatewayConfig(_Model):
    """Where batches go. ``urls`` lists failover gateways; the first is preferred whenever it is up."""

    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    api_key: str
    timeout_s: float = Field(default=10.0, gt=0)
    # While a gateway is down (or a fallback is in use) it is probed this often via GET /health.
    probe_interval_s: float = Field(default=5.0, gt=0)
    # https:// only: a CA bundle for a private CA (default: the system's), or no verification at all.
    ca_file: Path | None = None
    tls_verify: bool = True

    @field_validator("api_key")
    @classmethod
    def _expand_env(cls, value: str) -> str:
        # Lets operators keep the key out of the file: api_key: ${LOGHARBOR_SHIPPER_API_KEY}
        return os.path.expandvars(value)

    @model_validator(mode="after")
    def _need_url(self) -> GatewayConfig:
        if not self.url and not self.urls:
            raise ValueError("set gateway.url or gateway.urls")
        return self

    def all_urls(self) -> list[str]:
        """Gateway base URLs in preference order, without trailing slashes, deduplicated."""
        out: list[str] = []
        for u in ([self.url] if self.url else []) + list(self.urls):
            u = u.rstrip("/")
            if u not in out:
                out.append(u)
        return out


class BatchConfig(_Model):
    """A batch closes at ``max_events`` or ``max_bytes`` (uncompressed) or ``max_wait_s`` after its first event."""

    max_events: int = Field(default=100, ge=1)
    max_bytes: int = Field(default=1_000_000, ge=1024)
    max_wait_s: float = Field(default=1.0, gt=0)
    gzip_level: int = Field(default=1, ge=0, le=9)
    # Batches in flight per destination; >1 trades ordering for throughput (commits stay ordered).
    in_flight: int = Field(default=1, ge=1)
    # Events buffered between sources and the batcher; a full buffer stops file tails (backpressure).
    buffer_events: int = Field(default=10_000, ge=1)


class RetryConfig(_Model):
    """Backoff before spooling. ``delays_s`` is the schedule (tenacity), ``jitter`` a fraction of each delay."""

    delays_s: list[float] = Field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0, 16.0])
    jitter: float = Field(default=0.2, ge=0, le=1)
    max_retry_after_s: float = Field(default=300.0, gt=0)


class SpoolConfig(_Model):
    """Disk spool for batches the gateway could not take."""

    max_bytes: int = Field(default=1 << 30, ge=1024)
    resend_interval_s: float = Field(default=30.0, gt=0)


# The ``sources:`` entries: one model per source type, chosen by ``type`` (shipper/source_types.py).
SourceConfig = Annotated[
    Union[tuple(t.config for t in SOURCE_TYPES.values())],  # noqa: UP007  (built from the table)
    Field(discriminator="type"),
]


class MetricsConfig(_Model):
    """Optional Prometheus text endpoint, e.g. ``listen: 127.0.0.1:9108``."""

    listen: str


class ShipperConfig(_Model):
    """The whole shipper file. Only ``gateway``, ``data_dir`` and ``sources`` are required."""

    gateway: GatewayConfig
    data_dir: Path
    sources: list[SourceConfig] = Field(min_length=1)
    host: str = Field(default_factory=socket.gethostname)
    batch: BatchConfig = Field(default_factory=BatchConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    spool: SpoolConfig = Field(default_factory=SpoolConfig)
    metrics: MetricsConfig | None = None
    # Host metadata on every event (datacenter, region, environment, app_version, ...; a source's
    # meta: wins) and the host's own addresses as host_ip — shipper/meta.py, docs/SHIPPER.md.
    meta: dict[str, Any] = Field(default_factory=dict)
    detect_host_ip: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    checkpoint_interval_s: float = Field(default=1.0, gt=0)
    status_interval_s: float = Field(default=1.0, gt=0)
    shutdown_timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _names(self) -> ShipperConfig:
        seen: set[str] = set()
        for i, src in enumerate(self.sources):
            if not src.name:
                src.name = f"{src.type}-{i}"
            if src.name in seen:
                raise ValueError(f"sources.{i}.name: duplicate source name '{src.name}'")
            seen.add(src.name)
        return self


def _format_errors(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
        parts.append(f"{loc or '(top level)'}: {err['msg']}")
    return "; ".join(parts)


_UNION_TAGS = set(SOURCE_TYPES)


def parse_config(data: object, origin: str = "config") -> ShipperConfig:
    """Validate a mapping; raise ConfigError naming each wrong field."""
    if not isinstance(data, dict):
        raise config_error(f"{origin}: top level must be a mapping")
    try:
        return ShipperConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(f"{origin}: {_format_errors(exc)}") from None


def load_config(path: str | Path) -> ShipperConfig:
    """Read and validate the shipper YAML file."""
    p = Path(path)
    if not p.is_file():
        raise config_error(f"shipper config {p} does not exist (pass --config shipper.yaml)")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise config_error(f"{p}: not valid YAML: {exc}") from None
    return parse_config(data, str(p))
