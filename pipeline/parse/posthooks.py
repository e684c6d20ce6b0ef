"""Named post-processing hooks a family may list (``hooks: [...]``) for what a regex cannot say.

A hook gets the fields built so far and the regex groups, and edits the fields in place:
PRI arithmetic for syslog, PostgreSQL's DETAIL/HINT/STATEMENT continuation lines, the MySQL
slow-log header block. Each is a handful of string operations per event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from logharbor import ecs
from logharbor.levels import SYSLOG_SEVERITY_LEVEL

FACILITIES: tuple[str, ...] = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
)


def syslog_pri(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """``<34>`` → facility/severity fields and the level (severity wins over a default level)."""
    pri = groups.get("pri")
    if not pri:
        return
    value = int(pri)
    if value > 191:
        return
    facility, severity = divmod(value, 8)
    out["log.syslog.priority"] = value
    out["log.syslog.facility.code"] = facility
    out["log.syslog.facility.name"] = FACILITIES[facility]
    out["log.syslog.severity.code"] = severity
    out[ecs.LEVEL] = SYSLOG_SEVERITY_LEVEL[severity]


_PG_PARTS = ("DETAIL", "HINT", "STATEMENT", "CONTEXT", "QUERY", "LOCATION")


def postgres(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """Joined DETAIL/HINT/STATEMENT/CONTEXT lines → postgresql.log.*; durations → event.duration."""
    message = out.get(ecs.MESSAGE)
    if not isinstance(message, str):
        return
    if "\n" in message:
        lines = message.split("\n")
        main = [lines[0]]
        current: list[str] = main
        for line in lines[1:]:
            part = None
            for name in _PG_PARTS:
                idx = line.find(f" {name}:  ", 0, 300)
                if idx >= 0 or line.startswith(f"{name}:  "):
                    part = name
                    start = (idx + len(name) + 4) if idx >= 0 else len(name) + 3
                    current = [line[start:]]
                    out.setdefault(f"postgresql.log.{name.lower()}", current)
                    break
            if part is None:
                current.append(line)
        for name in _PG_PARTS:
            key = f"postgresql.log.{name.lower()}"
            if key in out and isinstance(out[key], list):
                out[key] = "\n".join(out[key]).strip()
        message = "\n".join(main).rstrip()
        out[ecs.MESSAGE] = message
    if message.startswith("duration: "):
        number, _, rest = message[10:].partition(" ms")
        try:
            out[ecs.DURATION] = round(float(number) * 1_000_000)
        except ValueError:
            return
        _, sep, query = rest.partition(": ")
        if sep:
            out["postgresql.log.query"] = query.strip()


def mysql_slow(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """The ``# User@Host`` / ``# Query_time`` block → fields; the statement becomes the message."""
    text = groups.get("block") or ""
    query: list[str] = []
    for line in text.split("\n"):
        if line.startswith("# User@Host: "):
            user, _, rest = line[13:].partition("[")
            out["user.name"] = user.strip()
            host = rest.partition("@ ")[2]
            name, _, ip = host.partition("[")
            if name.strip():
                out["source.domain"] = name.strip()
            ip = ip.partition("]")[0].strip()
            if ip:
                out["source.ip"] = ip
            if "Id:" in line:
                out["mysql.thread_id"] = line.rsplit("Id:", 1)[1].strip()
        elif line.startswith("# ") and ": " in line and not line.startswith("# Time: "):
            tokens = line[2:].split()
            for key, value in zip(tokens[::2], tokens[1::2], strict=False):
                key = key.rstrip(":")
                if key == "Query_time":
                    try:
                        out[ecs.DURATION] = round(float(value) * 1e9)
                    except ValueError:
                        pass
                out[f"mysql.slowlog.{key.lower()}"] = value
        elif line.startswith("SET timestamp="):
            if ecs.TIMESTAMP not in out:
                try:
                    out[ecs.TIMESTAMP] = datetime.fromtimestamp(int(line[14:].rstrip(";")), UTC)
                except ValueError:
                    pass
        elif line.startswith("use "):
            out["mysql.slowlog.schema"] = line[4:].rstrip(";")
        elif line and not line.startswith("#"):
            query.append(line)
    if query:
        out[ecs.MESSAGE] = "\n".join(query).strip()
        out["mysql.slowlog.query"] = out[ecs.MESSAGE]


