"""The bases of the shipper's pydantic config models (a leaf: the sources and ``config.py`` use it).

Every model forbids unknown keys so a typo is an error that names the field
(``sources.0.pathz: Extra inputs are not permitted``), not a silent default.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfigBase(StrictModel):
    """What every source's config has: a ``name`` (default ``<type>-<index>``) and a ``format`` hint."""

    name: str | None = None
    format: str = "auto"
    meta: dict[str, Any] = Field(default_factory=dict)  # this source's host metadata (shipper/meta.py)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        # The gateway checks hints against the same shared list; a typo fails here, at start-up.
        from logharbor.envelope import RAW_FORMATS

        if value and value not in RAW_FORMATS:
            raise ValueError(f"unknown format hint '{value}'; known: {', '.join(sorted(RAW_FORMATS))}")
        return value
