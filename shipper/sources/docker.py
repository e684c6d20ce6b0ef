"""Docker json-file logs: ``{"log": "...\\n", "stream": "stdout", "time": "..."}`` per line.

These are ordinary files (rotation, checkpoints and ids as in :mod:`file_tail`); each line is
unwrapped so the gateway gets the application's own line, the container's timestamp and the
container id (the directory name in ``/var/lib/docker/containers/<id>/<id>-json.log``).
Docker splits lines longer than 16 KiB into pieces without a trailing newline; those are joined
back, and the event keeps the offset of the first piece.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import orjson
from pydantic import Field

from shipper.multiline import Joined, MultilineConfig, MultilineJoiner
from shipper.sources.file_tail import FileSource, FileSourceConfig, TrackedFile


class DockerSourceConfig(FileSourceConfig):
    """Docker json-file logs: each line is ``{"log", "stream", "time"}``, unwrapped before sending."""

    type: Literal["docker"]  # type: ignore[assignment]
    paths: list[str] = Field(default_factory=lambda: ["/var/lib/docker/containers/*/*-json.log"])
    multiline: MultilineConfig = Field(default_factory=lambda: MultilineConfig(enabled=False))

_PARTIAL = -1  # key in TrackedFile.meta for an unfinished split line


class DockerSource(FileSource):
    def line(self, tf: TrackedFile, text: str, start: int, end: int, now: float,
             joiner: MultilineJoiner | None, out: list[Joined]) -> None:
        try:
            obj = orjson.loads(text)
            msg = obj["log"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            super().line(tf, text, start, end, now, joiner, out)  # not docker json: pass through as is
            return
        partial = tf.meta.pop(_PARTIAL, None)
        if partial is not None:
            start, pieces, first = partial
            pieces.append(msg)
            msg = "".join(pieces)
            obj = first
        if not msg.endswith("\n"):
            tf.meta[_PARTIAL] = (start, [msg], obj)
            return
        if len(tf.meta) > 10_000:  # entries of lines joined into multiline events are never looked up
            tf.meta.clear()
        tf.meta[start] = (obj.get("time"), obj.get("stream"))
        super().line(tf, msg.rstrip("\r\n"), start, end, now, joiner, out)

    def fields(self, tf: TrackedFile, start: int) -> tuple[dict[str, Any], str | None]:
        fields, _ = super().fields(tf, start)
        ts, stream = tf.meta.pop(start, (None, None))
        fields["container.id"] = os.path.basename(os.path.dirname(tf.path))
        if stream:
            fields["stream"] = stream
        return fields, ts
