"""How an event object as clients send it is read: the reserved concepts under their spellings.

JSON loggers disagree on names (python-json-logger ``asctime``/``levelname``, structlog
``timestamp``/``event``, pino ``time``/``level``/``msg``, bunyan ``time``/``level``/``msg``,
GELF ``short_message``), so the gateway recognises each concept under its common spellings,
first spelling present wins, and keeps every other key as event data. The order is the
preference when an event carries several (``timestamp`` before ``time``).

Paths whose value comes from the API key (``KEY_PATHS``) may not be set by a client at all:
the gateway refuses them (400) so events cannot move tenant, forge a key id or hide from the
``source:`` filter; the pipeline applies the key's values last as a second line.
"""

from __future__ import annotations

TIME_KEYS: tuple[str, ...] = ("timestamp", "@timestamp", "time", "ts", "date", "datetime", "asctime", "@t")
LEVEL_KEYS: tuple[str, ...] = (
    "level", "severity", "lvl", "loglevel", "levelname", "log.level",
    "severity_text", "severityText", "severity_number", "severityNumber", "levelno", "@l",
)
MESSAGE_KEYS: tuple[str, ...] = ("message", "msg", "@message", "short_message", "text", "event", "@m", "@mt")
HOST_KEYS: tuple[str, ...] = ("host", "hostname")
# The writer's service: always the key's source (service.name). A client value must match it.
SERVICE_KEYS: tuple[str, ...] = ("source", "service")
# Members with a meaning of their own in the envelope (not event data).
ENVELOPE_KEYS: frozenset[str] = frozenset(
    {"id", "tenant", "fields", "meta", "labels", "environment", "path", "raw", "format"}
)

# Dotted paths (flattened) a client may never write: the key states them.
KEY_PATHS: tuple[str, ...] = ("labels.tenant", "labels.key_id", "service.name", "event.id", "tenant")
# Under ``meta`` (shipper/host metadata), names the key states.
KEY_META: frozenset[str] = frozenset({"audit", "tenant", "key_id"})
