"""Index lifecycle: OpenSearch ISM when the cluster has it, else LogHarbor's own runner.

The devstack cannot load ISM (the ``opensearch-index-management`` plugin zip is not served
by the Maven registry this project can reach; job-scheduler alone is), and some managed
clusters lack it too. Rather than drop lifecycle management, LogHarbor interprets the *same*
ISM policy documents itself: states with actions (rollover, read_only, replica_count,
force_merge, allocation, delete) and ``min_index_age``/``min_doc_count`` transitions,
attached through ``ism_template`` patterns. Policies and per-index state live in
``.logharbor-lifecycle``; a croniter schedule (``storage.lifecycle_schedule``) calls
:func:`run_once`. Every action is idempotent, so a run that dies half-way is simply redone.

Why one module of ~450 lines: the phase transitions of one policy are one state machine over the
same per-index state; deletion, size budgets and snapshots are already modules of their own.
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opensearchpy import NotFoundError, OpenSearch, TransportError

from logharbor.config import StorageSettings

# The state index and the age/size units live in a leaf (safe_delete, size_budget and snapshots
# use them too, and this module calls those: keeping them here made a cycle).
from .lifecycle_index import LIFECYCLE_INDEX, age_seconds, size_bytes
from .lifecycle_index import ensure_lifecycle_index as _ensure_index


def ism_available(client: OpenSearch) -> bool:
    """True when every node has the index-management plugin loaded."""
    info = client.nodes.info(metric="plugins")
    nodes = info.get("nodes", {}).values()
    return bool(nodes) and all(
        any(p.get("name") == "opensearch-index-management" for p in n.get("plugins", [])) for n in nodes
    )


def use_ism(client: OpenSearch, storage: StorageSettings) -> bool:
    if storage.lifecycle_driver == "ism":
        return True
    if storage.lifecycle_driver == "logharbor":
        return False
    return ism_available(client)


def node_tiers(client: OpenSearch) -> set[str]:
    """The ``temp`` attribute values present in the cluster (hot, warm, cold)."""
    rows = client.cat.nodeattrs(format="json")
    return {r["value"] for r in rows if r.get("attr") == "temp"}


RETENTION_DOC = "retention"


def stored_retention(client: OpenSearch) -> dict[str, int]:
    """Days per class set through the API (empty when never set)."""
    _ensure_index(client)
    try:
        return dict(client.get(index=LIFECYCLE_INDEX, id=RETENTION_DOC)["_source"].get("days") or {})
    except NotFoundError:
        return {}


def store_retention(client: OpenSearch, days: dict[str, int]) -> None:
    _ensure_index(client)
    client.index(index=LIFECYCLE_INDEX, id=RETENTION_DOC, refresh="wait_for",
                 body={"type": "retention", "days": days, "updated_at": time.time()})


def stored_tenant_retention(client: OpenSearch) -> dict[str, dict[str, int]]:
    """Per-tenant overrides set through the API: {tenant: {class: days}}."""
    _ensure_index(client)
    client.indices.refresh(index=LIFECYCLE_INDEX)
    res = client.search(index=LIFECYCLE_INDEX, body={"size": 10000, "query": {"term": {"type": "retention_tenant"}}})
    return {h["_source"]["name"]: dict(h["_source"].get("days") or {}) for h in res["hits"]["hits"]}


def store_tenant_retention(client: OpenSearch, tenant: str, days: dict[str, int]) -> None:
    _ensure_index(client)
    client.index(index=LIFECYCLE_INDEX, id=f"{RETENTION_DOC}:tenant:{tenant}", refresh="wait_for",
                 body={"type": "retention_tenant", "name": tenant, "days": days, "updated_at": time.time()})


def put_policy(client: OpenSearch, name: str, body: dict, digest: str) -> str:
    """Store a policy (compare-and-set on seq_no/primary_term); returns created|updated|unchanged."""
    _ensure_index(client)
    doc_id = f"policy:{name}"
    try:
        got = client.get(index=LIFECYCLE_INDEX, id=doc_id)
    except NotFoundError:
        client.index(index=LIFECYCLE_INDEX, id=doc_id, op_type="create", refresh="wait_for",
                     body={"type": "policy", "name": name, "hash": digest, "policy": name, "body": body})
        return "created"
    if got["_source"].get("hash") == digest:
        return "unchanged"
    client.index(index=LIFECYCLE_INDEX, id=doc_id, refresh="wait_for",
                 if_seq_no=got["_seq_no"], if_primary_term=got["_primary_term"],
                 body={"type": "policy", "name": name, "hash": digest, "policy": name, "body": body})
    # managed indices follow the new version from their current state on the next run
    return "updated"


def get_policies(client: OpenSearch) -> dict[str, dict]:
    _ensure_index(client)
    client.indices.refresh(index=LIFECYCLE_INDEX)
    res = client.search(index=LIFECYCLE_INDEX, body={"size": 1000, "query": {"term": {"type": "policy"}}})
    return {h["_source"]["name"]: h["_source"]["body"]["policy"] for h in res["hits"]["hits"]}


def policy_for_index(policies: dict[str, dict], index: str, data_stream: str | None) -> str | None:
    """The policy whose ``ism_template`` pattern matches (highest priority), as ISM attaches them."""
    best: tuple[int, str] | None = None
    target = data_stream or index
    for name, pol in policies.items():
        for tmpl in pol.get("ism_template") or []:
            if any(fnmatch.fnmatchcase(target, p) for p in tmpl.get("index_patterns", [])):
                prio = int(tmpl.get("priority", 0))
                if best is None or prio > best[0]:
                    best = (prio, name)
    return best[1] if best else None


@dataclass
class IndexState:
    index: str
    policy: str
    state: str
    state_entered_at: float
    actions_done: list[str] = field(default_factory=list)
    last_error: str | None = None
    info: str = ""

    def doc(self) -> dict[str, Any]:
        return {"type": "state", "index": self.index, "policy": self.policy, "state": self.state,
                "state_entered_at": self.state_entered_at, "actions_done": self.actions_done,
                "last_error": self.last_error, "info": self.info, "updated_at": time.time()}


def _load_states(client: OpenSearch) -> dict[str, IndexState]:
    client.indices.refresh(index=LIFECYCLE_INDEX)
    res = client.search(index=LIFECYCLE_INDEX, body={"size": 10000, "query": {"term": {"type": "state"}}})
    out = {}
    for h in res["hits"]["hits"]:
        s = h["_source"]
        out[s["index"]] = IndexState(s["index"], s["policy"], s["state"], s["state_entered_at"],
                                     list(s.get("actions_done") or []), s.get("last_error"), s.get("info", ""))
    return out


def _action_name(action: dict) -> str:
    return next(iter(action))


@dataclass
class RunReport:
    rolled_over: list[str] = field(default_factory=list)
    transitions: list[tuple[str, str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    # safe-deletion steps (closed, waiting, held, reopened, deleted) — opensearch.safe_delete.Outcome
    outcomes: list[Any] = field(default_factory=list)


@dataclass
class RunContext:
    """What one run's delete actions need (see :mod:`opensearch.safe_delete`)."""

    settings: Any  # LifecycleSettings
    now: float
    repo_configured: bool
    held: set[str]
    policy: str = ""


