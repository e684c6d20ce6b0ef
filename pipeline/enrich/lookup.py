"""``lookup``: a table keyed by one event field adds more fields — from a file, HTTP or PostgreSQL.

E.g. ``service.name`` → team, owner, tier. A file (``path``) is loaded once and re-read only
when its mtime changes (checked at most every ``reload_interval_s``), so the hot path is one
dict get. CSV: a header row; ``key_column`` (default: the first column) is the key. JSON:
either an object ``{key: {field: value}}`` or a list of objects holding ``key_column``.

``url`` (an HTTP endpoint) or ``sql`` (a PostgreSQL DSN and query) read the table from a
service instead, with a TTL cache, a timeout and back-off; when the source is down events pass
unenriched and are counted (see :mod:`pipeline.enrich.lookup_sources`).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline import metrics
from pipeline.enrich.lookup_sources import HttpSource, PostgresSource, RemoteSource, RemoteTable
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


class SqlSource(BaseModel):
    """A PostgreSQL query: with ``$1`` it is run per key (one row), without it reads the whole table."""

    model_config = ConfigDict(extra="forbid")
    dsn: str  # postgresql://user:password@host:5432/db
    query: str
    pool_size: int = Field(default=4, ge=1, le=64)


class LookupConfig(StepConfig):
    type: Literal["lookup"] = "lookup"
    path: Path | None = None
    url: str | None = None  # http(s)://…; "{key}" in it = one GET per key, else one GET for the table
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. Authorization for the HTTP source
    sql: SqlSource | None = None
    key_field: str
    key_column: str | None = None
    prefix: str = ""  # e.g. "labels." to put every column under labels.*
    overwrite: bool = False
    reload_interval_s: float = 5.0
    ttl_s: float = Field(default=300.0, gt=0)  # remote: a cached row (or the table) is fresh this long
    negative_ttl_s: float = Field(default=60.0, ge=0)  # remote per key: "no such key" is remembered this long
    timeout_s: float = Field(default=0.5, gt=0, le=30)  # remote: the longest an event waits for its row
    retry_after_s: float = Field(default=10.0, gt=0)  # remote: after a failure, stop asking this long
    max_entries: int = Field(default=100_000, ge=1)  # remote per key: cache size

    @model_validator(mode="after")
    def _one_source(self) -> LookupConfig:
        given = [n for n in ("path", "url", "sql") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"lookup needs exactly one of path, url, sql (got {', '.join(given) or 'none'})")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"lookup url must be http:// or https://, got {self.url!r}")
        return self

    def build(self, settings: PipelineSettings) -> Step:
        if self.path is None:
            return RemoteLookupStep(self)
        return LookupStep(self)


def _apply(event: Event, row: dict[str, Any], overwrite: bool) -> None:
    if overwrite:
        event.doc.update(row)
    else:
        for f, v in row.items():
            event.doc.setdefault(f, v)


class LookupStep(Step):
    """The file-backed table."""

    fail_open = True

    def __init__(self, config: LookupConfig) -> None:
        assert config.path is not None
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
        assert self.cfg.path is not None
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
            _apply(event, row, self.cfg.overwrite)
        return event


def _source(cfg: LookupConfig) -> RemoteSource:
    if cfg.url is not None:
        return HttpSource(cfg.url, cfg.key_column, cfg.timeout_s * 5, cfg.headers)
    assert cfg.sql is not None
    return PostgresSource(cfg.sql.dsn, cfg.sql.query, cfg.key_column, cfg.timeout_s * 5, cfg.sql.pool_size)


class RemoteLookupStep(LookupStep):
    """HTTP or PostgreSQL behind a :class:`RemoteTable`; unenriched events are counted per reason.

    A :class:`LookupStep` for the step-kind table (pipeline/step_kinds.py); shares only ``_apply``.
    """

    fail_open = True

    def __init__(self, config: LookupConfig) -> None:
        self.name = config.rule_name
        self.cfg = config
        self.remote = RemoteTable(_source(config), ttl_s=config.ttl_s, negative_ttl_s=config.negative_ttl_s,
                                  timeout_s=config.timeout_s, retry_after_s=config.retry_after_s,
                                  max_entries=config.max_entries, name=self.name)
        self.unenriched: dict[str, int] = {}
        self.prefix = config.prefix

    def process(self, event: Event) -> Event:
        key = event.doc.get(self.cfg.key_field)
        if key is None:
            return event
        row, reason = self.remote.get(str(key))
        if reason is not None:
            self.unenriched[reason] = self.unenriched.get(reason, 0) + 1
        elif row:
            _apply(event, {self.prefix + f: v for f, v in row.items()}, self.cfg.overwrite)
        return event

    def flush(self) -> None:
        for reason, n in self.unenriched.items():
            metrics.LOOKUP_UNENRICHED.labels(self.name, reason).inc(n)
        self.unenriched.clear()

    def __del__(self) -> None:  # a rules reload drops the step: close its pool/session
        try:
            self.remote.close()
        except Exception:  # interpreter shutdown
            pass
