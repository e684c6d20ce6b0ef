"""``database`` sources: a database server's log files, tailed by :class:`~shipper.sources.file_tail.FileSource`.

Only the config differs from a ``file`` source: ``engine`` picks the format hint and the
multiline preset (``shipper/presets.py``), so a PostgreSQL ``DETAIL:``/``STATEMENT:`` block or a
MySQL slow-log entry arrives as one event.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from shipper.multiline import MultilineConfig
from shipper.sources.file_tail import FileSource, FileSourceConfig

DatabaseSource = FileSource


class DatabaseSourceConfig(FileSourceConfig):
    """Database server logs are ordinary files; ``engine`` only sets the default format hint."""

    type: Literal["database"]  # type: ignore[assignment]
    engine: Literal["postgres", "mysql", "mariadb", "mysql-slow", "mongodb", "redis", "other"] = "postgres"
    format: str = ""

    @model_validator(mode="after")
    def _default_format(self) -> DatabaseSourceConfig:
        from shipper.presets import DATABASE_PRESETS

        hint, preset, _paths = DATABASE_PRESETS[self.engine]
        if not self.format:
            self.format = hint
        ml = self.multiline
        if ml.enabled and ml.preset is None and ml.start_pattern is None and ml.continue_pattern is None:
            self.multiline = MultilineConfig(**{**ml.model_dump(exclude_unset=True), "preset": preset})
        return self
