"""The protocol tests share one stack (gateway + pipeline subprocesses): the session fixture lives
here so every test module of this directory gets the same instance."""

from __future__ import annotations

import sys
from pathlib import Path

# test_pipeline's helpers (topics, stored counts) live one directory up
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol_support import stack_fixture  # noqa: F401
