"""File tailing: globs, rotation, truncation, restarts, with exactly-resumable checkpoints.

How a file is recognised: by device + inode **and** a fingerprint, the hash of its first line
(at most ``fingerprint_bytes``). The fingerprint is fixed as soon as the first line is complete,
which is also the earliest moment a file can yield an event, so it never changes while events
exist. It catches inode reuse (a new file on a recycled inode has a different first line) and
content replaced in place. ``gen`` counts resets of the same inode (truncation, new content),
so ``(origin path, dev:inode:fingerprint:gen, byte offset)`` names every line uniquely and the
same way after a restart: that tuple is hashed into the event id.

Rotation: files are tracked by inode, not by name. A renamed or deleted file keeps its open
descriptor and is read to the end until ``rotate_wait_s`` passes without writes, while the new
file at the old name is read from its start. Copytruncate shows up as a shrink (or a changed
fingerprint): reading restarts at 0; bytes that were written but not yet read before the
truncation are unrecoverable and counted (``truncate_lost_bytes_total``). A file renamed while
the shipper was stopped is found again by inode next to its old path and finished.

Wake-ups come from inotify on the watched directories, with polling every ``poll_interval_s``
as the fallback and safety net.

Why one module of ~630 lines: discovery, rotation, truncation and checkpointing share one
per-file state machine (``TrackedFile``) whose transitions must be read together to see that no
line is skipped or read twice; the config model sits beside it as for every source type.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import glob
import hashlib
import logging
import os
import stat
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import Field, field_validator

from shipper.checkpoint import CheckpointStore
from shipper.event import Event, encode_event, now_rfc3339
from shipper.metrics import Metrics
from shipper.model_base import SourceConfigBase
from shipper.multiline import Joined, MultilineConfig, MultilineJoiner, multiline_option
from shipper.sources.base import EventSink, SourceBase
from shipper.sources.inotify import DirWatcher


class FileSourceConfig(SourceConfigBase):
    """Tail files matching ``paths`` (globs allowed); ``exclude`` globs are skipped."""

    type: Literal["file"]
    paths: list[str] = Field(min_length=1)
    # IANA zone of the times written in these files when they carry no offset (sent as the ECS
    # field event.timezone; the pipeline reads zone-less timestamps in it). None = the pipeline's.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str | None) -> str | None:
        if value:
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(value)
            except (ValueError, KeyError) as exc:
                raise ValueError(f"unknown time zone '{value}' (use an IANA name such as Europe/Berlin)") from exc
        return value
    exclude: list[str] = Field(default_factory=list)
    start_at: Literal["beginning", "end"] = "beginning"
    multiline: MultilineConfig = Field(default_factory=MultilineConfig)
    # Polling fallback (and safety net next to inotify): how often open files are checked.
    poll_interval_s: float = Field(default=0.1, gt=0)
    rescan_interval_s: float = Field(default=1.0, gt=0)
    # After a file was renamed away or deleted, keep reading it this long after its last write.
    rotate_wait_s: float = Field(default=5.0, ge=0)
    fingerprint_bytes: int = Field(default=256, ge=16)
    read_chunk_bytes: int = Field(default=256 * 1024, ge=4096)
    max_line_bytes: int = Field(default=1 << 20, ge=1024)
    inotify: bool = True

    _fix_multiline = field_validator("multiline", mode="before")(multiline_option)

log = logging.getLogger("logharbor.shipper.file")

# Writes are coalesced for this long after an inotify wake-up: at 1,000 writes/s it turns
# 1,000 wake-ups into ~50 while adding at most 20 ms of latency.
_COALESCE_S = 0.02
# Chunks read from one file per cycle before the other files get their turn.
_CHUNKS_PER_CYCLE = 4


def id_hasher(*parts: object) -> Any:
    """A blake2b state fed exactly as :func:`logharbor.ids.stable_id` feeds ``parts``.

    ``id_hasher(a, b, c)`` updated with ``b"<offset>\\x1f"`` gives ``stable_id(a, b, c, offset)``
    (a unit test holds them equal); hashing the per-file prefix once per read instead of once per
    line is a third of the tail's CPU at full speed.
    """
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(str(part).encode())
        h.update(b"\x1f")
    return h


def fingerprint(head: bytes, limit: int) -> str | None:
    """Hash of the first line (capped at ``limit`` bytes), or None while it is incomplete."""
    nl = head.find(b"\n", 0, limit)
    if nl >= 0:
        return hashlib.blake2b(head[: nl + 1], digest_size=8).hexdigest()
    if len(head) >= limit:
        return hashlib.blake2b(head[:limit], digest_size=8).hexdigest()
    return None


@dataclass(slots=True, eq=False)
class TrackedFile:
    key: str  # "dev:ino"
    path: str  # current name
    origin: str  # name when first seen: part of event ids, so renames do not change them
    fd: int
    gen: int = 0  # resets of this inode whose first line stayed the same (part of the identity)
    epoch: int = 0  # every reset, in memory only: commits from before a reset are ignored
    fp: str | None = None
    pos: int = 0  # next byte to read
    buf: bytes = b""  # incomplete trailing line, starting at pos - len(buf)
    size_seen: int = 0
    last_data_at: float = 0.0
    gone_at: float | None = None  # when its name stopped pointing at it
    closed: bool = False
    mtime_ns: int = 0
    last_end: int = 0  # end offset of the last event handed on (what must be committed before closing)
    joiner: MultilineJoiner | None = None
    meta: dict[int, Any] = field(default_factory=dict)  # per-line extras by start offset (docker)

    @property
    def ident(self) -> str:
        return f"{self.key}:{self.fp}:{self.gen}"


class FileSource(SourceBase):
    """Tails every file matching the configured globs."""

    def __init__(self, cfg: FileSourceConfig, host: str, store: CheckpointStore, metrics: Metrics) -> None:
        super().__init__(cfg.name or "file")
        self.cfg = cfg
        self.host = host
        self.format = cfg.format
        self._store = store
        self._state: dict[str, dict[str, Any]] = store.section(self.name)
        self._metrics = metrics
        self._files: dict[str, TrackedFile] = {}
        self._errors: dict[str, str] = {}
        self._wake = asyncio.Event()
        self._names_changed = True
        self._last_rescan = 0.0
        self._watcher: DirWatcher | None = DirWatcher(self._on_inotify) if cfg.inotify else None
        self._sink: EventSink | None = None
        self._first_scan = True
        self._fds_closed = False  # after run() ended: descriptor numbers may belong to other files

    # ---------------------------------------------------------------- lifecycle

    def _on_inotify(self, names_changed: bool) -> None:
        if names_changed and not self._first_scan:
            # Rescan right here, even while the tail loop waits on a full buffer: a new file is
            # opened (and so followed through renames) before a fast rotation can rename it
            # out of the globs unseen. At most every 50 ms, so a busy directory cannot make the
            # globbing itself the shipper's main work; the next cycle catches up.
            now = time.monotonic()
            if now - self._last_rescan >= 0.05:
                self._rescan(now)
            else:
                self._names_changed = True
        self._wake.set()

    def stop(self) -> None:
        super().stop()
        self._wake.set()

    async def run(self, sink: EventSink) -> None:
        """Tail until stopped; on stop, flush pending multiline events."""
        self._sink = sink
        loop = asyncio.get_running_loop()
        if self._watcher is not None:
            self._watcher.start(loop)
        try:
            self._rescan(time.monotonic())
            self._recover_orphans(time.monotonic())
            self._first_scan = False
            while not self._stopping:
                busy = await self._cycle()
                if self._stopping:
                    break
                if busy:
                    await asyncio.sleep(0)
                    continue
                await self._sleep(self._next_timeout())
                if self._watcher is not None and self._watcher.active:
                    await asyncio.sleep(_COALESCE_S)
            await self._flush_all()
        finally:
            if self._watcher is not None:
                self._watcher.close()
            # Close descriptors but keep the files' records: final commits still arrive after
            # this (the last batch is delivered after sources stop) and must land in checkpoints.
            self._fds_closed = True
            for tf in self._files.values():
                if not tf.closed:
                    with contextlib.suppress(OSError):
                        os.close(tf.fd)

    async def _sleep(self, seconds: float) -> None:
        if not self._wake.is_set():
            handle = asyncio.get_running_loop().call_later(seconds, self._wake.set)
            await self._wake.wait()
            handle.cancel()
        self._wake.clear()

    def _next_timeout(self) -> float:
        timeout = self.cfg.poll_interval_s
        now = time.monotonic()
        for tf in self._files.values():
            if tf.joiner is not None and (d := tf.joiner.deadline) is not None:
                timeout = min(timeout, max(0.0, d - now))
        return timeout

    async def _cycle(self) -> bool:
        """One pass: rescan names if due, read every open file. True if a read hit its budget."""
        now = time.monotonic()
        if self._names_changed or now - self._last_rescan >= self.cfg.rescan_interval_s:
            self._names_changed = False
            self._rescan(now)
        busy = False
        for tf in list(self._files.values()):
            if tf.closed:
                continue
            events, more = self._read(tf, now)
            if events:
                await self._put(events)
            busy = busy or more
            if not more and tf.gone_at is not None:
                await self._maybe_close(tf, now)
        self._metrics.set(f'files_open{{source="{self.name}"}}', sum(not f.closed for f in self._files.values()))
        return busy

    async def _put(self, events: list[Event]) -> None:
        assert self._sink is not None
        self._metrics.inc("events_read_total", len(events))
        await self._sink.put(events)

    async def _flush_all(self) -> None:
        now = time.monotonic()
        for tf in self._files.values():
            if tf.closed:
                continue
            events, _ = self._read(tf, now)
            out: list[Joined] = []
            if tf.joiner is not None:
                tf.joiner.flush(out)
            events += self._events(tf, out)
            if events:
                await self._put(events)

    # ---------------------------------------------------------------- discovery

    def _matches(self) -> dict[str, tuple[str, os.stat_result]]:
        found: dict[str, tuple[str, os.stat_result]] = {}
        for pattern in self.cfg.paths:
            paths = glob.glob(pattern) if glob.has_magic(pattern) else [pattern]
            if self._watcher is not None:
                base = pattern if glob.has_magic(pattern) else os.path.dirname(pattern)
                while glob.has_magic(base):
                    base = os.path.dirname(base)
                self._watcher.watch(base or ".")
            for path in sorted(paths):
                if any(fnmatch.fnmatch(path, ex) for ex in self.cfg.exclude):
                    continue
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    self._error(path, f"stat failed: {exc}")
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                found.setdefault(f"{st.st_dev}:{st.st_ino}", (path, st))
        return found

    def _rescan(self, now: float) -> None:
        self._last_rescan = now
        found = self._matches()
        opened = 0
        for key, (path, _st) in found.items():
            tf = self._files.get(key)
            if tf is not None and not tf.closed:
                tf.path = path
                tf.gone_at = None
                continue
            if tf is not None and tf.closed:
                continue  # drained and closed but still waiting for commits; same inode, same data
            opened += self._open(path, key, now)
        if opened:
            # The first-seen name is part of every event id of the file; it must be on disk before
            # any event is sent, or a crash plus a rename would re-read the file under new ids.
            self._store.save()
        for key, tf in self._files.items():
            if key not in found and tf.gone_at is None and not tf.closed:
                tf.gone_at = now
                with contextlib.suppress(OSError):  # its new name (or "... (deleted)"), for --status
                    tf.path = os.readlink(f"/proc/self/fd/{tf.fd}")
                log.info("file renamed or deleted; finishing it", extra={"source": self.name, "path": tf.path})

    def _error(self, path: str, message: str) -> None:
        if self._errors.get(path) != message:
            log.warning("cannot read file; will keep trying", extra={"source": self.name, "path": path,
                                                                      "error": message})
        self._errors[path] = message
        self.last_error = f"{path}: {message}"

    def _open(self, path: str, key: str, now: float, orphan_rec: dict[str, Any] | None = None) -> int:
        """Start tailing ``path``; 1 if it was opened, else 0."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            self._error(path, str(exc))
            return 0
        st = os.fstat(fd)
        real_key = f"{st.st_dev}:{st.st_ino}"
        if real_key != key:  # replaced between stat and open: pick it up on the next scan
            os.close(fd)
            self._names_changed = True
            return 0
        if self._errors.pop(path, None) is not None:
            log.info("file readable again", extra={"source": self.name, "path": path})
        head = os.pread(fd, self.cfg.fingerprint_bytes, 0)
        fp = fingerprint(head, self.cfg.fingerprint_bytes)
        rec = orphan_rec or self._state.get(key)
        tf = TrackedFile(key=key, path=path, origin=path, fd=fd, last_data_at=now, size_seen=st.st_size)
        if self._watcher is not None:
            self._watcher.watch(os.path.dirname(os.path.realpath(path)))
        if self.cfg.multiline.enabled:
            tf.joiner = MultilineJoiner(self.cfg.multiline)
        if rec is not None:
            tf.origin = rec.get("origin", path)
            # No fingerprint in the record means no event was ever made from it: nothing to clash with.
            same = rec.get("fp") is None or rec.get("fp") == fp
            if same and st.st_size >= rec["offset"]:
                tf.pos = tf.last_end = rec["offset"]
                tf.gen = rec.get("gen", 0)
                tf.fp = fp
            else:
                # Inode reused, content replaced, or truncated while we were away. A new first line
                # is a new identity by itself (generation 0, as a live reset would give); the same
                # first line in a shorter file is the next generation.
                tf.gen = rec.get("gen", 0) + 1 if same else 0
                tf.fp = fp
                if not same:
                    tf.origin = path
                log.info("file changed while not watched; reading from start",
                         extra={"source": self.name, "path": path, "same_fingerprint": same})
        else:
            tf.fp = fp
            if self._first_scan and self.cfg.start_at == "end":
                tf.pos = tf.last_end = st.st_size
        self._files[key] = tf
        self._save_rec(tf, tf.pos)
        log.info("tailing file", extra={"source": self.name, "path": path, "offset": tf.pos})
        return 1

    def _recover_orphans(self, now: float) -> None:
        """Finish files the checkpoint knows but the globs no longer match (rotated while stopped)."""
        for key, rec in list(self._state.items()):
            if key in self._files:
                continue
            directory = os.path.dirname(rec.get("path", ""))
            dev, _, ino = key.partition(":")
            candidate = None
            with contextlib.suppress(OSError):
                for entry in os.scandir(directory or "."):
                    if entry.inode() == int(ino) and entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        if str(st.st_dev) == dev:
                            candidate = entry.path
                            break
            if rec.get("fp") is None:
                candidate = None  # never had a complete line: nothing to finish, nothing to verify
            if candidate is not None:
                try:
                    with open(candidate, "rb") as f:
                        head = f.read(self.cfg.fingerprint_bytes)
                except OSError:
                    head = b""
                if fingerprint(head, self.cfg.fingerprint_bytes) != rec["fp"]:
                    candidate = None  # the inode was recycled for an unrelated file
            if candidate is None:
                del self._state[key]
                self._store.mark()
                continue
            if self._open(candidate, key, now, orphan_rec=rec):
                self._store.save()
            tf = self._files.get(key)
            if tf is not None:
                tf.gone_at = now
                log.info("finishing file rotated while stopped", extra={"source": self.name, "path": candidate})

    def _save_rec(self, tf: TrackedFile, offset: int) -> None:
        self._state[tf.key] = {"path": tf.path, "origin": tf.origin, "fp": tf.fp, "gen": tf.gen,
                               "offset": offset}
        self._store.mark()

    # ---------------------------------------------------------------- reading

    def _reset(self, tf: TrackedFile, fp: str | None, size: int, why: str) -> list[Event]:
        """The file was truncated or its content replaced: flush what we have, restart at 0."""
        lost = max(0, tf.size_seen - tf.pos)
        self._metrics.inc("file_truncations_total")
        self._metrics.inc("truncate_lost_bytes_total", lost)
        log.warning("file truncated; reading from start", extra={"source": self.name, "path": tf.path,
                                                                   "why": why, "unread_bytes_lost": lost})
        out: list[Joined] = []
        if tf.joiner is not None:
            tf.joiner.flush(out)
        events = self._events(tf, out)
        # Same first line: only a generation number tells the new content from the old. A new
        # first line is a new identity already; generation 0 keeps ids the same if we crash
        # before the checkpoint records this reset.
        tf.gen = tf.gen + 1 if fp == tf.fp else 0
        tf.epoch += 1
        tf.fp = fp
        tf.pos = tf.last_end = 0
        tf.buf = b""
        tf.meta.clear()
        tf.size_seen = size
        self._save_rec(tf, 0)
        return events

    def _read(self, tf: TrackedFile, now: float) -> tuple[list[Event], bool]:
        """Read what was appended. Returns (events, more data may be waiting)."""
        events: list[Event] = []
        try:
            st = os.fstat(tf.fd)
            size = st.st_size
            # Same size but written since we last looked: truncated and refilled to the same length.
            rewritten = size == tf.pos and st.st_mtime_ns != tf.mtime_ns
            tf.mtime_ns = st.st_mtime_ns
            if size < tf.pos:
                head = os.pread(tf.fd, self.cfg.fingerprint_bytes, 0)
                events += self._reset(tf, fingerprint(head, self.cfg.fingerprint_bytes), size, "shrunk")
            elif (size > tf.pos or rewritten) and tf.fp is not None:
                head = os.pread(tf.fd, self.cfg.fingerprint_bytes, 0)
                fp = fingerprint(head, self.cfg.fingerprint_bytes)
                if fp != tf.fp:
                    events += self._reset(tf, fp, size, "content replaced")
            tf.size_seen = max(tf.size_seen, size)
            chunks = 0
            while tf.pos < size and chunks < _CHUNKS_PER_CYCLE:
                data = os.pread(tf.fd, self.cfg.read_chunk_bytes, tf.pos)
                if not data:
                    break
                chunks += 1
                tf.pos += len(data)
                tf.last_data_at = now
                events += self._lines(tf, data, now)
        except OSError as exc:
            self._error(tf.path, f"read failed: {exc}")
            return events, False
        out: list[Joined] = []
        if tf.joiner is not None:
            tf.joiner.flush_due(now, out)
            if out:
                events += self._events(tf, out)
        return events, tf.pos < size

    def _lines(self, tf: TrackedFile, data: bytes, now: float) -> list[Event]:
        if tf.buf:
            data = tf.buf + data
        start = tf.pos - len(data)
        parts = data.split(b"\n")
        tail = parts.pop()
        if tf.fp is None:
            head = os.pread(tf.fd, self.cfg.fingerprint_bytes, 0)
            tf.fp = fingerprint(head, self.cfg.fingerprint_bytes)
            if tf.fp is not None:
                self._save_rec(tf, self._state.get(tf.key, {}).get("offset", tf.last_end))
        out: list[Joined] = []
        joiner = tf.joiner
        for part in parts:
            end = start + len(part) + 1
            if part.endswith(b"\r"):
                part = part[:-1]
            text = part.decode("utf-8", "replace")
            self.line(tf, text, start, end, now, joiner, out)
            start = end
        if len(tail) > self.cfg.max_line_bytes:
            # A runaway line without newline: ship it in pieces rather than buffer without bound.
            end = start + len(tail)
            self.line(tf, tail.decode("utf-8", "replace"), start, end, now, joiner, out)
            tail = b""
        tf.buf = tail
        return self._events(tf, out) if out else []

    def line(self, tf: TrackedFile, text: str, start: int, end: int, now: float,
             joiner: MultilineJoiner | None, out: list[Joined]) -> None:
        """One complete line; subclasses (docker) unwrap it first."""
        if joiner is not None:
            joiner.feed(text, start, end, now, out)
        else:
            out.append((text, start, end))

    def fields(self, tf: TrackedFile, start: int) -> tuple[dict[str, Any], str | None]:
        """Fields and event timestamp for the event starting at ``start``."""
        fields: dict[str, Any] = {"log.file.path": tf.path, "log.offset": start, "source_name": self.name}
        if self.cfg.timezone:
            fields["event.timezone"] = self.cfg.timezone
        return fields, None

    def _events(self, tf: TrackedFile, joined: list[Joined]) -> list[Event]:
        if type(self).fields is FileSource.fields:
            return self._events_fast(tf, joined)
        events: list[Event] = []
        host = self.host
        read_time = now_rfc3339()
        id_prefix = id_hasher(host, tf.origin, tf.ident)
        for text, start, end in joined:
            if not text or text.isspace():
                continue  # blank lines carry nothing; the next event's commit moves past them
            tf.last_end = end
            fields, ts = self.fields(tf, start)
            h = id_prefix.copy()
            h.update(b"%d\x1f" % start)
            data = encode_event(h.hexdigest(), text, self.format, host, fields, ts or read_time)
            events.append(Event(data, self, (tf.key, tf.epoch, end)))
        return events

    def _events_fast(self, tf: TrackedFile, joined: list[Joined]) -> list[Event]:
        """The same NDJSON objects as :func:`encode_event` with the standard file fields, built
        from pieces that are constant for the whole read: only the id, the line and the offset
        change per event. Half the per-line CPU of building and serialising a dict each time.
        """
        dumps = orjson.dumps
        head = b'{"id":"'
        mid = b'","raw":'
        after_raw = b"".join((
            b',"format":', dumps(self.format), b',"host":', dumps(self.host),
            b',"timestamp":', dumps(now_rfc3339()), b',"fields":{"log.file.path":', dumps(tf.path),
            b',"log.offset":',
        ))
        tz = b',"event.timezone":' + dumps(self.cfg.timezone) if self.cfg.timezone else b""
        tail = b',"source_name":' + dumps(self.name) + tz + b"}}"
        id_prefix = id_hasher(self.host, tf.origin, tf.ident)
        key, epoch = tf.key, tf.epoch
        events: list[Event] = []
        append = events.append
        for text, start, end in joined:
            if not text or text.isspace():
                continue  # blank lines carry nothing; the next event's commit moves past them
            tf.last_end = end
            h = id_prefix.copy()
            h.update(b"%d\x1f" % start)
            data = b"".join((head, h.hexdigest().encode(), mid, dumps(text), after_raw, b"%d" % start, tail))
            append(Event(data, self, (key, epoch, end)))
        return events

    async def _maybe_close(self, tf: TrackedFile, now: float) -> None:
        """Close a renamed/deleted file once drained and quiet for rotate_wait_s."""
        assert tf.gone_at is not None
        if now - max(tf.last_data_at, tf.gone_at) < self.cfg.rotate_wait_s:
            return
        out: list[Joined] = []
        if tf.joiner is not None:
            tf.joiner.flush(out)
        if tf.buf:
            # A last line without newline in a file nobody writes to any more.
            end = tf.pos
            self.line(tf, tf.buf.decode("utf-8", "replace"), end - len(tf.buf), end, now, None, out)
            tf.buf = b""
        events = self._events(tf, out)
        if events:
            await self._put(events)
        with contextlib.suppress(OSError):
            os.close(tf.fd)
        tf.closed = True
        log.info("finished rotated file", extra={"source": self.name, "path": tf.path, "offset": tf.pos})
        self._forget_if_committed(tf)

    def _forget_if_committed(self, tf: TrackedFile) -> None:
        rec = self._state.get(tf.key)
        if tf.closed and (rec is None or rec["offset"] >= tf.last_end):
            self._files.pop(tf.key, None)
            if rec is not None:
                del self._state[tf.key]
                self._store.mark()

    # ---------------------------------------------------------------- checkpoints and status

    def commit(self, token: Any) -> None:
        key, epoch, end = token
        tf = self._files.get(key)
        rec = self._state.get(key)
        if tf is None or rec is None or tf.epoch != epoch:
            return  # the file was reset or forgotten since; this position no longer applies
        if end > rec["offset"]:
            rec["offset"] = end
            rec["path"] = tf.path
            self._store.mark()
        if tf.closed:
            self._forget_if_committed(tf)

    def status(self) -> dict[str, Any]:
        files = []
        for tf in self._files.values():
            rec = self._state.get(tf.key, {})
            committed = rec.get("offset", 0)
            if not tf.closed and not self._fds_closed:
                # Fresh size: while the tail is held back (full spool) the last read is stale.
                with contextlib.suppress(OSError):
                    tf.size_seen = max(tf.size_seen, os.fstat(tf.fd).st_size)
            files.append({"path": tf.path, "offset": committed, "read": tf.pos, "size": tf.size_seen,
                          "lag_bytes": max(0, tf.size_seen - committed), "rotated": tf.gone_at is not None})
        return {"type": "file", "format": self.format, "files": files,
                "lag_bytes": sum(f["lag_bytes"] for f in files),
                "errors": dict(self._errors), "last_error": self.last_error,
                "inotify": bool(self._watcher and self._watcher.active)}
