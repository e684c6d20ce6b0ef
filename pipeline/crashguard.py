"""Poison records that kill the worker process, not just raise.

An exception in a step is retried in-process and dead-lettered (``PipelineWorker.process``).
A record that crashes the interpreter (a C-extension fault, the OOM killer) leaves no trace
in-process: after a restart the same uncommitted batch comes back and kills the next worker
too. So before processing, a worker writes a small marker per partition to local disk —
where it is about to start and whether that is a whole batch or one record. A worker that is
handed a batch containing a marker's offset knows a predecessor died there and goes *careful*:
records one at a time from that offset, each announced by its own marker. A record that was
announced ``max_attempts`` times without the worker surviving it is dead-lettered unprocessed.

Markers live on the host (``pipeline.state_dir``), which covers workers of one supervisor
taking over each other's partitions; across hosts a crash loop is bounded by the supervisor's
restart backoff instead. A marker only ever costs a slower pass over one batch.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import orjson

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Marker:
    offset: int
    attempts: int
    single: bool  # True: exactly this record was being processed; False: a batch from here


class CrashGuard:
    """Per-partition markers on local disk (one small file each, rewritten in place)."""

    def __init__(self, directory: Path | None, max_attempts: int) -> None:
        self.max_attempts = max_attempts
        self.directory = directory
        if directory is not None:
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                log.warning("crash guard disabled: cannot create %s (%s)", directory, exc)
                self.directory = None

    def _path(self, topic: str, partition: int) -> Path:
        assert self.directory is not None
        return self.directory / f"{topic}.{partition}.json"

    def read(self, topic: str, partition: int) -> Marker | None:
        if self.directory is None:
            return None
        try:
            data = orjson.loads(self._path(topic, partition).read_bytes())
            return Marker(int(data["offset"]), int(data["attempts"]), bool(data["single"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, topic: str, partition: int, marker: Marker) -> None:
        if self.directory is None:
            return
        path = self._path(topic, partition)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            tmp.write_bytes(
                orjson.dumps({"offset": marker.offset, "attempts": marker.attempts, "single": marker.single})
            )
            tmp.replace(path)  # survives our own crash: it is in the page cache, not our memory
        except OSError as exc:
            log.warning("crash guard marker %s not written: %s", path, exc)

    def begin_batch(self, topic: str, partition: int, first: int, last: int) -> Marker | None:
        """Announce a batch; returns the marker a dead predecessor left inside it, if any."""
        previous = self.read(topic, partition)
        if previous is not None and first <= previous.offset <= last:
            return previous
        self.write(topic, partition, Marker(first, 1, False))
        return None

    def begin_record(self, topic: str, partition: int, offset: int, previous: Marker | None) -> int:
        """Announce one record (careful mode); returns how many times it has now been started."""
        attempts = previous.attempts + 1 if previous and previous.single and previous.offset == offset else 1
        self.write(topic, partition, Marker(offset, attempts, True))
        return attempts
