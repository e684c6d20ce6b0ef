"""The per-group state machine: inactive → pending → firing → resolved (pure, no I/O).

One :class:`RuleState` per rule holds every group's :class:`GroupState` and the last window
evaluated; the evaluator stores it in OpenSearch with optimistic concurrency, so the state only
moves forward once per window whichever evaluator computed it.

* **pending**: the condition holds but not yet for ``for``; no notification.
* **firing**: notified once (the ``firing`` transition). A re-fire within ``throttle`` of the
  group's previous firing notification is recorded but not sent (per-group throttle).
* **grace**: a firing group whose condition stops holding resolves only after it has stayed
  clear for ``grace`` (no flapping resolve/trigger pairs); breaching again inside the grace
  keeps the same incident, with no new notification.
* **resolved**: notified once; the group is forgotten an hour later (history keeps it).
* ``acked`` is cleared on resolve; ``error`` is rule-wide (the query failed) and shown, never hidden.

Catch-up after downtime evaluates several windows in one go; :func:`reduce_catchup` then keeps at
most one firing and one resolved notification per group for the whole batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from alerting.rules import Rule, compare

FORGET_RESOLVED_MS = 3600_000


@dataclass
class GroupState:
    labels: dict[str, Any]
    state: str = "inactive"  # inactive | pending | firing | resolved
    value: float | None = None
    since: int | None = None  # when the current state began (window end, ms)
    pending_since: int | None = None
    fired_at: int | None = None  # window end of the firing transition: the incident's identity
    clear_since: int | None = None
    resolved_at: int | None = None
    last_notified_fire: int | None = None
    acked: bool = False
    acked_by: str | None = None

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> GroupState:
        known = {k: doc[k] for k in cls.__dataclass_fields__ if k in doc}
        return cls(**known)


@dataclass
class Transition:
    rule_id: str
    group: str
    labels: dict[str, Any]
    kind: str  # firing | resolved | repeat (still firing, not acknowledged)
    window_end: int
    value: float | None
    fired_at: int
    notify: bool = True
    reason: str = ""  # why not notified (throttled, catch-up, ...)


@dataclass
class RuleState:
    rule_id: str
    tenant: str
    last_end: int | None = None
    groups: dict[str, GroupState] = field(default_factory=dict)
    error: str | None = None
    error_since: int | None = None
    skipped_windows: int = 0
    evaluated_at: int | None = None
    late: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id, "tenant": self.tenant, "last_end": self.last_end,
            "groups": [{"key": k, **g.to_doc()} for k, g in self.groups.items()],
            "error": self.error, "error_since": self.error_since, "skipped_windows": self.skipped_windows,
            "evaluated_at": self.evaluated_at, "late": self.late,
            "firing": sum(1 for g in self.groups.values() if g.state == "firing"),
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RuleState:
        groups = {g["key"]: GroupState.from_doc(g) for g in doc.get("groups") or []}
        return cls(doc["rule_id"], doc["tenant"], doc.get("last_end"), groups, doc.get("error"),
                   doc.get("error_since"), doc.get("skipped_windows", 0), doc.get("evaluated_at"),
                   doc.get("late", False))

    def summary(self) -> str:
        """The rule's overall state: error > firing > pending > ok."""
        if self.error:
            return "error"
        states = {g.state for g in self.groups.values()}
        for s in ("firing", "pending"):
            if s in states:
                return s
        return "ok"


def missing_value(rule: Rule) -> float | None:
    """The value of a group with no events in the window: 0 for counts, no data otherwise."""
    return 0.0 if rule.condition.type == "count" else None


