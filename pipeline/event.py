"""The in-flight event: the envelope it came in, and the document it is becoming.

Steps read and write ``doc``, a *flat* mapping of ECS dotted names (``client.ip``,
``http.response.status_code``) because lookups and writes on one flat dict are the cheapest
thing Python does; :func:`pipeline.document.to_document` nests it once, at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from logharbor import ecs
from logharbor.envelope import Envelope
from logharbor.levels import normalize_level


@dataclass(slots=True)
class Event:
    """One event between the Kafka record and the OpenSearch document."""

    envelope: Envelope
    doc: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    ts: datetime | None = None
    retention_class: str | None = None
    format: str | None = None
    # The Kafka record this event came from (opaque to steps; the worker needs it to commit).
    origin: Any = None

    @classmethod
    def from_envelope(cls, env: Envelope) -> Event:
        """Seed the document with what the envelope already states (structured events)."""
        doc: dict[str, Any] = {
            ecs.EVENT_ID: env.id,
            ecs.TENANT: env.tenant,
            ecs.SERVICE: env.source,
            "event.ingested": env.received_at,
        }
        if env.fields:
            flatten_into(doc, env.fields, "", overwrite=False)
        if env.host:
            doc[ecs.HOST] = env.host
        if env.level is not None:
            set_level(doc, env.level)
        if env.message is not None:
            doc[ecs.MESSAGE] = env.message
        return cls(env, doc)

    @property
    def message(self) -> str:
        value = self.doc.get(ecs.MESSAGE)
        return value if isinstance(value, str) else ""

    @property
    def level(self) -> str | None:
        return self.doc.get(ecs.LEVEL)

    def tag(self, name: str) -> None:
        if name not in self.tags:
            self.tags.append(name)


def set_level(doc: dict[str, Any], raw: object) -> None:
    """``log.level`` if ``raw`` names a known level, else keep it as ``log.level_original``."""
    level = normalize_level(raw)
    if level is not None:
        doc[ecs.LEVEL] = level
    elif raw is not None and raw != "":
        doc["log.level_original"] = str(raw)


def flatten_into(
    target: dict[str, Any], value: dict[str, Any], prefix: str = "", *, overwrite: bool = True
) -> dict[str, Any]:
    """Copy a nested mapping into ``target`` as dotted keys (``{"a": {"b": 1}}`` → ``a.b``).

    Objects such as ``client.geo.location`` ({lat, lon}) would be flattened too, so steps that
    set object-valued fields assign them directly instead of calling this.
    """
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            flatten_into(target, item, name + ".", overwrite=overwrite)
        elif overwrite or name not in target:
            target[name] = item
    return target
