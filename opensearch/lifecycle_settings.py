"""Settings for snapshots, safe deletion, size budgets and disk protection (``lifecycle:``).

Kept apart from ``storage:`` (retention classes and phase ages, owned by the event model) so the
operations side can grow without touching the field vocabulary. Env prefix
``LOGHARBOR_LIFECYCLE_``; every value has a single-node default.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from logharbor.config import SectionSettings


class LifecycleSettings(SectionSettings):
    """Snapshots (repository, schedule, retention, verify), safe deletion and disk protection."""

    section: ClassVar[str] = "lifecycle"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_LIFECYCLE_", env_nested_delimiter="__", extra="forbid")

    # --- snapshots: "no repository" is when this name is not registered in the cluster
    snapshot_repository: str = "logharbor"
    snapshot_indices: str = "logs-*"
    snapshot_schedule: str = "0 2 * * *"
    snapshot_timezone: str = "UTC"
    snapshot_timeout_s: float = Field(default=3600.0, gt=0)
    snapshot_max_count: int = Field(default=30, ge=1)
    snapshot_max_age: str = "30d"
    snapshot_min_count: int = Field(default=3, ge=0)
    verify_sample: int = Field(default=200, ge=1, le=10_000)
    verify_after_snapshot: bool = True
    # --- safe deletion
    grace_period: str = "24h"
    # --- size budgets: "<tenant>/<class>" (or a data stream name) -> size ("50gb"); "*" = all logs-*
    size_budgets: dict[str, str] = Field(default_factory=dict)
    # --- disk protection
    disk_check_interval_s: float = Field(default=30.0, gt=0)
    emergency_order: list[str] = Field(default_factory=lambda: ["debug", "standard", "dlq", "errors"])
    # classes emergency retention never touches (held streams are never touched either)
    emergency_protected: list[str] = Field(default_factory=lambda: ["audit"])
    # emergency retention starts when free space falls under the low watermark (before the high one)
    # and frees until free space is this much above it
    emergency_headroom: str = "0b"
    # --- scheduler lease
    lease_ttl_s: float = Field(default=60.0, gt=1)