def advance(rule: Rule, state: RuleState, observed: dict[str, tuple[dict[str, Any], float | None]],
            window_end: int) -> list[Transition]:
    """Apply one window's observations (group key → labels, value) and return its transitions."""
    cond = rule.condition
    for_ms, grace_ms, throttle_ms = rule.for_s * 1000, rule.grace_s * 1000, rule.throttle_s * 1000
    out: list[Transition] = []
    keys = list(observed) + [k for k in state.groups if k not in observed]
    if not cond.group_by and "*" not in observed:
        keys.append("*")
    for key in dict.fromkeys(keys):
        labels, value = observed.get(key, (None, missing_value(rule)))
        g = state.groups.get(key)
        if g is None:
            g = GroupState(labels=labels or {})
        breached = value is not None and compare(cond.op, value, cond.threshold)
        g.value = value
        if g.state in ("inactive", "resolved"):
            if breached:
                if for_ms <= 0:
                    out.append(_fire(rule, key, g, window_end, throttle_ms))
                else:
                    g.state, g.since, g.pending_since = "pending", window_end, window_end
        elif g.state == "pending":
            if not breached:
                g.state, g.since, g.pending_since = "inactive", window_end, None
            elif window_end - (g.pending_since or window_end) >= for_ms:
                out.append(_fire(rule, key, g, window_end, throttle_ms))
        elif g.state == "firing":
            if breached:
                g.clear_since = None
                repeat_ms = rule.repeat_s * 1000
                if (repeat_ms > 0 and not g.acked and g.last_notified_fire is not None
                        and window_end - g.last_notified_fire >= repeat_ms):
                    g.last_notified_fire = window_end
                    fired = g.fired_at or window_end
                    out.append(Transition(rule.id, key, g.labels, "repeat", window_end, value, fired))
            else:
                if g.clear_since is None:
                    g.clear_since = window_end
                if window_end - g.clear_since >= grace_ms:
                    fired = g.fired_at or window_end
                    out.append(Transition(rule.id, key, g.labels, "resolved", window_end, value, fired))
                    g.state, g.since, g.resolved_at, g.clear_since = "resolved", window_end, window_end, None
                    g.acked, g.acked_by = False, None
        if g.state == "inactive" or (g.state == "resolved" and window_end - (g.resolved_at or 0) > FORGET_RESOLVED_MS):
            if g.last_notified_fire is None or window_end - g.last_notified_fire > max(throttle_ms, FORGET_RESOLVED_MS):
                state.groups.pop(key, None)
                continue
        state.groups[key] = g
    state.last_end = window_end
    return out


def _fire(rule: Rule, key: str, g: GroupState, window_end: int, throttle_ms: float) -> Transition:
    throttled = g.last_notified_fire is not None and window_end - g.last_notified_fire < throttle_ms
    g.state, g.since, g.fired_at, g.pending_since, g.clear_since = "firing", window_end, window_end, None, None
    t = Transition(rule.id, key, g.labels, "firing", window_end, g.value, window_end)
    if throttled:
        t.notify, t.reason = False, "throttled"
    else:
        g.last_notified_fire = window_end
    return t


def reduce_catchup(before: dict[str, str], transitions: list[Transition], state: RuleState) -> list[Transition]:
    """Several windows evaluated in one go: per group at most one firing and one resolved notice.

    ``before`` maps group keys to their state before the batch. A group firing before and after
    (it resolved and fired again meanwhile) keeps its original incident and sends nothing.
    """
    by_group: dict[str, list[Transition]] = {}
    for t in transitions:
        by_group.setdefault(t.group, []).append(t)
    for key, seq in by_group.items():
        was_firing = before.get(key) == "firing"
        final = state.groups.get(key)
        now_firing = final is not None and final.state == "firing"
        keep: set[int] = set()
        if was_firing and now_firing:
            original = next(t.fired_at for t in seq if t.kind == "resolved")
            final.fired_at = original  # type: ignore[union-attr]
        elif was_firing:
            keep.add(id([t for t in seq if t.kind == "resolved"][-1]))
        else:
            fires = [t for t in seq if t.kind == "firing" and t.notify]
            if fires:
                first = fires[0] if not now_firing else fires[-1]
                keep.add(id(first))
                if not now_firing:
                    last = [t for t in seq if t.kind == "resolved"][-1]
                    last.fired_at = first.fired_at
                    keep.add(id(last))
                else:
                    final.fired_at = first.fired_at  # type: ignore[union-attr]
        for t in seq:
            if id(t) not in keep and t.notify:
                t.notify, t.reason = False, "catch-up"
    return transitions
