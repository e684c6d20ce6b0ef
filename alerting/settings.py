"""Alerting settings: section ``alerting`` of the YAML file, env prefix ``LOGHARBOR_ALERTING_``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from logharbor.config import SectionSettings


class AlertingSettings(SectionSettings):
    """What the evaluator, the streaming matcher and the sender decide. Defaults suit one node."""

    section: ClassVar[str] = "alerting"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_ALERTING_", env_nested_delimiter="__", extra="forbid")

    # Scheduled evaluation.
    tick_s: float = Field(default=1.0, gt=0)
    lease_ttl_s: float = Field(default=15.0, gt=0)
    max_catchup_windows: int = Field(default=5, ge=1, le=1000)
    error_retry_s: float = Field(default=30.0, ge=0)  # a rule whose query failed is retried this often
    # Ingestion watermark: windows are evaluated once the pipeline has indexed past their end
    # plus the refresh interval. "pipeline" reads the watermarks the pipeline writes; "clock"
    # trusts the clock minus settle_s (no pipeline watermark available).
    watermark: Literal["pipeline", "clock"] = "pipeline"
    watermark_group: str | None = None  # consumer group of the pipeline; None = logharbor.consumer_group
    refresh_interval_s: float = Field(default=1.0, ge=0)
    settle_s: float = Field(default=2.0, ge=0)
    # A watermark older than this is not waited for: the window is evaluated and marked late.
    watermark_max_lag_s: float = Field(default=120.0, gt=0)
    # Clock shift for tests and drills (simulate downtime without waiting): added to "now".
    clock_offset_s: float = 0.0

    # Streaming (match rules) on the processed topic.
    streaming: bool = True
    stream_group: str = "logharbor-alerter"
    match_max_per_minute: int = Field(default=60, ge=1)  # per rule; beyond it, one summary per minute

    # Sender.
    sender_poll_s: float = Field(default=1.0, gt=0)
    send_timeout_s: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=300.0, gt=0)
    claim_s: float = Field(default=60.0, gt=0)
    # Outbox entries and delivery attempts older than this are deleted (hourly, by any sender).
    history_days: int = Field(default=30, ge=1)
    pagerduty_url: str | None = None  # default https://events.pagerduty.com/v2/enqueue

    # Email.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "LogHarbor <alerts@localhost>"
    smtp_verify: bool = True
    smtp_ca_file: str | None = None
    smtp_message_domain: str = "logharbor"

    # Links in notifications point at the ui.
    public_url: str = "http://127.0.0.1:8080"

    # Evaluate only these tenants' rules (None: every tenant) — for sharding, and for tests on a
    # shared cluster.
    tenants: list[str] | None = None

    # Built-in health rules (alerting/health.py): names to disable everywhere.
    builtin_disabled: list[str] = Field(default_factory=list)
