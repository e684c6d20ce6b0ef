"""Syslog lines: RFC 5424 and RFC 3164 (BSD).

``<34>Jan 19 10:30:00 web-server app[1234]: User login failed`` and
``<165>1 2026-01-19T10:30:00.003Z host app 1234 ID47 [exampleSDID@32473 iut="3"] message``.
PRI gives facility (PRI // 8) and severity (PRI % 8); the severity is the log level.
"""

from __future__ import annotations

import re
from typing import Any

from logharbor import ecs
from logharbor.levels import SYSLOG_SEVERITY_LEVEL

FACILITIES: tuple[str, ...] = (
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
)
SEVERITIES: tuple[str, ...] = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

RFC5424_RE = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>[^ ]++) (?P<host>[^ ]++) (?P<app>[^ ]++) (?P<pid>[^ ]++) "
    r"(?P<msgid>[^ ]++) (?P<rest>.*)",
    re.DOTALL,
)
RFC3164_RE = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?+(?P<ts>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}) "
    r"(?P<host>[^ :\[]++) (?P<tag>[^ :\[]{1,64})(?:\[(?P<pid>[^\]]{0,32})\])?+: ?(?P<msg>.*)",
    re.DOTALL,
)
# One SD element: [id k="v" ...]; values may contain \" \\ \] escapes (RFC 5424 §6.3.3).
SD_ELEMENT_RE = re.compile(r'\[(?P<id>[^ \]=]++)(?P<params>(?: [^ =\]]++="(?:[^"\\]|\\.)*+")*+)\]')
SD_PARAM_RE = re.compile(r'([^ =\]]++)="((?:[^"\\]|\\.)*+)"')


def _pri(out: dict[str, Any], pri: str | None) -> None:
    if pri is None:
        return
    value = int(pri)
    if value > 191:
        return
    facility, severity = divmod(value, 8)
    out["log.syslog.priority"] = value
    out["log.syslog.facility.code"] = facility
    out["log.syslog.facility.name"] = FACILITIES[facility]
    out["log.syslog.severity.code"] = severity
    out["log.syslog.severity.name"] = SEVERITIES[severity]
    out[ecs.LEVEL] = SYSLOG_SEVERITY_LEVEL[severity]


def parse(line: str) -> dict[str, Any] | None:
    """Fields of a syslog line (either RFC), or None."""
    if line.startswith("<") and ">1 " in line[:8]:
        return parse_5424(line)
    return parse_3164(line)


def parse_5424(line: str) -> dict[str, Any] | None:
    m = RFC5424_RE.match(line)
    if m is None:
        return None
    out: dict[str, Any] = {}
    _pri(out, m["pri"])
    if m["ts"] != "-":
        out[ecs.TIMESTAMP] = m["ts"]
    for group, names in (
        ("host", (ecs.HOST, "log.syslog.hostname")),
        ("app", ("process.name", "log.syslog.appname")),
        ("msgid", ("log.syslog.msgid",)),
    ):
        value = m[group]
        if value != "-":
            for name in names:
                out[name] = value
    pid = m["pid"]
    if pid != "-":
        out["log.syslog.procid"] = pid
        if pid.isdigit():
            out["process.pid"] = int(pid)
    rest = m["rest"]
    if rest.startswith("-"):
        msg = rest[2:] if rest.startswith("- ") else rest[1:]
    else:
        sd: dict[str, dict[str, str]] = {}
        pos = 0
        while pos < len(rest) and rest[pos] == "[":
            el = SD_ELEMENT_RE.match(rest, pos)
            if el is None:
                return None
            sd[el["id"]] = {
                k: v.replace('\\"', '"').replace("\\]", "]").replace("\\\\", "\\")
                for k, v in SD_PARAM_RE.findall(el["params"])
            }
            pos = el.end()
        if not sd:
            return None
        out["log.syslog.structured_data"] = sd
        msg = rest[pos + 1 :] if rest[pos : pos + 1] == " " else rest[pos:]
    if msg.startswith("\ufeff"):  # BOM marks a UTF-8 MSG
        msg = msg[1:]
    out[ecs.MESSAGE] = msg
    return out


def parse_3164(line: str) -> dict[str, Any] | None:
    m = RFC3164_RE.match(line)
    if m is None:
        return None
    out: dict[str, Any] = {}
    _pri(out, m["pri"])
    # BSD time has no year and no zone: the parse step resolves it in the source's zone.
    out[ecs.TIMESTAMP] = m["ts"]
    out[ecs.HOST] = m["host"]
    out["log.syslog.hostname"] = m["host"]
    out["process.name"] = m["tag"]
    out["log.syslog.appname"] = m["tag"]
    pid = m["pid"]
    if pid:
        out["log.syslog.procid"] = pid
        if pid.isdigit():
            out["process.pid"] = int(pid)
    out[ecs.MESSAGE] = m["msg"]
    return out