def ras_year(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """RAS dumps carry yyyy.MM.dd before a year-less syslog time: take the year from there."""
    date, ts = groups.get("date"), out.get(ecs.TIMESTAMP)
    if date and isinstance(ts, datetime):
        try:
            out[ecs.TIMESTAMP] = ts.replace(year=int(date[:4]))
        except ValueError:
            pass


def rfc5424(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """STRUCTURED-DATA and MSG of an RFC 5424 line (group ``sd``)."""
    rest = groups.get("sd")
    if rest is None:
        return
    from pipeline.parse.syslog import SD_ELEMENT_RE, SD_PARAM_RE

    pid = groups.get("pid")
    if pid and pid != "-":
        out["log.syslog.procid"] = pid
        if not pid.isdigit():
            out.pop("process.pid", None)
    if rest.startswith("-"):
        msg = rest[2:] if rest.startswith("- ") else rest[1:]
    else:
        sd: dict[str, dict[str, str]] = {}
        pos = 0
        while pos < len(rest) and rest[pos] == "[":
            el = SD_ELEMENT_RE.match(rest, pos)
            if el is None:
                break
            sd[el["id"]] = {
                k: v.replace('\\"', '"').replace("\\]", "]").replace("\\\\", "\\")
                for k, v in SD_PARAM_RE.findall(el["params"])
            }
            pos = el.end()
        if sd:
            out["log.syslog.structured_data"] = sd
        msg = rest[pos + 1 :] if rest[pos : pos + 1] == " " else rest[pos:]
    if msg.startswith("\ufeff"):
        msg = msg[1:]
    out[ecs.MESSAGE] = msg


def client_address(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """``[client 1.2.3.4:5678]`` → client.ip and client.port."""
    client = groups.get("client")
    if not client:
        return
    host, sep, port = client.rpartition(":")
    if sep and port.isdigit() and (host.count(":") == 0 or host.startswith("[")):
        out[ecs.CLIENT_IP] = host.strip("[]")
        out["client.port"] = int(port)
    else:
        out[ecs.CLIENT_IP] = client


def postgres_prefix(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """The operator's log_line_prefix between time and severity: the first ``[pid]``/``[pid-line]``,
    ``user@db``, and pgBadger-style ``user=,db=,app=,client=`` pairs."""
    prefix = groups.get("prefix") or ""
    for token in prefix.replace(",", " ").replace(":", " ").split():
        key, eq, value = token.partition("=")
        if eq:
            target = _PG_PAIRS.get(key)
            if target and value and value != "[unknown]":
                out[target] = value
            continue
        if token.startswith("[") and "process.pid" not in out:
            inner = token[1:].partition("]")[0].partition("-")[0]
            if inner.isdigit():
                out["process.pid"] = int(inner)
        elif "@" in token and not token.startswith("["):
            user, _, db = token.partition("@")
            if user and user != "[unknown]":
                out["user.name"] = user
            if db and db != "[unknown]":
                out["postgresql.log.database"] = db


_PG_PAIRS = {"user": "user.name", "db": "postgresql.log.database", "app": "postgresql.log.application_name",
             "client": "client.address"}


_REDIS_ROLES = {"M": "master", "S": "replica", "C": "child", "X": "sentinel", "signal-handler": "signal-handler"}


def redis(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """Role letter → name; a signal-handler line carries epoch seconds instead of a date."""
    role = groups.get("role")
    if role:
        out["redis.log.role"] = _REDIS_ROLES.get(role, role)
    epoch = groups.get("epoch")
    if epoch and ecs.TIMESTAMP not in out:
        try:
            out[ecs.TIMESTAMP] = datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError):
            pass


def trailing_logger(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """Kafka's ``%m (%c)``: a last `` (dotted.Logger)`` of the message is the logger."""
    message = out.get(ecs.MESSAGE)
    if isinstance(message, str) and message.endswith(")"):
        head, sep, logger = message.rpartition(" (")
        if sep and " " not in logger and "\n" not in logger and len(logger) > 1:
            out["log.logger"] = logger[:-1]
            out[ecs.MESSAGE] = head


def append_rest(out: dict[str, Any], groups: dict[str, Any]) -> None:
    """Layouts that end the first line with fields after the message (``| logger | thread``):
    the joined continuation (group ``rest``, e.g. a stack trace) still belongs to the message."""
    rest = groups.get("rest")
    if rest and isinstance(out.get(ecs.MESSAGE), str):
        out[ecs.MESSAGE] += rest


HOOKS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "syslog_pri": syslog_pri,
    "postgres": postgres,
    "mysql_slow": mysql_slow,
    "ras_year": ras_year,
    "rfc5424": rfc5424,
    "client_address": client_address,
    "postgres_prefix": postgres_prefix,
    "redis": redis,
    "trailing_logger": trailing_logger,
    "append_rest": append_rest,
}
