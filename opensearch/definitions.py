"""Load the JSON definitions in ``index_templates/`` and render them with the storage settings.

The files are the source of truth an operator can read or apply by hand; settings only
patch what is configurable (retention days, phase ages, rollover conditions), so the
rendered body is deterministic and its hash tells bootstrap whether anything changed.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import orjson

from index_templates import DEFINITIONS_DIR
from logharbor.config import StorageSettings

DLQ_CLASS = "dlq"
DLQ_RETENTION_DAYS = 14


@dataclass(frozen=True)
class Definition:
    kind: str  # component_template | index_template | ism_policy
    name: str
    body: dict

    @property
    def digest(self) -> str:
        return hashlib.sha256(orjson.dumps(self.body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _load(folder: str) -> dict[str, dict]:
    out = {}
    for path in sorted((DEFINITIONS_DIR / folder).glob("*.json")):
        out[path.stem] = json.loads(path.read_text())
    return out


def retention_classes(storage: StorageSettings) -> dict[str, int]:
    """Configured classes plus the DLQ class (always present, so dead letters age out too)."""
    classes = dict(storage.retention_days)
    classes.setdefault(DLQ_CLASS, DLQ_RETENTION_DAYS)
    return classes


def _class_template(template_for: dict, cls: str) -> dict:
    body = copy.deepcopy(template_for)
    body["index_patterns"] = [f"logs-*-{cls}"]
    body["template"]["mappings"]["_meta"]["retention_class"] = cls
    body["_meta"]["retention_class"] = cls
    body["_meta"]["description"] = f"LogHarbor data streams logs-<tenant>-{cls}"
    return body


def policy_for(cls: str, days: int, storage: StorageSettings, tiers: set[str] | None = None) -> dict:
    """The ISM policy body for one class with ages and rollover conditions from settings.

    ``tiers`` are the ``temp`` node attributes the cluster has: an allocation action for a
    tier the cluster lacks is left out, because ISM would otherwise strand the shards.
    """
    policies = _load("ism_policies")
    body = copy.deepcopy(policies.get(f"logharbor-{cls}") or policies["logharbor-standard"])
    pol = body["policy"]
    pol["description"] = f"LogHarbor retention class '{cls}': hot -> warm -> cold -> delete after {days}d"
    states = {s["name"]: s for s in pol["states"]}
    rollover = states["hot"]["actions"][0]["rollover"]
    rollover.update(
        min_index_age=storage.rollover_max_age,
        min_primary_shard_size=storage.rollover_max_primary_shard_size,
        min_doc_count=storage.rollover_max_docs,
    )
    warm_after = min(storage.warm_after_days, days)
    cold_after = min(max(storage.cold_after_days, warm_after), days)
    states["hot"]["transitions"] = [{"state_name": "warm", "conditions": {"min_index_age": f"{warm_after}d"}}]
    states["warm"]["transitions"] = [{"state_name": "cold", "conditions": {"min_index_age": f"{cold_after}d"}}]
    states["cold"]["transitions"] = [{"state_name": "delete", "conditions": {"min_index_age": f"{days}d"}}]
    pol["ism_template"] = [{"index_patterns": [f"logs-*-{cls}"], "priority": 100}]
    if tiers is not None:
        for state in pol["states"]:
            state["actions"] = [
                a for a in state["actions"]
                if "allocation" not in a or a["allocation"].get("require", {}).get("temp") in tiers
            ]
    return body


def tenant_policy_name(cls: str, tenant: str) -> str:
    return f"logharbor-{cls}--{tenant}"


def tenant_policies(storage: StorageSettings, tenant_retention: dict[str, dict[str, int]],
                    tiers: set[str] | None = None) -> list[Definition]:
    """One policy per (tenant, class) with its own days, attached to ``logs-<tenant>-<class>``
    at a higher priority than the class policy, so one tenant's retention never moves another's."""
    defs = []
    for tenant, days_by_class in sorted(tenant_retention.items()):
        for cls, days in sorted(days_by_class.items()):
            body = policy_for(cls, days, storage, tiers)
            body["policy"]["description"] = f"{body['policy']['description']} (tenant {tenant})"
            body["policy"]["ism_template"] = [{"index_patterns": [f"logs-{tenant}-{cls}"], "priority": 200}]
            defs.append(Definition("ism_policy", tenant_policy_name(cls, tenant), body))
    return defs


def all_definitions(storage: StorageSettings, tiers: set[str] | None = None,
                    retention: dict[str, int] | None = None,
                    tenant_retention: dict[str, dict[str, int]] | None = None) -> list[Definition]:
    """Everything bootstrap applies, in dependency order (``retention`` overrides the settings;
    ``tenant_retention`` adds per-tenant policies)."""
    defs = [Definition("component_template", n, b) for n, b in _load("component_templates").items()]
    templates = _load("index_templates")
    base = templates.get("logs-standard")
    classes = retention_classes(storage)
    classes.update(retention or {})
    for cls, days in classes.items():
        body = templates.get(f"logs-{cls}") or _class_template(base, cls)
        defs.append(Definition("index_template", f"logharbor-logs-{cls}", body))
        defs.append(Definition("ism_policy", f"logharbor-{cls}", policy_for(cls, days, storage, tiers)))
    defs += tenant_policies(storage, tenant_retention or {}, tiers)
    return defs


def definitions_dir() -> Path:
    return DEFINITIONS_DIR
