"""Syslog at the gateway: RFC 5424 and RFC 3164 messages → events, and RFC 6587 TCP framing.

A gateway-side parser on purpose: the gateway may not import the shipper, and the shipper's
``shipper/sources/syslog_parse.py`` only extracts routing fields. Moving one shared parser into
``logharbor/`` is the event-model owner's call (noted in the report); until then this module is
the gateway's. Plain string operations, no backtracking regexes.

- RFC 5424 ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG``: structured data becomes
  ``log.syslog.structured_data.<SD-ID>.<PARAM>`` fields (escapes ``\\"``, ``\\\\``, ``\\]``
  undone), a leading BOM is removed from MSG;
- RFC 3164 ``<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG``: the time is read in the listener's
  time zone (3164 carries none) and the year is the current one, or the previous one when that
  would put the event more than a day in the future; an RFC 3339 time in that position (as
  rsyslog's forward format sends) is taken as is;
- level from the severity (0–2 FATAL, 3 ERROR, 4 WARN, 5–6 INFO, 7 DEBUG), ``host`` from the
  hostname, ECS ``log.syslog.*`` (priority, facility/severity code and name, appname, procid,
  msgid, version) and ``process.name``/``process.pid``; leading spaces of MSG are dropped (rsyslog
  forwards a 3164 MSG with the space that followed its tag).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from logharbor.levels import SYSLOG_SEVERITY_LEVEL

_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), start=1)}
FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
              "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4",
              "local5", "local6", "local7")
SEVERITIES = ("emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug")


class SyslogError(ValueError):
    """Not a syslog message we can make an event of."""


def parse(line: str, *, tz: ZoneInfo | None = None, now: datetime | None = None) -> dict[str, Any]:
    """One syslog message → an event for the door (``timestamp``, ``level``, ``message``, ``host``, ``fields``)."""
    now = now or datetime.now(UTC)
    line = line.rstrip("\r\n\x00")
    pri = 13  # RFC 3164 §4.3.3: no PRI means user.notice
    rest = line
    if line.startswith("<"):
        end = line.find(">", 1, 5)
        if end > 1 and line[1:end].isdigit() and int(line[1:end]) <= 191:
            pri = int(line[1:end])
            rest = line[end + 1:]
    syslog: dict[str, Any] = {
        "priority": pri,
        "facility": {"code": pri >> 3, "name": FACILITIES[pri >> 3]},
        "severity": {"code": pri & 7, "name": SEVERITIES[pri & 7]},
    }
    fields: dict[str, Any] = {"log": {"syslog": syslog}}
    event: dict[str, Any] = {"level": SYSLOG_SEVERITY_LEVEL[pri & 7], "fields": fields}
    if rest.startswith("1 "):
        _rfc5424(rest[2:], event, syslog, fields, now)
    else:
        _rfc3164(rest, event, syslog, fields, tz or ZoneInfo("UTC"), now)
    if not event.get("message", "").strip():
        raise SyslogError("message: empty syslog message")
    return event


def _rfc5424(rest: str, event: dict[str, Any], syslog: dict[str, Any], fields: dict[str, Any], now: datetime) -> None:
    syslog["version"] = 1
    parts = rest.split(" ", 5)
    if len(parts) < 5:
        raise SyslogError("RFC 5424 header: expected TIMESTAMP HOSTNAME APP-NAME PROCID MSGID")
    ts, host, app, procid, msgid = parts[:5]
    tail = parts[5] if len(parts) > 5 else ""
    event["timestamp"] = now.isoformat() if ts == "-" else ts
    if host != "-":
        event["host"] = host
        syslog["hostname"] = host
    if app != "-":
        syslog["appname"] = app
        fields["process"] = {"name": app}
    if procid != "-":
        syslog["procid"] = procid
        if procid.isdigit():
            fields.setdefault("process", {})["pid"] = int(procid)
    if msgid != "-":
        syslog["msgid"] = msgid
    if tail.startswith("-"):
        msg = tail[2:] if tail.startswith("- ") else tail[1:]
    elif tail.startswith("["):
        sd, msg = _structured_data(tail)
        if sd:
            syslog["structured_data"] = sd
    else:
        msg = tail
    if msg.startswith("\ufeff"):
        msg = msg[1:]
    event["message"] = msg.lstrip(" ")  # rsyslog forwards a 3164 MSG with its leading space


def _structured_data(text: str) -> tuple[dict[str, dict[str, str]], str]:
    """``[id k="v" ...][id2 ...] MSG`` → ({id: {k: v}}, MSG); a broken element ends the SD."""
    out: dict[str, dict[str, str]] = {}
    i, n = 0, len(text)
    while i < n and text[i] == "[":
        j = i + 1
        while j < n and text[j] not in " ]":
            j += 1
        sd_id = text[i + 1:j]
        params: dict[str, str] = {}
        while j < n and text[j] == " ":
            k = text.find("=", j + 1)
            if k < 0 or k + 1 >= n or text[k + 1] != '"':
                return out, text[j:].strip()
            name = text[j + 1:k]
            value, j = _quoted(text, k + 2)
            params[name] = value
        if j >= n or text[j] != "]":
            return out, text[i:]
        out[sd_id] = params
        i = j + 1
    return out, text[i + 1:] if text[i:i + 1] == " " else text[i:]


def _quoted(text: str, i: int) -> tuple[str, int]:
    buf = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in '"\\]':
            buf.append(text[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(buf), i + 1
        buf.append(c)
        i += 1
    return "".join(buf), i


def _rfc3164(rest: str, event: dict[str, Any], syslog: dict[str, Any], fields: dict[str, Any], tz: ZoneInfo,
             now: datetime) -> None:
    body = rest
    if len(rest) >= 16 and rest[:3] in _MONTHS and rest[3] == " " and rest[6] == " " and rest[9] == ":":
        day = int(rest[4:6].strip() or 0)
        hh, mm, ss = int(rest[7:9]), int(rest[10:12]), int(rest[13:15])
        local_now = now.astimezone(tz)
        ts = datetime(local_now.year, _MONTHS[rest[:3]], day, hh, mm, ss, tzinfo=tz)
        if ts - local_now > timedelta(days=1):
            ts = ts.replace(year=ts.year - 1)
        event["timestamp"] = ts.isoformat()
        body = rest[16:]
    elif len(rest) > 19 and rest[:4].isdigit() and rest[4] == "-" and rest[10] == "T":
        ts, _, body = rest.partition(" ")
        event["timestamp"] = ts
    else:
        event["timestamp"] = now.isoformat()
    host, sep, after = body.partition(" ")
    if sep and host and ":" not in host and "[" not in host:
        event["host"] = host
        syslog["hostname"] = host
        body = after
    tag, sep, msg = body.partition(": ")
    if sep and tag and " " not in tag and len(tag) <= 64:
        if tag.endswith("]") and "[" in tag:
            tag, _, pid = tag[:-1].partition("[")
            syslog["procid"] = pid
            if pid.isdigit():
                fields["process"] = {"pid": int(pid)}
        syslog["appname"] = tag
        fields.setdefault("process", {})["name"] = tag
        body = msg
    event["message"] = body


# -- RFC 6587 framing ------------------------------------------------------------------------------
class FrameError(ValueError):
    """The stream cannot be framed (a length over the limit, garbage where a length belongs)."""


class Framer:
    """TCP syslog framing, detected from the first byte of the connection: a digit means
    octet-counting (``LEN SP MSG``), anything else LF- or NUL-terminated frames.

    Oversize LF frames are cut off and skipped to the next delimiter (``oversize`` counts them);
    an oversize or malformed octet count cannot be resynchronised, so it raises FrameError.
    """

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self.mode: str | None = None
        self.buf = bytearray()
        self.skipping = False
        self.oversize = 0

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        if self.mode is None and self.buf:
            self.mode = "octet" if 0x30 <= self.buf[0] <= 0x39 else "delimited"
        return self._octets() if self.mode == "octet" else self._delimited()

    def _octets(self) -> list[bytes]:
        out = []
        while True:
            sp = self.buf.find(b" ", 0, 12)
            if sp < 0:
                if len(self.buf) >= 12:
                    raise FrameError("octet-counting: no length prefix in the first 12 bytes")
                return out
            digits = bytes(self.buf[:sp])
            if not digits.isdigit():
                raise FrameError(f"octet-counting: {digits[:12]!r} is not a length")
            length = int(digits)
            if length > self.max_frame:
                raise FrameError(f"frame: {length} bytes exceeds the limit of {self.max_frame} bytes")
            if len(self.buf) < sp + 1 + length:
                return out
            out.append(bytes(self.buf[sp + 1: sp + 1 + length]))
            del self.buf[: sp + 1 + length]

    def _delimited(self) -> list[bytes]:
        out = []
        while True:
            cut = -1
            for delim in (b"\n", b"\x00"):
                k = self.buf.find(delim)
                if k >= 0 and (cut < 0 or k < cut):
                    cut = k
            if cut < 0:
                if len(self.buf) > self.max_frame:
                    if not self.skipping:
                        self.oversize += 1
                    self.skipping = True
                    self.buf.clear()
                return out
            frame = bytes(self.buf[:cut])
            del self.buf[: cut + 1]
            if self.skipping:
                self.skipping = False
                continue
            if len(frame) > self.max_frame:
                self.oversize += 1
                continue
            if frame.strip():
                out.append(frame)

    def finish(self) -> list[bytes]:
        """The connection closed: a last LF frame without its delimiter still counts."""
        if self.mode == "delimited" and self.buf.strip() and not self.skipping and len(self.buf) <= self.max_frame:
            frame = bytes(self.buf)
            self.buf.clear()
            return [frame]
        return []
