"""File tail error paths that a root-run test cannot provoke with chmod: unreadable files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson
import pytest

import shipper.sources.file_tail as file_tail
from shipper.checkpoint import CheckpointStore
from shipper.config import FileSourceConfig
from shipper.event import Event
from shipper.metrics import Metrics
from shipper.sources.file_tail import FileSource


class Sink:
    def __init__(self) -> None:
        self.raws: list[str] = []

    async def put(self, events: list[Event]) -> None:
        self.raws += [orjson.loads(e.data)["raw"] for e in events]

    def offer(self, events: list[Event]) -> int:  # pragma: no cover
        raise AssertionError


def test_unreadable_file_is_reported_once_and_read_when_it_becomes_readable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "secret.log"
    log.write_text("a\nb\n")
    real_open = os.open
    denied = {str(log)}

    def fake_open(path: str, flags: int, *args: int) -> int:
        if str(path) in denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(file_tail.os, "open", fake_open)
    src = FileSource(FileSourceConfig(type="file", name="f", paths=[str(tmp_path / "*.log")], inotify=False,
                                      multiline=False), "h", CheckpointStore(tmp_path / "cp.json"), Metrics())
    sink = Sink()
    src._sink = sink

    async def go() -> None:
        for _ in range(3):
            src._rescan(0.0)
            await src._cycle()
        assert sink.raws == []
        assert "Permission denied" in src.status()["errors"][str(log)]
        assert sum("cannot read file" in r.message for r in caplog.records) == 1  # logged once, not per scan
        denied.clear()
        src._rescan(1.0)
        await src._cycle()
        assert sink.raws == ["a", "b"] and src.status()["errors"] == {}

    asyncio.run(go())
