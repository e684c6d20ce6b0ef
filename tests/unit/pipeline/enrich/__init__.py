"""Unit tests of pipeline/enrich/ modules, one file per module."""
