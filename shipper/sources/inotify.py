"""Linux inotify through ctypes: wakes file tails within milliseconds of a write.

Why ctypes and not a package: the shipper runs on every host and should not need a compiler
or a wheel for this. Only directories are watched (one watch covers every file in it); events
are not interpreted beyond "something in this directory changed" and "a name appeared or
disappeared", because the tail re-checks files itself. Where inotify is unavailable
(non-Linux, exhausted watches) callers fall back to polling.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import errno
import logging
import os
import struct
from collections.abc import Callable

log = logging.getLogger("logharbor.shipper.inotify")

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

DIR_MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
            | IN_DELETE_SELF | IN_MOVE_SELF)
NAME_CHANGES = IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB
_HEADER = struct.Struct("iIII")


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name or "libc.so.6", use_errno=True)
        lib.inotify_init1  # noqa: B018 - probe: raises AttributeError off Linux
        return lib
    except (OSError, AttributeError):
        return None


class DirWatcher:
    """Watches directories; calls ``on_change(names_changed)`` from the event loop."""

    def __init__(self, on_change: Callable[[bool], None]) -> None:
        self._on_change = on_change
        self._lib = _libc()
        self._fd = -1
        self._wds: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        if self._lib is None:
            return
        fd = self._lib.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            log.warning("inotify unavailable, polling", extra={"errno": ctypes.get_errno()})
            return
        self._fd = fd

    @property
    def active(self) -> bool:
        return self._fd >= 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._fd >= 0:
            self._loop = loop
            loop.add_reader(self._fd, self._read)

    def watch(self, directory: str) -> bool:
        """Start watching ``directory`` (idempotent). False when inotify cannot watch it."""
        if self._fd < 0 or self._lib is None:
            return False
        if directory in self._wds:
            return True
        wd = self._lib.inotify_add_watch(self._fd, os.fsencode(directory), DIR_MASK)
        if wd < 0:
            err = ctypes.get_errno()
            if err not in (errno.ENOENT, errno.ENOTDIR, errno.EACCES):
                log.warning("inotify watch failed, polling covers it",
                            extra={"dir": directory, "errno": errno.errorcode.get(err, err)})
            return False
        self._wds[directory] = wd
        return True

    def _read(self) -> None:
        names_changed = False
        try:
            while True:
                buf = os.read(self._fd, 65536)
                if not buf:
                    break
                pos = 0
                while pos + _HEADER.size <= len(buf):
                    wd, mask, _cookie, length = _HEADER.unpack_from(buf, pos)
                    pos += _HEADER.size + length
                    if mask & (NAME_CHANGES | IN_Q_OVERFLOW):
                        names_changed = True
                    if mask & IN_IGNORED:
                        # The directory went away; forget it so it can be watched again if recreated.
                        for d, w in list(self._wds.items()):
                            if w == wd:
                                del self._wds[d]
        except BlockingIOError:
            pass
        except OSError as exc:
            log.warning("inotify read failed", extra={"error": str(exc)})
        self._on_change(names_changed)

    def close(self) -> None:
        if self._fd >= 0:
            if self._loop is not None:
                self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
