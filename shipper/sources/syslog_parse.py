"""Just enough syslog parsing for routing fields; the pipeline parses the message itself.

RFC 5424: ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG``.
RFC 3164: ``<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`` (loosely: many senders differ).
Plain string operations only: a hostile or broken header yields fewer fields, never an error.
"""

from __future__ import annotations

from typing import Any


def parse_syslog(msg: str) -> dict[str, Any]:
    """ECS-style ``log.syslog.*`` fields from one syslog message (missing parts are omitted)."""
    out: dict[str, Any] = {}
    if not msg.startswith("<"):
        return out
    end = msg.find(">", 1, 5)
    if end < 0 or not msg[1:end].isdigit():
        return out
    pri = int(msg[1:end])
    out["log.syslog.priority"] = pri
    out["log.syslog.facility.code"] = pri >> 3
    out["log.syslog.severity.code"] = pri & 7
    rest = msg[end + 1:]
    if rest.startswith("1 "):
        out["log.syslog.version"] = 1
        parts = rest[2:].split(" ", 5)
        names = ("log.syslog.timestamp", "log.syslog.hostname", "log.syslog.appname", "log.syslog.procid",
                 "log.syslog.msgid")
        for name, value in zip(names, parts, strict=False):
            if value != "-":
                out[name] = value
        return out
    # RFC 3164: "Mmm dd hh:mm:ss host tag[pid]: msg"
    if len(rest) >= 16 and rest[3] == " " and rest[6] == " " and rest[9] == ":":
        out["log.syslog.timestamp"] = rest[:15]
        fields = rest[16:].split(" ", 2)
        if len(fields) >= 2:
            out["log.syslog.hostname"] = fields[0]
            tag = fields[1]
            if tag.endswith(":"):
                tag = tag[:-1]
            if "[" in tag and tag.endswith("]"):
                tag, _, pid = tag[:-1].partition("[")
                out["log.syslog.procid"] = pid
            if tag:
                out["log.syslog.appname"] = tag
    return out
