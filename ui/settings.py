"""Settings of the query API and live tail (``ui`` section, env prefix ``LOGHARBOR_UI_``).

Every limit that protects OpenSearch or the ui process from one caller lives here, with a
single-node default, so an operator can tighten it without touching code.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from logharbor.config import SectionSettings


class StaticKey(BaseModel):
    """A key defined in the config file: bootstrap access before the key store holds any key."""

    tenant: str
    scopes: list[str] = Field(default_factory=lambda: ["read"])
    rate: float = Field(default=50.0, gt=0)
    burst: int = Field(default=100, ge=1)


class UISettings(SectionSettings):
    """How ``logharbor ui`` listens and the limits it enforces on each request."""

    section: ClassVar[str] = "ui"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_UI_", env_nested_delimiter="__", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Search paging: `offset` is allowed while offset+limit stays within OpenSearch's result
    # window; deeper pages must follow the `next` cursor (point in time + search_after).
    default_limit: int = Field(default=100, ge=1)
    max_limit: int = Field(default=1000, ge=1)
    max_offset: int = Field(default=10_000, ge=0)
    pit_keep_alive: str = "2m"
    # Signs cursors so a caller cannot forge one pointing at another tenant's point in time.
    # Empty means a random per-process secret: fine for one ui process; set it when running
    # several behind a load balancer so a cursor from one is honoured by the others.
    cursor_secret: str = ""
    context_max: int = Field(default=100, ge=0)
    related_max: int = Field(default=200, ge=1)
    # Time ranges and intervals (issue 16): longest from→to span or relative offset (now-Nd),
    # smallest and largest aggregation interval.
    max_time_range_days: int = Field(default=3660, ge=1)
    min_interval_s: int = Field(default=1, ge=1)
    max_interval_days: int = Field(default=366, ge=1)
    # Aggregations
    percentiles: list[float] = Field(default_factory=lambda: [50.0, 90.0, 95.0, 99.0])
    default_group_size: int = Field(default=10, ge=1)
    max_group_size: int = Field(default=1000, ge=1)
    max_buckets: int = Field(default=10_000, ge=1)
    auto_interval_buckets: int = Field(default=60, ge=1)
    # Hourly rollups (.logharbor-rollup-hourly-<tenant>): counts by service and level per hour,
    # kept current by a job in each ui process, read by long-range count/error_rate queries.
    rollup_interval_s: float = Field(default=300.0, ge=0)  # 0 = this process does not run the job
    rollup_lookback_hours: int = Field(default=3, ge=1)
    rollup_min_range_hours: int = Field(default=24, ge=1)
    # Export
    export_batch_size: int = Field(default=2000, ge=10, le=10_000)
    export_max_rows: int = Field(default=5_000_000, ge=1)
    # Each export holds an OpenSearch point in time while it streams (issue 16): per-key and
    # per-process caps (429 beyond), and a client that accepts no data for this long is cut off.
    max_exports_per_key: int = Field(default=2, ge=1)
    max_exports: int = Field(default=32, ge=1)
    export_idle_timeout_s: float = Field(default=60.0, gt=0)
    # Fields / sources
    fields_top_values: int = Field(default=5, ge=0)
    fields_sample_size: int = Field(default=2000, ge=1)
    max_sources: int = Field(default=1000, ge=1)
    # Live tail
    tail_buffer: int = Field(default=1000, ge=1)
    heartbeat_s: float = Field(default=15.0, gt=0)
    max_subscribers: int = Field(default=500, ge=1)
    max_streams_per_key: int = Field(default=5, ge=1)  # live-tail streams one key may hold (429 beyond)
    # Health probes for /api/v1/status
    gateway_health_url: str = "http://127.0.0.1:8088/health"
    probe_timeout_s: float = Field(default=2.0, gt=0)
    # Auth: keys from the key store, plus these (token -> key) for bootstrap and tests.
    static_keys: dict[str, StaticKey] = Field(default_factory=dict)
    # What a tenant admin may create through the API and the admin page (issue 16): keys above
    # these are refused with a 400 naming the setting. Keys without expiry stay allowed unless
    # key_require_expiry is set. `logharbor keys create` (the operator's CLI) is not bound by them.
    key_max_rate: float = Field(default=100_000.0, gt=0)
    key_max_burst: float = Field(default=1_000_000.0, gt=0)
    key_max_lifetime_days: int = Field(default=730, ge=1, le=36_500)
    key_require_expiry: bool = False
    # Accept `?access_token=` on the live-tail path only: browsers cannot set headers on a
    # WebSocket. Tokens in URLs end up in proxy logs, hence off by default.
    allow_query_token: bool = False