def _rollover_due(client: OpenSearch, index: str, spec: dict, age_s: float, docs: int) -> bool:
    """ISM rollover semantics: any one condition met is enough; no condition means roll now.

    OpenSearch's rollover API knows max_age/max_docs/max_size but not the primary *shard*
    size ISM uses, so the conditions are evaluated here and the rollover is unconditional.
    """
    if not any(k in spec for k in ("min_index_age", "min_doc_count", "min_size", "min_primary_shard_size")):
        return True
    if "min_index_age" in spec and age_s >= age_seconds(spec["min_index_age"]):
        return True
    if "min_doc_count" in spec and docs >= int(spec["min_doc_count"]):
        return True
    if "min_size" in spec or "min_primary_shard_size" in spec:
        stats = client.indices.stats(index=index, metric="store")["indices"][index]["primaries"]
        total = int(stats["store"]["size_in_bytes"])
        shards = int(client.indices.get_settings(index=index)[index]["settings"]["index"]["number_of_shards"])
        if "min_size" in spec and total >= size_bytes(spec["min_size"]):
            return True
        if "min_primary_shard_size" in spec and total / max(shards, 1) >= size_bytes(spec["min_primary_shard_size"]):
            return True
    return False


def _do_action(client: OpenSearch, action: dict, index: str, ds: str | None, is_write: bool,
               tiers: set[str], report: RunReport, age_s: float = 0.0, docs: int = 0,
               ctx: RunContext | None = None) -> bool:
    """Run one action; True when done (rollover waits for its conditions, as in ISM)."""
    name = _action_name(action)
    spec = action[name] or {}
    if name == "rollover":
        if ds is None or not is_write:
            return True
        if not _rollover_due(client, index, spec, age_s, docs):
            return False
        client.indices.rollover(alias=ds)
        report.rolled_over.append(index)
        return True
    if name == "read_only":
        client.indices.put_settings(index=index, body={"index.blocks.write": True})
    elif name == "replica_count":
        client.indices.put_settings(index=index, body={"index.number_of_replicas": spec["number_of_replicas"]})
    elif name == "force_merge":
        # after an allocation change the shards are still moving; a merge started on the source
        # copy is lost with it, so merge once they have settled (a later run)
        health = client.cluster.health(index=index)
        if health.get("relocating_shards") or health.get("initializing_shards"):
            return False
        client.transport.perform_request(
            "POST", f"/{index}/_forcemerge",
            params={"max_num_segments": spec.get("max_num_segments", 1), "wait_for_completion": "false"},
        )
    elif name == "allocation":
        require = spec.get("require") or {}
        wanted = require.get("temp")
        if wanted is None or wanted in tiers:
            client.indices.put_settings(
                index=index, body={f"index.routing.allocation.require.{k}": v for k, v in require.items()}
            )
    elif name == "delete":
        if is_write and ds is not None:
            # a data stream's write index cannot be deleted (nor closed): roll it first
            client.indices.rollover(alias=ds)
        if ctx is None:
            client.indices.delete(index=index)
            report.deleted.append(index)
            return True
        from .safe_delete import request_delete

        out = request_delete(client, index, ds, reason="retention", policy=ctx.policy, settings=ctx.settings,
                             now=ctx.now, repo_configured=ctx.repo_configured, held=ctx.held)
        report.outcomes.append(out)
        if out.action != "deleted":
            return False
        report.deleted.append(index)
    # unknown actions (notification, snapshot, ...) are recorded as done: ISM-only features
    return True


