"""systemd journal via ``journalctl -o json -f``, resuming from the last delivered cursor.

The journal already stores entries durably and addresses them by cursor, so the cursor is the
checkpoint (committed after the batch holding the entry is durable) and the event id is derived
from it: a re-read after a crash yields the same ids. If ``journalctl`` is missing the source
says so in the log and in ``--status`` and idles; if it exits it is restarted after a pause.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import Field

from logharbor.ids import stable_id
from shipper.checkpoint import CheckpointStore
from shipper.event import Event, encode_event
from shipper.metrics import Metrics
from shipper.model_base import SourceConfigBase
from shipper.sources.base import EventSink, SourceBase


class JournaldSourceConfig(SourceConfigBase):
    """systemd journal through ``journalctl -o json -f``, resuming from the saved cursor."""

    type: Literal["journald"]
    journalctl: str = "journalctl"
    units: list[str] = Field(default_factory=list)
    # Extra journalctl arguments, e.g. ["--directory", "/var/log/journal"] or ["--user"].
    args: list[str] = Field(default_factory=list)
    start_at: Literal["beginning", "end"] = "end"

log = logging.getLogger("logharbor.shipper.journald")

_FIELDS = {
    "_SYSTEMD_UNIT": "systemd.unit",
    "SYSLOG_IDENTIFIER": "process.name",
    "_PID": "process.pid",
    "PRIORITY": "log.syslog.severity.code",
    "_HOSTNAME": "log.syslog.hostname",
    "_TRANSPORT": "journald.transport",
}


def _text(value: Any) -> str:
    if isinstance(value, list):  # binary-safe MESSAGE arrives as a list of byte values
        return bytes(v for v in value if isinstance(v, int)).decode("utf-8", "replace")
    return str(value)


class JournaldSource(SourceBase):
    def __init__(self, cfg: JournaldSourceConfig, host: str, store: CheckpointStore, metrics: Metrics) -> None:
        super().__init__(cfg.name or "journald")
        self.cfg = cfg
        self.host = host
        self._store = store
        self._state = store.section(self.name)
        self._metrics = metrics
        self._read_cursor: str | None = self._state.get("cursor")
        self._stop_event = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self.received = 0

    def stop(self) -> None:
        super().stop()
        self._stop_event.set()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()

    def command(self) -> list[str]:
        cmd = [self.cfg.journalctl, "-o", "json", "-f", "--no-pager"]
        if self._read_cursor:
            cmd.append(f"--after-cursor={self._read_cursor}")
        else:
            cmd += ["-n", "all" if self.cfg.start_at == "beginning" else "0"]
        for unit in self.cfg.units:
            cmd += ["-u", unit]
        return cmd + list(self.cfg.args)

    async def run(self, sink: EventSink) -> None:
        if shutil.which(self.cfg.journalctl) is None:
            self.last_error = f"{self.cfg.journalctl} not found; journald source idle"
            log.error(self.last_error, extra={"source": self.name})
            await self._stop_event.wait()
            return
        while not self._stopping:
            self._proc = await asyncio.create_subprocess_exec(
                *self.command(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            assert self._proc.stdout is not None
            buf = b""
            try:
                while not self._stopping:
                    data = await self._proc.stdout.read(256 * 1024)
                    if not data:
                        break
                    lines = (buf + data).split(b"\n")
                    buf = lines.pop()  # an entry cut at the chunk boundary waits for the rest
                    events = [e for line in lines if line and (e := self._event(line)) is not None]
                    if events:
                        self.received += len(events)
                        self._metrics.inc("events_read_total", len(events))
                        await sink.put(events)
            finally:
                if self._proc.returncode is None:
                    self._proc.terminate()
                err = (await self._proc.stderr.read()).decode(errors="replace").strip() if self._proc.stderr else ""
                await self._proc.wait()
            if not self._stopping:
                self.last_error = f"journalctl exited with {self._proc.returncode}: {err[:300]}"
                log.warning("journalctl exited; restarting", extra={"source": self.name, "error": self.last_error})
                try:
                    await asyncio.wait_for(self._stop_event.wait(), 5)
                except TimeoutError:
                    pass

    def _event(self, line: bytes) -> Event | None:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        cursor = entry.get("__CURSOR")
        if not isinstance(cursor, str):
            return None
        self._read_cursor = cursor
        fields: dict[str, Any] = {"source_name": self.name, "journald.cursor": cursor}
        for key, name in _FIELDS.items():
            if key in entry:
                fields[name] = _text(entry[key])
        ts = None
        if (us := entry.get("__REALTIME_TIMESTAMP")) is not None:
            try:
                ts = datetime.fromtimestamp(int(us) / 1e6, UTC).isoformat(timespec="microseconds").replace(
                    "+00:00", "Z")
            except (TypeError, ValueError):
                ts = None
        data = encode_event(stable_id(self.host, "journald", cursor), _text(entry.get("MESSAGE", "")),
                            self.cfg.format, self.host, fields, ts)
        return Event(data, self, cursor)

    def commit(self, token: Any) -> None:
        self._state["cursor"] = token
        self._store.mark()

    def status(self) -> dict[str, Any]:
        return {"type": "journald", "cursor": self._state.get("cursor"), "received": self.received,
                "last_error": self.last_error}
