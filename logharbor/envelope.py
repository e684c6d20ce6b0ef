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
        """Serialise, leaving out empty members to keep records small."""
        return orjson.dumps({k: v for k, v in self.as_dict().items() if v not in (None, {})})

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
        if not isinstance(obj, dict):
            raise ValueError("envelope: record value is not a JSON object")
        for required in ("id", "tenant", "source", "received_at"):
            if not isinstance(obj.get(required), str):
                raise ValueError(f"envelope: missing or non-string '{required}'")
        known = {k: obj.get(k) for k in cls.__slots__ if k in obj}  # type: ignore[attr-defined]
        known.setdefault("meta", {})
        return cls(**known)
