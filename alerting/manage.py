"""Rule, silence and alert management — what the API, the pages and ``logharbor alerts`` call.

Every function takes the caller's tenant and only ever reads or writes that tenant's rules,
states, silences and history. Errors are :class:`AlertError` with an HTTP status and a message
naming the field; rules come back through :func:`alerting.rules.public_rule` (no secret in clear).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from alerting.evaluator import Context, ScheduledEvaluator
from alerting.notify import entry, notification
from alerting.rules import Rule, merge_secrets, parse_duration, public_rule
from alerting.state import RuleState
from opensearch.alerts_store import ensure_indices


class AlertError(ValueError):
    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or []


def _validate(doc: dict[str, Any]) -> Rule:
    try:
        return Rule.model_validate(doc)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]) or "rule", "error": e["msg"]} for e in exc.errors()]
        first = details[0] if details else {"field": "rule", "error": "invalid"}
        raise AlertError(400, f"{first['field']}: {first['error']}", details) from None


async def create_rule(ctx: Context, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise AlertError(400, "rule: expected a JSON object")
    await ensure_indices(ctx.client)
    body = {k: v for k, v in body.items() if k not in ("tenant", "created_at", "updated_at")}
    rule = _validate({**body, "tenant": tenant})
    if await ctx.rules.get(None, rule.id) is not None:
        raise AlertError(409, f"id: a rule with id {rule.id!r} exists")
    doc = rule.to_doc()
    doc["created_at"] = ctx.now()
    await ctx.rules.put(doc, create=True)
    return public_rule(doc)


async def update_rule(ctx: Context, tenant: str, rule_id: str, body: dict[str, Any]) -> dict[str, Any]:
    old = await ctx.rules.get(tenant, rule_id)
    if old is None:
        raise AlertError(404, f"no rule {rule_id!r}")
    if not isinstance(body, dict):
        raise AlertError(400, "rule: expected a JSON object")
    body = merge_secrets({k: v for k, v in body.items() if k not in ("tenant", "id", "updated_at")}, old)
    rule = _validate({**body, "id": rule_id, "tenant": tenant, "created_at": old.get("created_at")})
    doc = rule.to_doc()
    await ctx.rules.put(doc)
    return public_rule(doc)


async def get_rule(ctx: Context, tenant: str, rule_id: str) -> dict[str, Any]:
    doc = await ctx.rules.get(tenant, rule_id)
    if doc is None:
        raise AlertError(404, f"no rule {rule_id!r}")
    state, _ = await ctx.states.get(rule_id)
    return {**public_rule(doc), "state": _state_view(state)}


def _state_view(state: dict[str, Any] | None) -> dict[str, Any]:
    if not state:
        return {"state": "ok", "groups": [], "last_end": None, "error": None}
    rs = RuleState.from_doc(state)
    groups = [{"group": k, **g.to_doc()} for k, g in rs.groups.items() if g.state in ("pending", "firing")]
    return {"state": rs.summary(), "firing": sum(1 for g in groups if g["state"] == "firing"), "groups": groups[:100],
            "last_end": rs.last_end, "error": rs.error, "skipped_windows": rs.skipped_windows, "late": rs.late,
            "evaluated_at": rs.evaluated_at}


async def list_rules(ctx: Context, tenant: str) -> list[dict[str, Any]]:
    docs = await ctx.rules.list(tenant)
    states = await ctx.states.many(tenant)
    out = []
    for d in docs:
        view = _state_view(states.get(d["id"]))
        view.pop("groups")
        out.append({**public_rule(d), "state": view})
    return out


async def delete_rule(ctx: Context, tenant: str, rule_id: str) -> None:
    if not await ctx.rules.delete(tenant, rule_id):
        raise AlertError(404, f"no rule {rule_id!r}")


async def test_rule(ctx: Context, tenant: str, rule_id: str) -> dict[str, Any]:
    """Evaluate the latest window now and send a ``test`` notification to the channels marked test."""
    doc = await ctx.rules.get(tenant, rule_id)
    if doc is None:
        raise AlertError(404, f"no rule {rule_id!r}")
    rule = Rule.model_validate(doc)
    now = ctx.now()
    value: float | None = None
    error = None
    if not rule.streaming:
        ev = ScheduledEvaluator(ctx)
        state = RuleState(rule.id, rule.tenant)
        res = await ev.evaluate_into(rule, state, now)
        error = res.error
        values = [g.value for g in state.groups.values() if g.value is not None]
        value = max(values) if values else (0.0 if rule.condition.type == "count" else None)
    n = notification(rule, "test", "*", {}, value, now, now, now, ctx.settings.public_url)
    e = entry(n, rule, "pending", only_test=True)
    await ctx.outbox.create(e)
    return {"key": e["key"], "value": value, "error": error, "channels": [c["type"] for c in e["channels"]],
            "status": e["status"]}


async def ack(ctx: Context, tenant: str, rule_id: str, by: str, group: str | None = None) -> dict[str, Any]:
    """Acknowledge the rule's firing groups (or one): shown in the UI, cleared on resolve."""
    if await ctx.rules.get(tenant, rule_id) is None:
        raise AlertError(404, f"no rule {rule_id!r}")
    for _ in range(5):
        doc, version = await ctx.states.get(rule_id)
        if doc is None:
            raise AlertError(409, "the rule has no firing groups to acknowledge")
        rs = RuleState.from_doc(doc)
        acked = []
        for k, g in rs.groups.items():
            if g.state == "firing" and (group is None or k == group):
                g.acked, g.acked_by = True, by
                acked.append(k)
        if not acked:
            raise AlertError(409, "the rule has no firing groups to acknowledge")
        if await ctx.states.put(rule_id, rs.to_doc(), version):
            return {"acknowledged": acked, "by": by}
    raise AlertError(409, "the rule's state kept changing; try again")


