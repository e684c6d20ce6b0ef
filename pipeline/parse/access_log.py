"""nginx / Apache access logs, combined and common format.

``192.168.1.1 - - [19/Jan/2026:10:30:00 +0000] "GET /api/users HTTP/1.1" 200 1234 "-" "Mozilla/5.0"``

The pattern uses only negated character classes and possessive quantifiers (Python 3.11), so
its cost is linear in the line length whatever the input — no catastrophic backtracking.
"""

from __future__ import annotations

import re
from typing import Any

from logharbor import ecs
from pipeline.timeparse import parse_clf

_QUOTED = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
ACCESS_RE = re.compile(
    r"(?P<ip>[^ ]++) (?P<ident>[^ ]++) (?P<user>[^\[]*?) \[(?P<ts>[^\]]++)\] "
    rf'"(?P<request>{_QUOTED})" (?P<status>\d{{3}}|-) (?P<bytes>\d++|-)'
    rf'(?: "(?P<referrer>{_QUOTED})" "(?P<agent>{_QUOTED})")?+(?P<rest>.*)'
)


def parse(line: str) -> dict[str, Any] | None:
    """Fields of an access-log line, or None."""
    m = ACCESS_RE.match(line)
    if m is None:
        return None
    ip, _, user, ts_text, request, status, size, referrer, agent, rest = m.groups()  # one C call
    ts = parse_clf(ts_text)
    if ts is None:
        return None
    out: dict[str, Any] = {ecs.CLIENT_IP: ip, ecs.TIMESTAMP: ts}
    if user and user != "-":
        out["user.name"] = user
    parts = request.split(" ")
    if len(parts) == 3:
        method, target, protocol = parts
        out["http.request.method"] = method
        out["url.original"] = target
        path, _, query = target.partition("?")
        out["url.path"] = path
        if query:
            out["url.query"] = query
        if protocol.startswith("HTTP/"):
            out["http.version"] = protocol[5:]
        else:
            out["network.protocol"] = protocol
    elif request and request != "-":
        out["url.original"] = request
    if status != "-":
        code = int(status)
        out[ecs.STATUS_CODE] = code
        out[ecs.LEVEL] = "ERROR" if code >= 500 else "WARN" if code >= 400 else "INFO"
    if size != "-":
        out["http.response.body.bytes"] = int(size)
    if referrer and referrer != "-":
        out["http.request.referrer"] = referrer
    if agent and agent != "-":
        out["user_agent.original"] = agent
    rest = rest.strip()
    if rest:
        _trailing(rest, out)
    out[ecs.MESSAGE] = line
    return out


def _trailing(rest: str, out: dict[str, Any]) -> None:
    # nginx setups often append request time ("0.123") or key=value pairs after the agent.
    for token in rest.split():
        key, sep, value = token.partition("=")
        if sep:
            out[key] = value.strip('"')
        else:
            try:
                out["event.duration_ms"] = round(float(token) * 1000.0, 3)
            except ValueError:
                continue
