"""Property test: random write / rotate / copytruncate / truncate / delete / crash sequences.

The real FileSource tails real files in a temp dir; the test drives its cycles directly (no
sleeps) and a sink that "acknowledges" every event at once, like a 202. A crash throws the
source away without flushing and builds a new one from the checkpoint file last saved. A model
tracks which lines the tail has had a chance to read; the properties:

- no line ever arrives under two different ids (re-reads after a crash reuse ids);
- nothing arrives that was not written;
- every line arrives, except lines a real tail cannot see: written and then truncated,
  deleted or rotated away before any read, or unread in a rotated/deleted file at a crash.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.checkpoint import CheckpointStore
from shipper.config import FileSourceConfig
from shipper.event import Event
from shipper.metrics import Metrics
from shipper.sources.file_tail import FileSource


class AckSink:
    """Records events and commits each at once (the gateway answered 202)."""

    def __init__(self) -> None:
        self.by_id: dict[str, str] = {}
        self.ids_per_line: dict[str, set[str]] = {}

    async def put(self, events: list[Event]) -> None:
        for e in events:
            obj = orjson.loads(e.data)
            self.by_id[obj["id"]] = obj["raw"]
            self.ids_per_line.setdefault(obj["raw"], set()).add(obj["id"])
            assert e.source is not None
            e.source.commit(e.token)

    def offer(self, events: list[Event]) -> int:  # pragma: no cover - files never offer
        raise AssertionError


@dataclass
class FileModel:
    lines: list[str] = field(default_factory=list)
    read: int = 0  # lines the tail has read
    tracked: bool = False  # the tail holds it open


@dataclass
class Harness:
    root: Path
    src: FileSource | None = None
    store: CheckpointStore | None = None
    sink: AckSink = field(default_factory=AckSink)
    current: FileModel | None = None  # model of logs/app.log
    held: list[FileModel] = field(default_factory=list)  # rotated/deleted but possibly still open
    may_lose: set[str] = field(default_factory=set)
    written: list[str] = field(default_factory=list)
    n: int = 0
    rot: int = 0

    @property
    def path(self) -> Path:
        return self.root / "logs" / "app.log"

    def new_source(self) -> None:
        self.store = CheckpointStore(self.root / "data" / "checkpoints.json")
        cfg = FileSourceConfig(type="file", name="prop", paths=[str(self.root / "logs" / "*.log")],
                               multiline=False, inotify=False, rotate_wait_s=0, read_chunk_bytes=4096)
        self.src = FileSource(cfg, "host1", self.store, Metrics())
        self.src._sink = self.sink

    async def cycle(self) -> None:
        assert self.src is not None
        src = self.src
        src._names_changed = True
        for _ in range(50):
            if not await src._cycle():
                break
        for m in ([self.current] if self.current else []) + self.held:
            if m.tracked or m is self.current:
                m.tracked = True
                m.read = len(m.lines)
        self.held = [m for m in self.held if m.read < len(m.lines)]

    def write(self, count: int) -> None:
        if self.current is None:
            self.current = FileModel()
        with open(self.path, "a") as f:
            for _ in range(count):
                self.n += 1
                line = f"L{self.n:06d}-{'y' * (self.n % 7)}"
                f.write(line + "\n")
                self.current.lines.append(line)
                self.written.append(line)

    def _unread_of(self, m: FileModel) -> None:
        self.may_lose.update(m.lines[m.read:])

    def rotate(self) -> None:
        if self.current is None:
            return
        self.rot += 1
        os.rename(self.path, self.root / "logs" / f"app.log.{self.rot}")
        if self.current.tracked:
            self.held.append(self.current)
        else:
            self._unread_of(self.current)
        self.current = None

    def copytruncate(self) -> None:
        if self.current is None:
            return
        self.rot += 1
        shutil.copyfile(self.path, self.root / "logs" / f"app.log.{self.rot}")
        os.truncate(self.path, 0)
        self._unread_of(self.current)
        self.current = FileModel(tracked=self.current.tracked)

    def delete(self) -> None:
        if self.current is None:
            return
        os.unlink(self.path)
        if self.current.tracked:
            self.held.append(self.current)
        else:
            self._unread_of(self.current)
        self.current = None

    def crash(self, save_first: bool) -> None:
        assert self.src is not None and self.store is not None
        if save_first:
            self.store.save()
        for tf in self.src._files.values():
            if not tf.closed:
                os.close(tf.fd)
        for m in self.held:  # rotated files may be found again by inode, deleted ones cannot
            self._unread_of(m)
        self.held = []
        if self.current is not None:
            self.current.tracked = False
        self.new_source()
        assert self.src is not None
        self.src._rescan(0.0)
        self.src._recover_orphans(0.0)
        self.src._first_scan = False

    async def finish(self) -> None:
        for _ in range(3):
            await self.cycle()
        assert self.src is not None
        for tf in list(self.src._files.values()):
            if tf.gone_at is not None and not tf.closed:
                await self.src._maybe_close(tf, tf.gone_at + 1)


# Each step writes some lines, maybe lets the tail read them, then does one thing to the file or
# the shipper; so most disasters strike while data is at risk (read but not saved, or unread).
STEPS = st.lists(
    st.tuples(
        st.integers(0, 20),
        st.booleans(),
        st.sampled_from(["nothing", "cycle", "rotate", "copytruncate", "truncate", "delete", "save",
                         "crash", "crash_saved"]),
    ),
    min_size=2,
    max_size=15,
)


async def run_ops(root: Path, ops: list[tuple[int, bool, str]]) -> Harness:
    h = Harness(root)
    (root / "logs").mkdir()
    (root / "data").mkdir()
    h.new_source()
    assert h.src is not None
    h.src._rescan(0.0)
    h.src._first_scan = False
    for count, read_first, op in ops:
        if count:
            h.write(count)
        if read_first:
            await h.cycle()
        if op == "cycle":
            await h.cycle()
        elif op == "rotate":
            h.rotate()
        elif op == "copytruncate":
            h.copytruncate()
        elif op == "truncate" and h.current is not None:
            os.truncate(h.path, 0)
            h._unread_of(h.current)
            h.current = FileModel(tracked=h.current.tracked)
        elif op == "delete":
            h.delete()
        elif op == "save":
            assert h.store is not None
            h.store.save()
        elif op in ("crash", "crash_saved"):
            h.crash(save_first=op == "crash_saved")
    await h.finish()
    return h


@settings(max_examples=int(os.environ.get("SHIPPER_PROPERTY_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(STEPS)
def test_random_file_histories_deliver_every_visible_line_once(ops: list[tuple[int, bool, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = asyncio.run(run_ops(Path(tmp), ops))
        doubled = {line: ids for line, ids in h.sink.ids_per_line.items() if len(ids) > 1}
        assert not doubled, f"lines under several ids: {doubled}"
        unexpected = set(h.sink.ids_per_line) - set(h.written)
        assert not unexpected
        missing = [line for line in h.written if line not in h.sink.ids_per_line and line not in h.may_lose]
        assert not missing, f"lost {len(missing)} lines, first {missing[:3]}"


def test_inode_reuse_is_not_mistaken_for_the_old_file(tmp_path: Path) -> None:
    """Many short-lived files: a recycled inode with a stale checkpoint must be read from 0."""

    async def go() -> tuple[Harness, int]:
        h = Harness(tmp_path)
        (tmp_path / "logs").mkdir()
        (tmp_path / "data").mkdir()
        h.new_source()
        assert h.src is not None
        h.src._first_scan = False
        inodes: list[int] = []
        for _ in range(150):
            h.write(3)
            inodes.append(os.stat(h.path).st_ino)
            await h.cycle()
            assert h.store is not None and h.src is not None
            h.store.save()
            # Shipper stops; while it is down the file is deleted and a new one takes its name
            # (and, when the file system recycles it, its inode). Then the shipper starts again.
            for tf in h.src._files.values():
                if not tf.closed:
                    os.close(tf.fd)
            os.unlink(h.path)
            h.current = None
            h.write(3)
            inodes.append(os.stat(h.path).st_ino)
            h.new_source()
            h.src._rescan(0.0)
            h.src._recover_orphans(0.0)
            h.src._first_scan = False
            await h.cycle()
            for tf in h.src._files.values():
                if not tf.closed:
                    os.close(tf.fd)
            os.unlink(h.path)
            h.current = None
            h.new_source()
            h.src._first_scan = False
        await h.finish()
        return h, len(inodes) - len(set(inodes))

    h, reused = asyncio.run(go())
    assert reused > 0, "the file system never reused an inode; the test proved nothing"
    missing = [line for line in h.written if line not in h.sink.ids_per_line]
    assert not missing
    assert all(len(ids) == 1 for ids in h.sink.ids_per_line.values())