def _transition(state: dict, age_s: float, docs: int) -> str | None:
    for t in state.get("transitions") or []:
        cond = t.get("conditions") or {}
        if "min_index_age" in cond and age_s < age_seconds(cond["min_index_age"]):
            continue
        if "min_doc_count" in cond and docs < int(cond["min_doc_count"]):
            continue
        return t["state_name"]
    return None


def run_once(client: OpenSearch, now: float | None = None, pattern: str = "logs-*",
             settings: Any = None) -> RunReport:
    """One pass over every managed backing index: run pending actions, then transitions;
    then the size budgets. Deletions go through :mod:`opensearch.safe_delete`."""
    from . import safe_delete, size_budget, snapshots
    from .lifecycle_settings import LifecycleSettings

    now = time.time() if now is None else now
    settings = settings or LifecycleSettings()
    report = RunReport()
    policies = get_policies(client)
    if not policies:
        return report
    held = set(safe_delete.holds(client))
    ctx = RunContext(settings, now, snapshots.repository_exists(client, settings.snapshot_repository), held)
    for index, mark in safe_delete.pending(client).items():
        if mark.get("name") in held:
            out = safe_delete.reopen(client, index, why=f"legal hold on {mark.get('name')}")
            if out:
                report.outcomes.append(out)
    states = _load_states(client)
    tiers = node_tiers(client)
    try:
        streams = client.indices.get_data_stream(name=pattern)["data_streams"]
    except NotFoundError:
        streams = []
    stats = {}
    if streams:
        rows = client.cat.indices(index=f".ds-{pattern}-*", format="json", h="index,docs.count,creation.date")
        stats = {r["index"]: r for r in rows}
    for ds in streams:
        backing = [i["index_name"] for i in ds["indices"]]
        for index in backing:
            is_write = index == backing[-1]
            row = stats.get(index)
            if row is None:
                continue
            created = int(row["creation.date"]) / 1000.0
            docs = int(row.get("docs.count") or 0)
            st = states.get(index)
            if st is None:
                policy = policy_for_index(policies, index, ds["name"])
                if policy is None:
                    continue
                st = IndexState(index, policy, policies[policy]["default_state"], created)
            want = policy_for_index(policies, index, ds["name"])
            if want is not None and want != st.policy:
                # a per-tenant policy appeared (or went away): follow it from the same phase
                if not any(x["name"] == st.state for x in policies[want]["states"]):
                    st.state, st.actions_done = policies[want]["default_state"], []
                st.policy = want
            pol = policies.get(st.policy)
            if pol is None:
                continue
            ctx.policy = st.policy
            try:
                _advance(client, pol, st, ds["name"], is_write, created, docs, now, tiers, report, ctx)
            except TransportError as exc:
                st.last_error = f"{type(exc).__name__}: {exc}"
                report.errors.append((index, st.last_error))
            if index in report.deleted:
                client.delete(index=LIFECYCLE_INDEX, id=f"state:{index}", ignore=[404])
            else:
                client.index(index=LIFECYCLE_INDEX, id=f"state:{index}", body=st.doc())
    client.indices.refresh(index=LIFECYCLE_INDEX)
    try:
        report.outcomes += size_budget.enforce(client, settings, now=now, ctx=ctx, pattern=pattern)
    except TransportError as exc:
        report.errors.append(("size budget", f"{type(exc).__name__}: {exc}"))
    report.deleted += [o.index for o in report.outcomes if o.action == "deleted" and o.index not in report.deleted]
    return report