async def active(ctx: Context, tenant: str) -> list[dict[str, Any]]:
    """Every pending or firing group of the tenant's rules, firing first."""
    rules = {d["id"]: d for d in await ctx.rules.list(tenant)}
    states = await ctx.states.many(tenant)
    silences = await ctx.silences.list(tenant, active_at=ctx.now())
    from alerting.notify import labels_of, silenced_by

    out = []
    for rid, st in states.items():
        if rid not in rules:
            continue
        rule = Rule.model_validate(rules[rid])
        rs = RuleState.from_doc(st)
        if rs.error:
            out.append({"rule_id": rid, "rule_name": rule.name, "severity": rule.severity, "group": "*",
                        "state": "error", "error": rs.error, "since": rs.error_since})
        for k, g in rs.groups.items():
            if g.state not in ("pending", "firing"):
                continue
            out.append({"rule_id": rid, "rule_name": rule.name, "severity": rule.severity, "group": k,
                        "labels": g.labels, "state": g.state, "since": g.since, "value": g.value,
                        "acked": g.acked, "acked_by": g.acked_by,
                        "silenced": silenced_by(silences, labels_of(rule, g.labels), ctx.now())})
    order = {"error": 0, "firing": 1, "pending": 2}
    out.sort(key=lambda a: (order[a["state"]], -(a.get("since") or 0)))
    return out


async def history(ctx: Context, tenant: str, rule_id: str, limit: int = 100) -> dict[str, Any]:
    if await ctx.rules.get(tenant, rule_id) is None:
        raise AlertError(404, f"no rule {rule_id!r}")
    entries = await ctx.outbox.history(tenant, rule_id, limit)
    attempts = await ctx.outbox.attempts(tenant, rule_id)
    return {"notifications": [{k: e.get(k) for k in ("key", "group", "transition", "window_end", "status", "reason",
                                                      "attempts", "created_at", "sent_at", "channels")}
                              for e in entries],
            "deliveries": attempts}


async def create_silence(ctx: Context, tenant: str, body: dict[str, Any], author: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise AlertError(400, "silence: expected a JSON object")
    matchers = body.get("matchers")
    if not isinstance(matchers, list) or not matchers or not all(
            isinstance(m, dict) and isinstance(m.get("name"), str) and "value" in m for m in matchers):
        raise AlertError(400, "matchers: a non-empty list of {\"name\": label, \"value\": v} is required "
                              "(labels: rule, rule_id, severity, rule labels, group fields)")
    if len(matchers) > 20:
        raise AlertError(400, "matchers: at most 20")
    now = ctx.now()
    starts = int(body.get("starts_at") or now)
    try:
        if body.get("ends_at"):
            ends = int(body["ends_at"])
        else:
            ends = starts + int(parse_duration(body.get("duration", "1h")) * 1000)
    except (ValueError, TypeError) as exc:
        raise AlertError(400, f"ends_at/duration: {exc}") from None
    if ends <= starts:
        raise AlertError(400, "ends_at: must be after starts_at")
    await ensure_indices(ctx.client)
    doc = {"id": uuid.uuid4().hex[:16], "tenant": tenant, "matchers": matchers, "starts_at": starts, "ends_at": ends,
           "author": str(body.get("author") or author)[:200], "comment": str(body.get("comment") or "")[:2000],
           "created_at": now}
    await ctx.silences.put(doc)
    return doc


async def list_silences(ctx: Context, tenant: str) -> list[dict[str, Any]]:
    return await ctx.silences.list(tenant)


async def delete_silence(ctx: Context, tenant: str, silence_id: str) -> None:
    if not await ctx.silences.delete(tenant, silence_id):
        raise AlertError(404, f"no silence {silence_id!r}")


async def preview(ctx: Context, tenant: str, query: str, hours: int = 6, interval: str = "10m") -> dict[str, Any]:
    """The builder's live preview: the query's counts over the last hours."""
    from opensearch.alerts_query import preview_search
    from opensearch.query import QuerySyntaxError

    try:
        Rule.model_validate({"name": "preview", "query": query})
    except ValidationError as exc:
        raise AlertError(400, f"q: {exc.errors()[0]['msg']}") from None
    end = ctx.now()
    start = end - hours * 3600_000
    streams = await ctx.resolver.streams(tenant)
    if not streams:
        return {"total": 0, "buckets": []}
    try:
        resp = await ctx.client.search(index=",".join(streams), body=preview_search(query, start, end, interval))
    except QuerySyntaxError as exc:
        raise AlertError(400, f"q: {exc}") from None
    return {"total": resp["hits"]["total"]["value"],
            "buckets": [{"t": b["key"], "count": b["doc_count"]} for b in resp["aggregations"]["t"]["buckets"]]}
