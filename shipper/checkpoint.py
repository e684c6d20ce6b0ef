"""Checkpoints: where each source resumes after a restart, saved atomically.

The file is replaced with write-temp, fsync, rename, fsync-directory, so after a crash it is
either the old or the new version, never a torn mix. Sources only record positions that are
already durable downstream (202 or spooled), which is what makes delivery at-least-once; ids
make the resulting re-sends harmless.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("logharbor.shipper.checkpoint")


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` (temp file, fsync, rename, fsync dir).

    ``durable=False`` skips both fsyncs: still never torn for readers, but may be lost in a
    power cut; right for the status file, which is rewritten every second anyway.
    """
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """fsync a directory so a rename or create in it survives a power cut."""
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class CheckpointStore:
    """``{source name: {key: state}}`` in ``data_dir/checkpoints.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, dict[str, Any]] = {}
        self.dirty = False
        if path.exists():
            try:
                loaded = orjson.loads(path.read_bytes())
                self._data = loaded.get("sources", {}) if isinstance(loaded, dict) else {}
            except (orjson.JSONDecodeError, OSError) as exc:
                # A torn file cannot happen with atomic_write; anything else is a human edit.
                bad = path.with_suffix(".corrupt")
                with contextlib.suppress(OSError):
                    os.replace(path, bad)
                log.error("checkpoint file unreadable, starting fresh", extra={"path": str(path),
                                                                                "error": str(exc)})

    def section(self, source: str) -> dict[str, Any]:
        """The mutable state of one source (created empty). Call :meth:`mark` after changing it."""
        return self._data.setdefault(source, {})

    def mark(self) -> None:
        self.dirty = True

    def save(self) -> None:
        """Write if anything changed since the last save."""
        if not self.dirty:
            return
        self.dirty = False
        atomic_write(self.path, orjson.dumps({"version": 1, "sources": self._data}))