def _still_due(pol: dict, st: IndexState, age_s: float, docs: int) -> str | None:
    """None if the current state is still reachable under the (possibly changed) policy;
    else the state to go back to (retention lengthened while a deletion was pending)."""
    back = None
    for s in pol["states"]:
        for t in s.get("transitions") or []:
            if t["state_name"] != st.state:
                continue
            if _transition({"transitions": [t]}, age_s, docs) is not None:
                return None
            back = back or s["name"]
    return back


def _advance(client: OpenSearch, pol: dict, st: IndexState, ds: str, is_write: bool, created: float,
             docs: int, now: float, tiers: set[str], report: RunReport, ctx: RunContext | None = None) -> None:
    states = {s["name"]: s for s in pol["states"]}
    if ctx is not None and any("delete" in a for a in (states.get(st.state) or {}).get("actions") or []):
        back = _still_due(pol, st, now - created, docs)
        if back is not None:
            from .safe_delete import reopen

            out = reopen(client, st.index, why=f"policy {st.policy} changed: not due for deletion")
            if out:
                report.outcomes.append(out)
            report.transitions.append((st.index, st.state, back))
            st.state, st.actions_done, st.info = back, [], "deletion cancelled by a policy change"
    for _ in range(len(states) + 1):  # several phases may be due at once (e.g. a long outage)
        state = states.get(st.state)
        if state is None:
            st.last_error = f"policy {st.policy} has no state '{st.state}'"
            return
        for action in state.get("actions") or []:
            key = _action_name(action)
            if key in st.actions_done:
                continue
            if not _do_action(client, action, st.index, ds, is_write, tiers, report, now - created, docs, ctx):
                last = report.outcomes[-1] if report.outcomes and key == "delete" else None
                st.info = f"{key}: {last.action} ({last.detail})" if last else f"waiting for {key} conditions"
                return
            st.actions_done.append(key)
            if key == "delete":
                return
            if key == "rollover":
                is_write = False
        nxt = _transition(state, now - created, docs)
        if nxt is None:
            st.info = f"in {st.state}"
            return
        report.transitions.append((st.index, st.state, nxt))
        st.state, st.state_entered_at, st.actions_done, st.last_error = nxt, now, [], None


def explain(client: OpenSearch, indices: list[str], storage: StorageSettings | None = None) -> dict[str, dict]:
    """Per-index lifecycle state: ISM's explain API, or LogHarbor's own state documents."""
    if not indices:
        return {}
    if use_ism(client, storage or StorageSettings()):
        res = client.transport.perform_request("GET", f"/_plugins/_ism/explain/{','.join(indices)}")
        return {
            i: {"policy": (res.get(i) or {}).get("index.plugins.index_state_management.policy_id")
                or (res.get(i) or {}).get("policy_id"),
                "state": ((res.get(i) or {}).get("state") or {}).get("name"),
                "info": ((res.get(i) or {}).get("info") or {}).get("message", ""), "driver": "ism"}
            for i in indices
        }
    _ensure_index(client)
    states = _load_states(client)
    policies = get_policies(client)
    out = {}
    for i in indices:
        st = states.get(i)
        if st is not None:
            out[i] = {"policy": st.policy, "state": st.state, "info": st.info, "driver": "logharbor",
                      "since": datetime.fromtimestamp(st.state_entered_at, UTC).isoformat(),
                      "last_error": st.last_error}
        else:
            ds = i.split("-", 1)[1].rsplit("-", 1)[0] if i.startswith(".ds-") else None
            out[i] = {"policy": policy_for_index(policies, i, ds), "state": None,
                      "info": "attached; not evaluated yet", "driver": "logharbor"}
    return out
