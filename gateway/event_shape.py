"""Flat protocol records → the event shape ``POST /ingest`` accepts today.

``/ingest`` takes ``timestamp``, ``level``, ``message``, ``host`` and ``fields`` (anything else
under ``fields``); Elasticsearch documents and GELF messages are flat objects with any keys.
This maps the common spellings of the reserved concepts and puts everything else under
``fields``, which the pipeline flattens into the stored document (``fields.http.method`` is
stored as ``http.method``). When the flat-event contract (issue 11) lands on main, the
gateway's own validation recognises these spellings and this shrinks to a pass-through.

The mapping (documented in docs/INTEGRATIONS.md, "Field mapping"):

- time: ``@timestamp``, ``timestamp``, ``time``, ``ts`` — missing means the arrival time;
- message: ``message``, ``msg``, ``@message``, ``short_message``, ``log`` (a string);
- level: ``log.level`` (dotted or nested), ``level``, ``severity``, ``loglevel``, ``levelname``;
- host: ``host.name`` (nested ECS host object; its other members stay under ``host``),
  ``host`` (a string), ``hostname``;
- ``id`` is never taken from the document (ids come from the protocol: ``_id``, content hash);
- names the API key owns (``service.name``, ``event.id``, ``tenant``, ``labels.tenant``,
  ``labels.key_id``: logharbor/event_shape.py ``KEY_PATHS``) would get the event rejected by
  validation, yet ECS loggers send ``service.name`` routinely — they are kept, renamed to
  ``labels.sent_<name with _>`` (``labels.sent_service_name``), and the key's values apply.
"""

from __future__ import annotations

from typing import Any

from logharbor.event_shape import KEY_PATHS

TIME_KEYS = ("@timestamp", "timestamp", "time", "ts")
MESSAGE_KEYS = ("message", "msg", "@message", "short_message", "log")
LEVEL_KEYS = ("level", "severity", "loglevel", "levelname")


def flat_to_event(doc: dict[str, Any], *, default_time: str) -> dict[str, Any]:
    """One flat record → ``{"timestamp", "message", "level"?, "host"?, "fields"?}``."""
    rest = dict(doc)
    event: dict[str, Any] = {}
    event["timestamp"] = _pop_first(rest, TIME_KEYS, default_time)
    message = _pop_first(rest, MESSAGE_KEYS, None, want=str)
    if message is not None:
        event["message"] = message
    level = _pop_level(rest)
    if level is not None:
        event["level"] = level
    host = _pop_host(rest)
    if host is not None:
        event["host"] = host
    move_key_paths(rest)
    if rest:
        event["fields"] = rest
    return event


def _pop_first(
    rest: dict[str, Any], keys: tuple[str, ...], default: Any, want: type | tuple[type, ...] | None = None
) -> Any:
    for k in keys:
        if k in rest and rest[k] is not None and (want is None or isinstance(rest[k], want)):
            return rest.pop(k)
    return default


def _pop_level(rest: dict[str, Any]) -> Any:
    if "log.level" in rest:
        return rest.pop("log.level")
    log = rest.get("log")
    if isinstance(log, dict) and "level" in log:
        log = dict(log)
        value = log.pop("level")
        if log:
            rest["log"] = log
        else:
            rest.pop("log")
        return value
    return _pop_first(rest, LEVEL_KEYS, None, want=(str, int))


def _pop_host(rest: dict[str, Any]) -> str | None:
    if isinstance(rest.get("host.name"), str):
        return str(rest.pop("host.name"))
    host = rest.get("host")
    if isinstance(host, dict) and isinstance(host.get("name"), str):
        host = dict(host)
        name = host.pop("name")
        if host:
            rest["host"] = host
        else:
            rest.pop("host")
        return str(name)
    if isinstance(host, str):
        return str(rest.pop("host"))
    if isinstance(rest.get("hostname"), str):
        return str(rest.pop("hostname"))
    return None


def move_key_paths(rest: dict[str, Any]) -> None:
    """Rename what the key owns (see the module docstring) to ``labels.sent_*``."""
    moved: dict[str, Any] = {}
    for path in KEY_PATHS:
        if path in rest:
            moved[path] = rest.pop(path)
            continue
        parts = path.split(".")
        node: Any = rest
        for p in parts[:-1]:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and parts[-1] in node:
            if len(parts) > 1:
                node = dict(node)  # do not mutate the caller's nested objects
                parent = rest
                for p in parts[:-2]:
                    parent = parent[p]
                parent[parts[-2]] = node
            moved[path] = node.pop(parts[-1])
            if len(parts) > 1 and not node:
                parent.pop(parts[-2])
    if moved:
        labels = rest.get("labels")
        if not isinstance(labels, dict):
            labels = {} if labels is None else {"value": labels}
        rest["labels"] = {**labels, **{"sent_" + k.replace(".", "_"): v for k, v in moved.items()}}
