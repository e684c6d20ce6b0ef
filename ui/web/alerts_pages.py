"""Alert pages: the rules list, the four-step builder, one rule (state, history, silence, ack, test).

Server-rendered over :mod:`alerting.manage` — the same calls ``/api/v1/alerts*`` makes, so each
page names its JSON twin. The builder's live preview and the overview's active-alerts panel are
``static/alerts.js`` calling ``/api/v1/alerts/preview`` and ``/api/v1/alerts/active``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from alerting import manage
from alerting.evaluator import Context
from alerting.settings import AlertingSettings
from ui.errors import ApiError
from ui.http import SERVICE
from ui.web.render import render
from ui.web.sessions import require_session, signed_form
from ui.web.state import opensearch_as_503

CHANNEL_TYPES = ("webhook", "slack", "pagerduty", "email")


def _ctx(request: web.Request) -> Context:
    return Context(request.app[SERVICE].client, AlertingSettings())


async def _call(coro: Any) -> Any:
    try:
        with opensearch_as_503("alerting unavailable"):
            return await coro
    except manage.AlertError as exc:
        raise ApiError(exc.status, str(exc)) from None


async def alerts_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    ctx = _ctx(request)
    rules = await _call(manage.list_rules(ctx, session.tenant))
    silences = await _call(manage.list_silences(ctx, session.tenant))
    return await render(request, "alerts.html", rules=rules, silences=silences, now=ctx.now())


async def builder_page(request: web.Request) -> web.StreamResponse:
    await require_session(request, admin=True)
    return await render(request, "alert_builder.html", channel_types=CHANNEL_TYPES, error=None, form={})


def rule_from_form(form: Any) -> dict[str, Any]:
    """The builder's four steps → a rule document (validated by alerting.rules on save)."""
    def num(name: str, default: float) -> float:
        try:
            return float(form.get(name) or default)
        except ValueError:
            raise ApiError(400, f"{name}: a number is required") from None

    kind = str(form.get("type") or "count")
    cond: dict[str, Any] = {"type": kind, "op": str(form.get("op") or ">"), "threshold": num("threshold", 0),
                            "window": str(form.get("window") or "1m")}
    group_by = [g.strip() for g in str(form.get("group_by") or "").split(",") if g.strip()]
    if group_by:
        cond["group_by"] = group_by
    if kind == "metric":
        cond["metric"] = {"agg": str(form.get("agg") or "avg"), "field": str(form.get("metric_field") or "")}
    channel: dict[str, Any] = {"type": str(form.get("channel_type") or "webhook")}
    target = str(form.get("channel_target") or "").strip()
    if channel["type"] == "email":
        channel["to"] = [a.strip() for a in target.split(",") if a.strip()]
    elif channel["type"] == "pagerduty":
        channel["routing_key"] = target
    else:
        channel["url"] = target
    if form.get("channel_secret"):
        channel["secret"] = str(form.get("channel_secret"))
    active = str(form.get("active") or "always")
    return {"name": str(form.get("name") or "").strip(), "query": str(form.get("q") or ""), "condition": cond,
            "for": str(form.get("for") or "0s"), "schedule": {"every": str(form.get("every") or "1m")},
            "active": active if active in ("always", "business_hours") else "always",
            "throttle": str(form.get("throttle") or "0s"), "severity": str(form.get("severity") or "warning"),
            "channels": [channel] if target else []}


async def builder_save(request: web.Request) -> web.StreamResponse:
    session, form = await signed_form(request, admin=True)
    doc = rule_from_form(form)
    try:
        with opensearch_as_503("alerting unavailable"):
            rule = await manage.create_rule(_ctx(request), session.tenant, doc)
    except manage.AlertError as exc:
        return await render(request, "alert_builder.html", status=exc.status, channel_types=CHANNEL_TYPES,
                            error=str(exc), form=dict(form))
    raise web.HTTPSeeOther(f"/alerts/{rule['id']}")


async def rule_page(request: web.Request) -> web.StreamResponse:
    session = await require_session(request)
    ctx = _ctx(request)
    rid = request.match_info["id"]
    rule = await _call(manage.get_rule(ctx, session.tenant, rid))
    hist = await _call(manage.history(ctx, session.tenant, rid, 50))
    return await render(request, "alert_rule.html", rule=rule, history=hist, now=ctx.now())


async def silence_form(request: web.Request) -> web.StreamResponse:
    session, form = await signed_form(request, admin=True)
    rid = request.match_info["id"]
    matchers = [{"name": "rule_id", "value": rid}]
    if form.get("group") and form.get("group") != "*":
        for part in str(form.get("group")).split(","):
            name, _, value = part.partition("=")
            matchers.append({"name": name, "value": value})
    await _call(manage.create_silence(_ctx(request), session.tenant, {
        "matchers": matchers, "duration": str(form.get("duration") or "1h"),
        "comment": str(form.get("comment") or "")}, session.key_id))
    raise web.HTTPSeeOther(f"/alerts/{rid}")


async def ack_form(request: web.Request) -> web.StreamResponse:
    session, form = await signed_form(request)
    rid = request.match_info["id"]
    await _call(manage.ack(_ctx(request), session.tenant, rid, session.key_id, form.get("group") or None))
    raise web.HTTPSeeOther(f"/alerts/{rid}")


async def test_form(request: web.Request) -> web.StreamResponse:
    session, _ = await signed_form(request, admin=True)
    rid = request.match_info["id"]
    await _call(manage.test_rule(_ctx(request), session.tenant, rid))
    raise web.HTTPSeeOther(f"/alerts/{rid}?tested=1")


async def delete_form(request: web.Request) -> web.StreamResponse:
    session, _ = await signed_form(request, admin=True)
    await _call(manage.delete_rule(_ctx(request), session.tenant, request.match_info["id"]))
    raise web.HTTPSeeOther("/alerts")


async def unsilence_form(request: web.Request) -> web.StreamResponse:
    session, _ = await signed_form(request, admin=True)
    await _call(manage.delete_silence(_ctx(request), session.tenant, request.match_info["id"]))
    raise web.HTTPSeeOther("/alerts")


ROUTES = [
    web.get("/alerts", alerts_page),
    web.get("/alerts/new", builder_page),
    web.post("/alerts/new", builder_save),
    web.get("/alerts/{id}", rule_page),
    web.post("/alerts/{id}/silence", silence_form),
    web.post("/alerts/{id}/ack", ack_form),
    web.post("/alerts/{id}/test", test_form),
    web.post("/alerts/{id}/delete", delete_form),
    web.post("/silences/{id}/delete", unsilence_form),
]
