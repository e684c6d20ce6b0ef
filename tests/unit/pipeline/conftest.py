"""Fixtures for pipeline unit tests.

This folder is a package (``tests.unit.pipeline``) so test names mirror the modules without
clashing across folders; its helpers are also importable flat (``from pipeline_testkit import
make_event``), as the tests here and tests/integration/test_format_corpus_e2e.py do.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipeline.rules import load_chain
from pipeline.settings import PipelineSettings

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.append(_HERE)  # appended, never first: nothing here may shadow a real package


@pytest.fixture
def settings() -> PipelineSettings:
    return PipelineSettings()


@pytest.fixture
def default_chain(settings: PipelineSettings):
    return load_chain(settings)
