"""Log levels: the five canonical levels and the aliases normalised to them.

Shared by gateway validation and pipeline parsing so "warning" means WARN everywhere.
"""

from __future__ import annotations

LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
LEVEL_RANK: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}

_ALIASES: dict[str, str] = {
    "debug": "DEBUG", "trace": "DEBUG", "dbg": "DEBUG", "verbose": "DEBUG", "fine": "DEBUG",
    "finer": "DEBUG", "finest": "DEBUG",
    "info": "INFO", "information": "INFO", "informational": "INFO", "notice": "INFO", "inf": "INFO",
    "warn": "WARN", "warning": "WARN", "wrn": "WARN",
    "error": "ERROR", "err": "ERROR", "eror": "ERROR", "severe": "ERROR",
    "fatal": "FATAL", "crit": "FATAL", "critical": "FATAL", "alert": "FATAL", "emerg": "FATAL",
    "emergency": "FATAL", "panic": "FATAL",
}

# syslog severities 0..7 (RFC 5424 §6.2.1) mapped to LogHarbor levels
SYSLOG_SEVERITY_LEVEL: tuple[str, ...] = ("FATAL", "FATAL", "FATAL", "ERROR", "WARN", "INFO", "INFO", "DEBUG")


def normalize_level(value: object) -> str | None:
    """The canonical level for ``value`` (case-insensitive, aliases allowed), or None if unknown."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 7:
        return SYSLOG_SEVERITY_LEVEL[value]
    return _ALIASES.get(str(value).strip().lower())
