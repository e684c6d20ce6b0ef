"""The event envelope: what the gateway writes to ``logharbor.raw`` and the pipeline reads.

One Kafka record per event, key = source, value = JSON (orjson). Fields (docs/ARCHITECTURE.md §2):
``id``, ``tenant``, ``source``, ``key_id``, ``received_at`` and the event as sent —
``timestamp``, ``level``, ``message``, ``host``, ``fields`` — or ``raw`` plus ``format``.
Extra metadata the gateway or shipper knows (``environment``, ``path``, ``labels``) rides
along under ``meta``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

# Every built-in format family (pipeline/parse/families/*.yaml) is a hint that makes the parse
# step try that family's parser first; "_" may stand for "-" (nginx_error). Kept as data here so
# the gateway and shipper need not load the pipeline; tests/unit/pipeline/parse/test_format_hints.py
# fails when a family is added without its name here.
FAMILY_HINTS: frozenset[str] = frozenset(
    {"android-logcat", "apache-error", "auditd", "bracketed-client", "compact-date", "dotnet-serilog",
     "elasticsearch", "go-log", "go-panic", "gunicorn", "java-jul", "java-log4j", "java-log4j-bracketed",
     "java-log4j-dash", "java-log4j-short", "jvm-gc", "kernel", "klog", "macos-unified", "mongodb-json",
     "mongodb-text", "mysql-error", "mysql-slow", "nginx-error", "pipe-separated", "postgresql",
     "postgresql-csv", "postgresql-json", "python-logging", "python-oslo", "rails", "ras-bgl", "ras-hpc",
     "ras-syslog", "redis", "syslog", "windows-cbs"}
)
# Format hints a raw line may carry: the code parsers' names, the families (also with "_"), and
# aliases the parse step maps onto a family (postgres, mysql/mariadb, mongodb, glog, dmesg, logcat,
# jul, log4j, serilog; kv/access/docker onto logfmt/nginx/json). A hint whose parser does not
# understand the line falls back to auto-detection.
RAW_FORMATS: frozenset[str] = frozenset(
    {"auto", "json", "nginx", "apache", "access", "syslog", "app", "logfmt", "kv", "docker", "text",
     "postgres", "postgresql", "mysql", "mariadb", "mongodb", "glog", "dmesg", "logcat", "jul", "log4j",
     "serilog"}
    | FAMILY_HINTS
    | {name.replace("-", "_") for name in FAMILY_HINTS}
)


_EMPTY: dict[str, Any] = {}


@dataclass(slots=True)
class Envelope:
    """One event on its way through Kafka."""

    id: str
    tenant: str
    source: str
    received_at: str
    key_id: str | None = None
    timestamp: str | None = None
    level: str | None = None
    message: str | None = None
    host: str | None = None
    fields: dict[str, Any] | None = None
    raw: str | None = None
    format: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialise, leaving out empty members (None or ``{}``) to keep records small.

        Written out member by member rather than filtering ``as_dict()``: the gateway calls this
        once per event, and the generic filter (13 members, two comparisons each, a throwaway
        dict) cost more than orjson's encoding. Same members in the same order, so the bytes are
        identical.
        """
        d: dict[str, Any] = {}
        if (v := self.id) is not None and (v.__class__ is str or v != _EMPTY):
            d["id"] = v
        if (v := self.tenant) is not None and (v.__class__ is str or v != _EMPTY):
            d["tenant"] = v
        if (v := self.source) is not None and (v.__class__ is str or v != _EMPTY):
            d["source"] = v
        if (v := self.received_at) is not None and (v.__class__ is str or v != _EMPTY):
            d["received_at"] = v
        if (v := self.key_id) is not None and (v.__class__ is str or v != _EMPTY):
            d["key_id"] = v
        if (v := self.timestamp) is not None and (v.__class__ is str or v != _EMPTY):
            d["timestamp"] = v
        if (v := self.level) is not None and (v.__class__ is str or v != _EMPTY):
            d["level"] = v
        if (v := self.message) is not None and (v.__class__ is str or v != _EMPTY):
            d["message"] = v
        if (v := self.host) is not None and (v.__class__ is str or v != _EMPTY):
            d["host"] = v
        if (v := self.fields) is not None and (v.__class__ is str or v != _EMPTY):
            d["fields"] = v
        if (v := self.raw) is not None and (v.__class__ is str or v != _EMPTY):
            d["raw"] = v
        if (v := self.format) is not None and (v.__class__ is str or v != _EMPTY):
            d["format"] = v
        if (v := self.meta) is not None and (v.__class__ is str or v != _EMPTY):
            d["meta"] = v
        return orjson.dumps(d)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "tenant": self.tenant, "source": self.source, "received_at": self.received_at,
            "key_id": self.key_id, "timestamp": self.timestamp, "level": self.level,
            "message": self.message, "host": self.host, "fields": self.fields, "raw": self.raw,
            "format": self.format, "meta": self.meta,
        }

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse a record value; raises ValueError naming what is wrong."""
        obj = orjson.loads(data)
        if obj.__class__ is not dict:
            raise ValueError("envelope: record value is not a JSON object")
        g = obj.get
        # Positional, not ``cls(**known)``: the pipeline decodes every record, and building a
        # kwargs dict of the members present cost about a third of the decode.
        id_, tenant, source, received_at = g("id"), g("tenant"), g("source"), g("received_at")
        if (id_.__class__ is not str or tenant.__class__ is not str or source.__class__ is not str
                or received_at.__class__ is not str):
            for required in ("id", "tenant", "source", "received_at"):
                if not isinstance(obj.get(required), str):
                    raise ValueError(f"envelope: missing or non-string '{required}'")
        meta = obj["meta"] if "meta" in obj else {}
        return cls(id_, tenant, source, received_at, g("key_id"), g("timestamp"), g("level"), g("message"),
                   g("host"), g("fields"), g("raw"), g("format"), meta)
