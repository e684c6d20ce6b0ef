"""Helpers for pipeline unit tests (a uniquely named module: test dirs are not packages)."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from logharbor.envelope import Envelope
from pipeline.event import Event


def make_event(
    raw: str | None = None,
    *,
    fmt: str | None = "auto",
    source: str = "web",
    meta: dict[str, Any] | None = None,
    **kw: Any,
) -> Event:
    env = Envelope(
        id=kw.pop("id", "ev-1"),
        tenant=kw.pop("tenant", "acme"),
        source=source,
        received_at=kw.pop("received_at", "2026-01-19T10:31:00Z"),
        raw=raw,
        format=fmt if raw else None,
        meta=meta or {},
        **kw,
    )
    return Event.from_envelope(env)


def counter(name: str, **labels: str) -> float:
    """The value of a ``logharbor_pipeline_<name>_total`` counter (0 before its first increment)."""
    return REGISTRY.get_sample_value(f"logharbor_pipeline_{name}_total", labels) or 0.0
