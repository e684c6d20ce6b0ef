"""Generic webhook: the notification as JSON, signed and idempotent.

Headers: ``X-LogHarbor-Signature: sha256=<hex HMAC-SHA256 of the exact body with the channel's
secret>``, ``Idempotency-Key`` (stable across retries of one notification, so a receiver can drop
repeats), ``X-LogHarbor-Event`` (the transition) and ``X-LogHarbor-Timestamp``.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

from alerting.channels.base import SendContext, headline, post_json
from alerting.rules import Channel

PUBLIC_FIELDS = ("key", "tenant", "rule_id", "rule_name", "severity", "transition", "group", "labels", "value",
                 "threshold", "op", "condition_type", "window_start", "window_end", "fired_at", "query", "link",
                 "groups", "total_groups", "dedup_key", "event", "created_at")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(n: dict[str, Any]) -> bytes:
    doc = {k: n[k] for k in PUBLIC_FIELDS if k in n}
    doc["summary"] = headline(n)
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


async def send_webhook(channel: Channel, n: dict[str, Any], ctx: SendContext) -> str:
    assert channel.url
    body = webhook_body(n)
    headers = {"Idempotency-Key": n["idempotency_key"], "X-LogHarbor-Event": n["transition"],
               "X-LogHarbor-Timestamp": str(n["created_at"])}
    if channel.secret:
        headers["X-LogHarbor-Signature"] = sign(channel.secret, body)
    return await post_json(ctx, channel.url, None, headers=headers, raw=body)
