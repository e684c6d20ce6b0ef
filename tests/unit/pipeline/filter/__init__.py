"""Unit tests of pipeline/filter/ modules, one file per module."""
