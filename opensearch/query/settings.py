"""Settings for the search-syntax engine (YAML section ``query``, env prefix ``LOGHARBOR_QUERY_``).

They live here, not in logharbor/config.py, because only the query engine reads them; the ui
and the live-tail/alert workers pass one instance to :func:`opensearch.query.parse`.
"""

from __future__ import annotations

from datetime import time
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from logharbor.config import SectionSettings


class QuerySettings(SectionSettings):
    """Time zone, business hours and safety caps used when parsing and compiling queries."""

    section: ClassVar[str] = "query"
    model_config = SettingsConfigDict(env_prefix="LOGHARBOR_QUERY_", env_nested_delimiter="__", extra="forbid")

    # Zone used for absolute dates without an offset, "today", "this week", business hours, weekdays.
    timezone: str = "UTC"
    business_hours_start: time = time(9, 0)
    business_hours_end: time = time(17, 0)
    # Fields searched by free text and "phrases" (event.original only where the template keeps it indexed).
    free_text_fields: list[str] = Field(default_factory=lambda: ["message", "event.original"])
    # Extra or overriding short names (merged over logharbor.ecs.SHORT_FIELDS).
    field_aliases: dict[str, str] = Field(default_factory=dict)
    # OpenSearch clusters run with search.allow_expensive_queries=false; when this is False the
    # compiler refuses anything that would need it (infix wildcards, keyword ranges) with a clear error.
    allow_expensive_queries: bool = False
    # index_prefixes.max_chars in the mapping (OpenSearch allows at most 19): longer prefixes would
    # fall back to an expensive automaton query, so they are refused.
    max_prefix_chars: int = Field(default=19, ge=1, le=19)
    max_query_length: int = Field(default=4096, ge=1)
    max_in_values: int = Field(default=1024, ge=1)
    max_clauses: int = Field(default=1024, ge=1)
    # Parenthesised groups and NOT/- nested inside each other (opensearch/query/limits.py).
    max_depth: int = Field(default=32, ge=1, le=200)
    max_wildcard_pattern_length: int = Field(default=128, ge=1)
    # Business hours / weekdays expand into one range per day: bound the number of days.
    max_calendar_days: int = Field(default=400, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{value}' (use an IANA name such as Europe/Berlin)") from exc
        return value

    @model_validator(mode="after")
    def _hours_in_order(self) -> QuerySettings:
        # Windows crossing midnight (night shifts) are not supported: say so instead of matching nothing.
        if self.business_hours_end <= self.business_hours_start:
            raise ValueError("business_hours_end must be later than business_hours_start (same day)")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The configured zone as a tzinfo."""
        return ZoneInfo(self.timezone)
