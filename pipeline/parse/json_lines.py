"""JSON lines: normalise the many spellings of message, level and time to ECS names."""

from __future__ import annotations

from typing import Any

import orjson

from logharbor import ecs
from pipeline.event import flatten_into, set_level

MESSAGE_KEYS: tuple[str, ...] = ("message", "msg", "log", "text", "event")
LEVEL_KEYS: tuple[str, ...] = ("level", "severity", "lvl", "loglevel", "log_level", "levelname", "log.level")
PINO_LEVELS: dict[int, str] = {10: "DEBUG", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL"}
# A tuple, not ``str | int | float``: a union written in the call is built anew each time (~5×).
_SCALAR = (str, int, float)
TIME_KEYS: tuple[str, ...] = ("@timestamp", "timestamp", "ts", "time", "datetime", "date", "t")
# Common non-ECS names for ECS fields, moved so queries find them under one name.
RENAMES: dict[str, str] = {
    "logger": "log.logger",
    "logger_name": "log.logger",
    "hostname": ecs.HOST,
    "host": ecs.HOST,
    "service": ecs.SERVICE,
    "stack_trace": ecs.STACK_TRACE,
    "stacktrace": ecs.STACK_TRACE,
}
_RENAMED = frozenset(RENAMES)


def parse(line: str) -> dict[str, Any] | None:
    """Fields of a JSON object line, or None if the line is not a JSON object."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    return normalise(obj)


def normalise(obj: dict[str, Any]) -> dict[str, Any]:
    """Map a decoded JSON log object to flat ECS-named fields (also used for logfmt)."""
    out: dict[str, Any] = {}
    for key in MESSAGE_KEYS:
        if key in obj and isinstance(obj[key], _SCALAR):
            out[ecs.MESSAGE] = str(obj.pop(key))
            break
    for key in LEVEL_KEYS:
        if key in obj:
            value = obj.pop(key)
            # pino / bunyan number their levels 10..60 (trace..fatal)
            set_level(out, PINO_LEVELS.get(value, value) if isinstance(value, int) else value)
            break
    for key in TIME_KEYS:
        if key in obj and isinstance(obj[key], _SCALAR):
            out[ecs.TIMESTAMP] = obj.pop(key)
            break
    if not _RENAMED.isdisjoint(obj):
        for key, target in RENAMES.items():
            if key in obj and isinstance(obj[key], str):
                out[target] = obj.pop(key)
    flatten_into(out, obj, overwrite=False)
    return out
