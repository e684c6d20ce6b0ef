"""Email over SMTP (stdlib smtplib in a thread): STARTTLS or implicit TLS, threaded resolve.

The firing mail's ``Message-ID`` is derived from the incident (rule, group, fired window); the
resolve mail answers it (``In-Reply-To``/``References``, subject ``Re: …``) so mail clients show
one thread per incident. Server, credentials and TLS mode are settings, not rule fields, so a
rule author never handles the SMTP password.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from alerting.channels.base import DeliveryError, SendContext, detail_lines, headline
from alerting.rules import Channel
from alerting.settings import AlertingSettings


def build_message(channel: Channel, n: dict[str, Any], settings: AlertingSettings) -> EmailMessage:
    msg = EmailMessage()
    thread = f"<{n['thread_id']}@{settings.smtp_message_domain}>"
    # One subject per incident (no value in it), so the resolve threads under the firing mail.
    group = "" if n.get("group") in (None, "*") else f" ({n['group']})"
    subject = f"[{n.get('severity', 'warning').upper()}] {n['rule_name']}{group}"
    if n["transition"] not in ("firing", "resolved", "repeat"):
        subject = headline(n)
    if n["transition"].endswith("resolved") or n["transition"] == "repeat":
        msg["Subject"] = "Re: " + subject
        msg["Message-ID"] = f"<{n['idempotency_key']}@{settings.smtp_message_domain}>"
        msg["In-Reply-To"] = thread
        msg["References"] = thread
    else:
        msg["Subject"] = subject
        own = f"<{n['idempotency_key']}@{settings.smtp_message_domain}>"
        msg["Message-ID"] = thread if n["transition"] != "test" else own
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(channel.to)
    msg["Date"] = formatdate(localtime=False)
    msg["X-LogHarbor-Key"] = n["key"]
    body = headline(n) + "\n\n" + "\n".join(detail_lines(n)) + "\n"
    msg.set_content(body)
    return msg


def _send_sync(msg: EmailMessage, settings: AlertingSettings) -> None:
    ctx = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
    if not settings.smtp_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    timeout = settings.send_timeout_s
    if settings.smtp_security == "tls":
        server: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=timeout, context=ctx)
    else:
        server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        server.ehlo()
        if settings.smtp_security == "starttls":
            server.starttls(context=ctx)
            server.ehlo()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            server.login(settings.smtp_username, password)
        server.send_message(msg)
    finally:
        try:
            server.quit()
        except smtplib.SMTPException:
            server.close()


async def send_email(channel: Channel, n: dict[str, Any], ctx: SendContext) -> str:
    if not ctx.settings.smtp_host:
        raise DeliveryError("no SMTP server configured (alerting.smtp_host)", permanent=True)
    msg = build_message(channel, n, ctx.settings)
    try:
        await asyncio.to_thread(_send_sync, msg, ctx.settings)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.smtp_code}", permanent=500 <= exc.smtp_code < 600) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None
    return f"SMTP accepted for {len(channel.to)} recipient(s)"
