"""What the lifecycle will do next and when (``indices lifecycle --dry-run``, the UI's lifecycle page).

Read-only: from the policies, the per-index state documents, pending deletions, legal holds
and size budgets it derives, per backing index, its phase, age, size, docs and the next action
with its due time. Due times follow the runner's rules (ages count from index creation, as ISM's
``min_index_age`` does); an action whose time has come happens on the runner's next scheduled run.
"""

from __future__ import annotations

import time
from typing import Any

from opensearchpy import OpenSearch

from . import lifecycle, safe_delete, size_budget, snapshots
from .lifecycle_settings import LifecycleSettings


def _rollover_due(spec: dict, created: float) -> float | None:
    age = spec.get("min_index_age")
    return created + lifecycle.age_seconds(age) if age else None


def plan(client: OpenSearch, *, now: float | None = None, pattern: str = "logs-*",
         settings: LifecycleSettings | None = None) -> list[dict[str, Any]]:
    """One row per backing index, oldest first."""
    now = time.time() if now is None else now
    settings = settings or LifecycleSettings()
    policies = lifecycle.get_policies(client)
    states = lifecycle._load_states(client)
    marks = safe_delete.pending(client)
    held = set(safe_delete.holds(client))
    repo = snapshots.repository_exists(client, settings.snapshot_repository)
    grace = lifecycle.age_seconds(settings.grace_period)
    indices = size_budget.backing_indices(client, pattern)
    over = {b.index: key for b, key in size_budget.plan(indices, settings.size_budgets, skip=set(marks), held=held)}
    rows = []
    for b in indices:
        st = states.get(b.index)
        pname = st.policy if st else lifecycle.policy_for_index(policies, b.index, b.data_stream)
        pol = policies.get(pname or "")
        phase = st.state if st else (pol or {}).get("default_state")
        done = st.actions_done if st else []
        row: dict[str, Any] = {
            "index": b.index, "data_stream": b.data_stream, "policy": pname, "phase": phase,
            "age_s": round(now - b.created), "docs": b.docs, "bytes": b.bytes, "status": b.status,
            "write_index": b.is_write, "held": b.data_stream in held, "next_action": None, "due_at": None,
        }
        mark = marks.get(b.index)
        if mark is not None:
            row["next_action"] = "delete (grace period ends)"
            row["due_at"] = float(mark["closed_at"]) + grace
        elif b.index in over and b.data_stream not in held:
            row["next_action"] = ("snapshot, then delete" if repo else "close, then delete after grace") + \
                f" (size budget {over[b.index]}={settings.size_budgets[over[b.index]]})"
            row["due_at"] = now
        elif pol is not None and phase is not None:
            _next_from_policy(row, pol, phase, done, b, repo, held, settings, now)
        rows.append(row)
    return rows


def _next_from_policy(row: dict, pol: dict, phase: str, done: list[str], b: size_budget.Backing, repo: bool,
                      held: set[str], settings: LifecycleSettings, now: float) -> None:
    """Walk the policy from the index's phase: transitions already due at ``now`` are chained
    (``-> warm -> cold``), so ``--at 30d`` shows where an index ends up and what happens then."""
    states = {s["name"]: s for s in pol["states"]}
    chain: list[str] = []
    first_due: float | None = None
    for _ in range(len(states) + 1):
        state = states.get(phase)
        if state is None:
            row["next_action"] = f"error: policy has no state {phase}"
            return
        for action in state.get("actions") or []:
            name = next(iter(action))
            if name in done or (name == "rollover" and not b.is_write):
                continue
            if chain and name != "delete":
                continue  # entered by a due transition: the same run does these actions
            if name == "rollover":
                label, due = "rollover", _rollover_due(action[name] or {}, b.created)
            elif name == "delete":
                label = "none: legal hold" if b.data_stream in held else \
                    "snapshot, then delete" if repo else f"close, then delete after {settings.grace_period}"
                due = now
            else:
                label, due = name, now
            row["next_action"] = " ".join([*chain, label]).strip() if name == "delete" or not chain else \
                " ".join(chain)
            row["due_at"] = first_due if first_due is not None else due
            return
        nxt = None
        for t in state.get("transitions") or []:
            age = (t.get("conditions") or {}).get("min_index_age")
            nxt = (t["state_name"], b.created + lifecycle.age_seconds(age) if age else now)
            break
        if nxt is None:
            row["next_action"] = " ".join(chain) or None
            row["due_at"] = first_due
            return
        target, due = nxt
        chain.append(f"-> {target}")
        first_due = due if first_due is None else first_due
        if due > now:
            row["next_action"] = " ".join(chain) + (" (then held: never deleted)" if target == "delete" and
                                                     b.data_stream in held else "")
            row["due_at"] = first_due
            return
        phase, done = target, []
    row["next_action"] = " ".join(chain)
    row["due_at"] = first_due


def render(rows: list[dict[str, Any]], now: float | None = None) -> str:
    """A table for the terminal; due times relative to now."""
    now = time.time() if now is None else now

    def rel(t: float | None) -> str:
        if t is None:
            return "-"
        d = t - now
        if d <= 0:
            return "due now"
        for unit, secs in (("d", 86400), ("h", 3600), ("m", 60)):
            if d >= secs:
                return f"in {d / secs:.1f}{unit}"
        return f"in {d:.0f}s"

    out = [f"{'INDEX':<44} {'PHASE':<7} {'AGE':>7} {'DOCS':>9} {'BYTES':>11}  NEXT ACTION (WHEN)"]
    for r in rows:
        age = f"{r['age_s'] / 86400:.1f}d" if r["age_s"] >= 86400 else f"{r['age_s'] / 3600:.1f}h"
        flag = " [HELD]" if r["held"] else ""
        out.append(f"{r['index']:<44} {r['phase']!s:<7} {age:>7} {r['docs']:>9} {r['bytes']:>11}  "
                   f"{r['next_action'] or '-'} ({rel(r['due_at'])}){flag}")
    return "\n".join(out)
