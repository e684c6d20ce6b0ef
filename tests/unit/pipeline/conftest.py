"""Fixtures for pipeline unit tests."""

from __future__ import annotations

import pytest

from pipeline.rules import load_chain
from pipeline.settings import PipelineSettings


@pytest.fixture
def settings() -> PipelineSettings:
    return PipelineSettings()


@pytest.fixture
def default_chain(settings: PipelineSettings):
    return load_chain(settings)
