"""``logharbor indices bootstrap``: apply templates and lifecycle policies idempotently.

Each applied body carries its content hash (``_meta.logharbor_hash`` for templates, a
``[lh:<hash>]`` suffix on ISM policy descriptions, a field on LogHarbor lifecycle policies),
so a second run compares hashes and reports "unchanged" without rewriting anything. ISM
policy updates use ``if_seq_no``/``if_primary_term`` and are then applied to the indices
already managed by them (``_plugins/_ism/change_policy``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from opensearchpy import NotFoundError, OpenSearch

from logharbor.config import StorageSettings

from . import lifecycle
from .definitions import Definition, all_definitions
from .ism_policy import for_ism

HASH_KEY = "logharbor_hash"
_ISM_HASH = re.compile(r"\[lh:([0-9a-f]+)\]$")


@dataclass
class Change:
    kind: str
    name: str
    outcome: str  # created | updated | unchanged

    def __str__(self) -> str:
        return f"{self.kind:<19} {self.name:<32} {self.outcome}"


def _with_hash(defn: Definition) -> dict:
    body = copy.deepcopy(defn.body)
    body.setdefault("_meta", {})[HASH_KEY] = defn.digest
    return body


def _apply_template(client: OpenSearch, defn: Definition) -> str:
    """Component and index templates: the same compare-hash-then-put, on two APIs."""
    if defn.kind == "component_template":
        get, put, key, inner = (client.cluster.get_component_template, client.cluster.put_component_template,
                                "component_templates", "component_template")
    else:
        get, put, key, inner = (client.indices.get_index_template, client.indices.put_index_template,
                                "index_templates", "index_template")
    try:
        current = get(name=defn.name)[key][0][inner].get("_meta", {}).get(HASH_KEY)
    except NotFoundError:
        current = None
    if current == defn.digest:
        return "unchanged"
    put(name=defn.name, body=_with_hash(defn))
    return "created" if current is None else "updated"


def _apply_ism_policy(client: OpenSearch, defn: Definition) -> str:
    path = f"/_plugins/_ism/policies/{defn.name}"
    # ISM rolls over and moves tiers; deletion stays with LogHarbor's safe deletion (lifecycle_ism)
    body = for_ism(defn.body)
    body["policy"]["description"] = f"{body['policy']['description']} [lh:{defn.digest}]"
    try:
        got = client.transport.perform_request("GET", path)
    except NotFoundError:
        client.transport.perform_request("PUT", path, body=body)
        return "created"
    m = _ISM_HASH.search(got["policy"].get("description", ""))
    if m and m.group(1) == defn.digest:
        return "unchanged"
    client.transport.perform_request(
        "PUT", path, body=body,
        params={"if_seq_no": got["_seq_no"], "if_primary_term": got["_primary_term"]},
    )
    # indices already managed keep the old policy version until told otherwise
    pattern = defn.body["policy"]["ism_template"][0]["index_patterns"][0]
    client.transport.perform_request(
        "POST", f"/_plugins/_ism/change_policy/{pattern}", body={"policy_id": defn.name},
    )
    return "updated"


def bootstrap(client: OpenSearch, storage: StorageSettings | None = None,
              retention: dict[str, int] | None = None,
              tenant_retention: dict[str, dict[str, int]] | None = None) -> list[Change]:
    """Apply every definition; returns what happened to each.

    ``retention`` (days per class) defaults to what ``POST /api/v1/retention`` stored, over
    the configured ``storage.retention_days``.
    """
    storage = storage or StorageSettings()
    use_ism = lifecycle.use_ism(client, storage)
    if retention is None:
        retention = lifecycle.stored_retention(client)
    if tenant_retention is None:
        tenant_retention = lifecycle.stored_tenant_retention(client)
    changes: list[Change] = []
    for defn in all_definitions(storage, lifecycle.node_tiers(client), retention, tenant_retention):
        if defn.kind in ("component_template", "index_template"):
            outcome = _apply_template(client, defn)
        elif use_ism:
            outcome = _apply_ism_policy(client, defn)
        else:
            outcome = lifecycle.put_policy(client, defn.name, defn.body, defn.digest)
            changes.append(Change("lifecycle_policy", defn.name, outcome))
            continue
        changes.append(Change(defn.kind, defn.name, outcome))
    return changes
