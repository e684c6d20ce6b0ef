"""Transitions → outbox entries: labels, silences, summaries, dedup and idempotency keys (pure).

Every transition becomes one outbox entry keyed ``rule|group|transition|window`` — also the ones
not sent (throttled, silenced, summarised, catch-up), so the history shows them with the reason.
When more than ``summary_over`` groups of a rule fire (or resolve) in one window, one summary
entry listing the top groups is sent instead of one message per group: no alert storm.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlencode

from alerting.rules import Rule
from alerting.state import Transition

SUMMARY_GROUP = "*summary*"
TOP_GROUPS = 20


def digest(*parts: Any, n: int = 32) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:n]


def labels_of(rule: Rule, group_labels: dict[str, Any]) -> dict[str, str]:
    """The labels a silence matches on: rule identity, severity, rule labels, group labels."""
    out = {"rule": rule.name, "rule_id": rule.id, "severity": rule.severity, **rule.labels}
    out.update({k: str(v) for k, v in group_labels.items()})
    return out


def _matcher_ok(m: dict[str, Any], labels: dict[str, str]) -> bool:
    have = labels.get(str(m.get("name", "")))
    want = str(m.get("value", ""))
    if m.get("regex"):
        ok = have is not None and re.fullmatch(want, have) is not None
    else:
        ok = have == want
    return not ok if m.get("negate") else ok


def silenced_by(silences: list[dict[str, Any]], labels: dict[str, str], at: int) -> str | None:
    """The id of the first silence active at ``at`` whose matchers all match ``labels``."""
    for s in silences:
        if not s.get("starts_at", 0) <= at < s.get("ends_at", 0):
            continue
        if all(_matcher_ok(m, labels) for m in s.get("matchers") or []):
            return s["id"]
    return None


def search_link(rule: Rule, public_url: str, start: int, end: int) -> str:
    params = {"q": rule.query, "from": _iso(start), "to": _iso(end)}
    return public_url.rstrip("/") + "/search?" + urlencode(params)


def _iso(ms: int) -> str:
    from alerting.channels.base import iso

    return iso(ms)


def notification(rule: Rule, kind: str, group: str, labels: dict[str, Any], value: float | None,
                 window_end: int, fired_at: int, now: int, public_url: str, **extra: Any) -> dict[str, Any]:
    """The outbox entry for one notification (what every channel renders from)."""
    key = f"{rule.id}|{group}|{kind}|{window_end}"
    start = window_end - int(rule.condition.window_s * 1000)
    n: dict[str, Any] = {
        "key": key, "tenant": rule.tenant, "rule_id": rule.id, "rule_name": rule.name, "severity": rule.severity,
        "transition": kind, "group": group, "labels": labels, "value": value,
        "threshold": rule.condition.threshold, "op": rule.condition.op, "condition_type": rule.condition.type,
        "window_start": start, "window_end": window_end, "fired_at": fired_at, "query": rule.query,
        "link": search_link(rule, public_url, start, window_end), "created_at": now,
        # One PagerDuty alert / mail thread per incident: the same for its trigger and its resolve.
        "dedup_key": digest(rule.tenant, rule.id, group, fired_at if group != SUMMARY_GROUP else "summary"),
        "thread_id": digest(rule.tenant, rule.id, group, fired_at, n=40),
        "idempotency_key": digest(key, n=40),
    }
    n.update(extra)
    return n


def entry(n: dict[str, Any], rule: Rule, status: str, reason: str = "", only_test: bool = False) -> dict[str, Any]:
    channels = [{"index": i, "type": c.type, "status": "pending", "attempts": 0}
                for i, c in enumerate(rule.channels) if c.test or not only_test]
    if not channels and status == "pending":
        status, reason = "no-channels", "the rule has no channels"
    return {"key": n["key"], "tenant": n["tenant"], "rule_id": n["rule_id"], "group": n["group"],
            "transition": n["transition"], "window_end": n["window_end"], "status": status, "reason": reason,
            "attempts": 0, "next_attempt_at": n["created_at"], "created_at": n["created_at"],
            "notification": n, "channels": channels}


def outbox_entries(rule: Rule, transitions: list[Transition], silences: list[dict[str, Any]], now: int,
                   public_url: str) -> list[dict[str, Any]]:
    """Outbox entries for one evaluation's transitions (summaries included)."""
    out: list[dict[str, Any]] = []
    sendable: dict[str, list[tuple[Transition, dict[str, Any]]]] = {}
    for t in transitions:
        n = notification(rule, t.kind, t.group, t.labels, t.value, t.window_end, t.fired_at, now, public_url)
        status, reason = "pending", ""
        if not t.notify:
            status, reason = "suppressed", t.reason
        else:
            sid = silenced_by(silences, labels_of(rule, t.labels), now)
            if sid:
                status, reason = "silenced", f"silence {sid}"
        e = entry(n, rule, status, reason)
        out.append(e)
        if e["status"] == "pending":
            sendable.setdefault(t.kind, []).append((t, e))
    for kind, items in sendable.items():
        if len(items) <= rule.summary_over:
            continue
        for _, e in items:
            e["status"], e["reason"] = "summarised", f"{len(items)} groups {kind} in one window"
        ranked = sorted(items, key=lambda te: (te[0].value is None, -(te[0].value or 0)))
        groups = [{"group": t.group, "labels": t.labels, "value": t.value} for t, _ in ranked[:TOP_GROUPS]]
        window_end = items[0][0].window_end
        n = notification(rule, f"summary-{kind}", SUMMARY_GROUP, {}, None, window_end, window_end, now, public_url,
                         groups=groups, total_groups=len(items))
        out.append(entry(n, rule, "pending"))
    return out
