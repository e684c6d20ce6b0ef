"""Shared fixtures for the query-engine unit tests: a fixed clock and default settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from opensearch.query import Query, QuerySettings, parse

# Wednesday 2026-01-21 12:00 UTC: every relative time in these tests is anchored here.
NOW = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def q() -> Callable[..., Query]:
    """Parse with the fixed clock and default settings (env/YAML ignored)."""

    def _parse(text: str, **kw) -> Query:
        kw.setdefault("settings", QuerySettings())
        return parse(text, now=NOW, **kw)

    return _parse
