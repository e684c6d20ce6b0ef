"""Parsers: one module per log format, each ``parse(line) -> dict | None``.

A parser returns flat fields with ECS names (``@timestamp`` may still be raw: a string, a
number or a naive datetime — :mod:`pipeline.parse.step` applies the source's zone), or None
when the line is not in its format. :mod:`pipeline.parse.detect` picks one by the first bytes.
"""
