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


# Levels at or above this count as errors (event.is_error, the ui's error rate, alert presets).
ERROR_LEVELS: frozenset[str] = frozenset({"ERROR", "FATAL"})

# Numeric schemes. Which one a number belongs to is told by the key it came in (see
# ``numeric_scheme``): syslog 3 is ERROR but OpenTelemetry 3 is TRACE, bunyan 30 is INFO but
# Python's logging 30 is WARNING.
SYSLOG = "syslog"  # RFC 5424 severities 0..7
BUNYAN = "bunyan"  # bunyan / pino: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
OTEL = "otel"  # OpenTelemetry SeverityNumber 1..24 (4 per level: TRACE DEBUG INFO WARN ERROR FATAL)
PYTHON = "python"  # logging levelno: 10 DEBUG, 20 INFO, 30 WARNING, 40 ERROR, 50 CRITICAL

_OTEL_BANDS: tuple[str, ...] = ("DEBUG", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
_PYTHON: dict[int, str] = {10: "DEBUG", 20: "INFO", 30: "WARN", 40: "ERROR", 50: "FATAL"}
_BUNYAN: dict[int, str] = {10: "DEBUG", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL"}
_SCHEME_BY_KEY: dict[str, str] = {
    "severity_number": OTEL, "severitynumber": OTEL, "severity_num": OTEL,
    "levelno": PYTHON, "level_no": PYTHON,
}


def numeric_scheme(key: str) -> str | None:
    """The numeric scheme a key implies (``severity_number`` → otel), None for the generic ones."""
    return _SCHEME_BY_KEY.get(key.lower())


def _numeric(value: int, scheme: str | None) -> str | None:
    if scheme == OTEL:
        return _OTEL_BANDS[(value - 1) // 4] if 1 <= value <= 24 else None
    if scheme == PYTHON:
        return _PYTHON.get(value)
    if 0 <= value <= 7 and scheme in (None, SYSLOG):
        return SYSLOG_SEVERITY_LEVEL[value]
    if scheme in (None, BUNYAN):
        return _BUNYAN.get(value)
    return None


def normalize_level(value: object, scheme: str | None = None) -> str | None:
    """The canonical level for ``value``, or None if unknown.

    Strings are case-insensitive with aliases (``warning``, ``err``, ``critical``); numbers
    are read in ``scheme`` — by default syslog for 0..7 and bunyan/pino for 10..60, the two
    conventions of a generic ``level`` key.
    """
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return _numeric(value, scheme)
    if isinstance(value, float) and value.is_integer():
        return _numeric(int(value), scheme)
    text = str(value).strip().lower()
    found = _ALIASES.get(text)
    if found is None and text.isdigit() and len(text) <= 3:
        return _numeric(int(text), scheme)
    return found
