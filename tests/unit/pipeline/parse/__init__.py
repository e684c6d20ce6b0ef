"""Unit tests of pipeline/parse/ modules, one file per module or family group."""
