"""Notification channels: each speaks its receiver's real protocol (see docs/ALERTS.md).

``send(channel, notification, ctx)`` delivers one notification to one channel or raises
:class:`DeliveryError` saying whether and when to retry. Channels never log a secret.
"""

from __future__ import annotations

from typing import Any

from alerting.channels.base import DeliveryError, SendContext
from alerting.rules import Channel


async def send(channel: Channel, notification: dict[str, Any], ctx: SendContext) -> str:
    """Deliver to one channel; returns a short status text for the delivery log."""
    sealed = channel.sealed_fields()
    if sealed:  # permanent: retrying with the same keys cannot help
        raise DeliveryError(f"channel {', '.join(sealed)} cannot be decrypted with this host's secret keys "
                            "(LOGHARBOR_SECRET_KEYS / LOGHARBOR_SECRET_KEY_FILE must match the process that "
                            "stored the rule; or re-enter the secret)", permanent=True)
    if channel.type == "slack":
        from alerting.channels.slack import send_slack

        return await send_slack(channel, notification, ctx)
    if channel.type == "pagerduty":
        from alerting.channels.pagerduty import send_pagerduty

        return await send_pagerduty(channel, notification, ctx)
    if channel.type == "webhook":
        from alerting.channels.webhook import send_webhook

        return await send_webhook(channel, notification, ctx)
    from alerting.channels.email import send_email

    return await send_email(channel, notification, ctx)


__all__ = ["DeliveryError", "SendContext", "send"]
