"""Slack incoming webhook: ``{"text", "blocks"}`` (a header, the details, a button to the search)."""

from __future__ import annotations

from typing import Any

from alerting.channels.base import SendContext, detail_lines, headline, post_json
from alerting.rules import Channel


def slack_payload(n: dict[str, Any]) -> dict[str, Any]:
    text = headline(n)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(detail_lines(n)[:-1] if n.get("link")
                                                                          else detail_lines(n))}},
    ]
    if n.get("link"):
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in LogHarbor"}, "url": n["link"]}]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"LogHarbor · {n['key']}"}]})
    return {"text": text, "blocks": blocks}


async def send_slack(channel: Channel, n: dict[str, Any], ctx: SendContext) -> str:
    assert channel.url
    return await post_json(ctx, channel.url, slack_payload(n))
