"""Imports every step module so each registers its ``type`` (the list of available steps)."""

from pipeline import redact, route  # noqa: F401
from pipeline.enrich import correlation, derived, geoip, lookup, metadata, user_agent  # noqa: F401
from pipeline.filter import drop_content, level_floor, sample, source_filter  # noqa: F401
from pipeline.parse import extract, step  # noqa: F401
