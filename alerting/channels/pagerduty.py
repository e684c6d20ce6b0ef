"""PagerDuty Events API v2: ``trigger`` on firing, ``resolve`` on resolved, one ``dedup_key`` per incident.

The dedup key is a hash of tenant, rule, group and the window the group fired in, so the
trigger, any retry of it and the resolve all name the same PagerDuty alert, and a later
incident of the same group opens a new one.
"""

from __future__ import annotations

from typing import Any

from alerting.channels.base import SendContext, headline, iso, post_json
from alerting.rules import Channel

DEFAULT_URL = "https://events.pagerduty.com/v2/enqueue"
_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def pagerduty_payload(channel: Channel, n: dict[str, Any]) -> dict[str, Any]:
    action = "resolve" if n["transition"] in ("resolved", "summary-resolved") else "trigger"
    body: dict[str, Any] = {"routing_key": channel.routing_key, "event_action": action, "dedup_key": n["dedup_key"]}
    if action == "trigger":
        body["payload"] = {
            "summary": headline(n)[:1024], "source": "logharbor",
            "severity": _SEVERITY.get(n.get("severity", ""), "warning"),
            "timestamp": iso(n.get("window_end") or n["created_at"]), "component": n.get("group"),
            "group": n.get("rule_name"), "class": n.get("condition_type"),
            "custom_details": {"query": n.get("query"), "value": n.get("value"), "threshold": n.get("threshold"),
                               "labels": n.get("labels"), "groups": n.get("groups")},
        }
        if n.get("link"):
            body["links"] = [{"href": n["link"], "text": "Open in LogHarbor"}]
        body["client"] = "LogHarbor"
    return body


async def send_pagerduty(channel: Channel, n: dict[str, Any], ctx: SendContext) -> str:
    url = channel.url or ctx.settings.pagerduty_url or DEFAULT_URL
    return await post_json(ctx, url, pagerduty_payload(channel, n))
