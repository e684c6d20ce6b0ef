"""``lookup``: a static table (CSV or JSON) keyed by one event field adds more fields.

E.g. ``service.name`` → team, owner, tier. The table is loaded once and re-read only when its
mtime changes (checked at most every ``reload_interval_s``), so the hot path is one dict get.
CSV: a header row; ``key_column`` (default: the first column) is the key. JSON: either an
object ``{key: {field: value}}`` or a list of objects holding ``key_column``.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any, Literal

import orjson

from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig


def load_table(path: Path, key_column: str | None) -> dict[str, dict[str, Any]]:
    """Read a lookup table into {key: {field: value}}; errors name the file."""
    if path.suffix.lower() == ".json":
        data = orjson.loads(path.read_bytes())
        if isinstance(data, dict):
            return {str(k): dict(v) for k, v in data.items() if isinstance(v, dict)}
        if isinstance(data, list):
            if not key_column:
                raise ValueError(f"{path}: a JSON list table needs key_column")
            return {
                str(row[key_column]): {k: v for k, v in row.items() if k != key_column}
                for row in data
                if isinstance(row, dict) and key_column in row
            }
        raise ValueError(f"{path}: JSON table must be an object or a list of objects")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise ValueError(f"{path}: CSV table has no header row")
        key = key_column or reader.fieldnames[0]
        if key not in reader.fieldnames:
            raise ValueError(f"{path}: key column {key!r} not in header {reader.fieldnames}")
        return {row[key]: {k: v for k, v in row.items() if k != key and v not in (None, "")} for row in reader}


class LookupConfig(StepConfig):
    type: Literal["lookup"] = "lookup"
    path: Path
    key_field: str
    key_column: str | None = None
    prefix: str = ""  # e.g. "labels." to put every column under labels.*
    overwrite: bool = False
    reload_interval_s: float = 5.0

    def build(self, settings: PipelineSettings) -> Step:
        return LookupStep(self)


class LookupStep(Step):
    fail_open = True

    def __init__(self, config: LookupConfig) -> None:
        self.name = config.rule_name
        self.cfg = config
        self.table: dict[str, dict[str, Any]] = {}
        self._mtime = -1.0
        self._checked = 0.0
        self._refresh(force=True)

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.cfg.reload_interval_s:
            return
        self._checked = now
        mtime = self.cfg.path.stat().st_mtime
        if mtime != self._mtime:
            table = load_table(self.cfg.path, self.cfg.key_column)
            prefix = self.cfg.prefix
            self.table = {k: {prefix + f: v for f, v in row.items()} for k, row in table.items()}
            self._mtime = mtime

    def process(self, event: Event) -> Event:
        try:
            self._refresh()
        except (OSError, ValueError):
            pass  # keep the last good table; the file may be mid-rewrite
        key = event.doc.get(self.cfg.key_field)
        if key is None:
            return event
        row = self.table.get(str(key))
        if row:
            if self.cfg.overwrite:
                event.doc.update(row)
            else:
                for f, v in row.items():
                    event.doc.setdefault(f, v)
        return event
