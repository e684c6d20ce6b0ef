"""Shipper configuration: pydantic models read from one YAML file (``--config shipper.yaml``).

Why a separate file rather than a section of the central settings: the shipper runs on every
application host with its own small file, and operators expect the minimal file in
docs/SHIPPER.md to work as written. Every model forbids unknown keys so a typo is an error
that names the field (``sources.0.pathz: Extra inputs are not permitted``), not a silent
default. Every duration is configurable so tests can run the same code with short timings.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


def config_error(message: str) -> Exception:
    """logharbor.config.ConfigError, imported only on error: that module loads pydantic-settings
    (~15 MB), which the shipper itself does not need."""
    from logharbor.config import ConfigError

    return ConfigError(message)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class MultilineConfig(_Model):
    """Joins continuation lines into one event.

    With no patterns the built-in rules apply (lines starting with whitespace, ``Caused by:``,
    Python ``Traceback`` blocks and Java exception headers continue the previous event).
    ``start_pattern``: a line matching it starts an event, every other line continues.
    ``continue_pattern``: a line matching it continues, every other line starts an event.
    """

    enabled: bool = True
    start_pattern: str | None = None
    continue_pattern: str | None = None
    # A named rule set from shipper/presets.py (postgres, mysql-slow, go, ...); explicit patterns win.
    preset: str | None = None
    # With start_pattern: a start line right after a lone start line joins it (MySQL slow log's
    # "# Time:" then "# User@Host:").
    start_joins_header: bool = False
    flush_timeout_s: float = Field(default=0.3, gt=0)
    max_bytes: int = Field(default=65_536, ge=64)
    max_lines: int = Field(default=500, ge=1)

    @field_validator("start_pattern", "continue_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _apply_preset(self) -> MultilineConfig:
        if self.preset is not None:
            from shipper.presets import multiline_for

            for key, value in multiline_for(self.preset).items():
                if key not in self.model_fields_set:
                    setattr(self, key, value)
        return self


def _multiline(value: object) -> object:
    if value is False:
        return {"enabled": False}
    if value is True or value is None:
        return {}
    return value


class _SourceBase(_Model):
    name: str | None = None
    format: str = "auto"

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        # The gateway checks hints against the same shared list; a typo fails here, at start-up.
        from logharbor.envelope import RAW_FORMATS

        if value and value not in RAW_FORMATS:
            raise ValueError(f"unknown format hint '{value}'; known: {', '.join(sorted(RAW_FORMATS))}")
        return value


class FileSourceConfig(_SourceBase):
    """Tail files matching ``paths`` (globs allowed); ``exclude`` globs are skipped."""

    type: Literal["file"]
    paths: list[str] = Field(min_length=1)
    # IANA zone of the times written in these files when they carry no offset (sent as the ECS
    # field event.timezone; the pipeline reads zone-less timestamps in it). None = the pipeline's.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str | None) -> str | None:
        if value:
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(value)
            except (ValueError, KeyError) as exc:
                raise ValueError(f"unknown time zone '{value}' (use an IANA name such as Europe/Berlin)") from exc
        return value
    exclude: list[str] = Field(default_factory=list)
    start_at: Literal["beginning", "end"] = "beginning"
    multiline: MultilineConfig = Field(default_factory=MultilineConfig)
    # Polling fallback (and safety net next to inotify): how often open files are checked.
    poll_interval_s: float = Field(default=0.1, gt=0)
    rescan_interval_s: float = Field(default=1.0, gt=0)
    # After a file was renamed away or deleted, keep reading it this long after its last write.
    rotate_wait_s: float = Field(default=5.0, ge=0)
    fingerprint_bytes: int = Field(default=256, ge=16)
    read_chunk_bytes: int = Field(default=256 * 1024, ge=4096)
    max_line_bytes: int = Field(default=1 << 20, ge=1024)
    inotify: bool = True

    _fix_multiline = field_validator("multiline", mode="before")(_multiline)


class DatabaseSourceConfig(FileSourceConfig):
    """Database server logs are ordinary files; ``engine`` only sets the default format hint."""

    type: Literal["database"]  # type: ignore[assignment]
    engine: Literal["postgres", "mysql", "mariadb", "mysql-slow", "mongodb", "redis", "other"] = "postgres"
    format: str = ""

    @model_validator(mode="after")
    def _default_format(self) -> DatabaseSourceConfig:
        from shipper.presets import DATABASE_PRESETS

        hint, preset, _paths = DATABASE_PRESETS[self.engine]
        if not self.format:
            self.format = hint
        ml = self.multiline
        if ml.enabled and ml.preset is None and ml.start_pattern is None and ml.continue_pattern is None:
            self.multiline = MultilineConfig(**{**ml.model_dump(exclude_unset=True), "preset": preset})
        return self


class DockerSourceConfig(FileSourceConfig):
    """Docker json-file logs: each line is ``{"log", "stream", "time"}``, unwrapped before sending."""

    type: Literal["docker"]  # type: ignore[assignment]
    paths: list[str] = Field(default_factory=lambda: ["/var/lib/docker/containers/*/*-json.log"])
    multiline: MultilineConfig = Field(default_factory=lambda: MultilineConfig(enabled=False))


class SyslogSourceConfig(_SourceBase):
    """Syslog receiver: RFC 3164 and 5424, UDP datagrams and TCP (octet-counted or newline framing)."""

    type: Literal["syslog"]
    udp: str | None = "127.0.0.1:5514"
    tcp: str | None = "127.0.0.1:5514"
    format: str = "syslog"
    max_message_bytes: int = Field(default=65_536, ge=480)


class TcpSourceConfig(_SourceBase):
    """Newline-delimited lines over TCP (one event per line)."""

    type: Literal["tcp"]
    listen: str
    max_line_bytes: int = Field(default=1 << 20, ge=1024)


class UdpSourceConfig(_SourceBase):
    """Lines over UDP: each datagram holds one or more newline-separated lines."""

    type: Literal["udp"]
    listen: str


class StdinSourceConfig(_SourceBase):
    """Lines from standard input; when stdin closes and it is the only source, the shipper exits."""

    type: Literal["stdin"]
    multiline: MultilineConfig = Field(default_factory=lambda: MultilineConfig(enabled=False))

    _fix_multiline = field_validator("multiline", mode="before")(_multiline)


class JournaldSourceConfig(_SourceBase):
    """systemd journal through ``journalctl -o json -f``, resuming from the saved cursor."""

    type: Literal["journald"]
    journalctl: str = "journalctl"
    units: list[str] = Field(default_factory=list)
    # Extra journalctl arguments, e.g. ["--directory", "/var/log/journal"] or ["--user"].
    args: list[str] = Field(default_factory=list)
    start_at: Literal["beginning", "end"] = "end"


SourceConfig = Annotated[
    FileSourceConfig
    | DatabaseSourceConfig
    | DockerSourceConfig
    | SyslogSourceConfig
    | TcpSourceConfig
    | UdpSourceConfig
    | StdinSourceConfig
    | JournaldSourceConfig,
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


_UNION_TAGS = {"file", "database", "docker", "syslog", "tcp", "udp", "stdin", "journald"}


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
