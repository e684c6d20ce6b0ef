"""Alert channels against real local receivers, through the real outbox in OpenSearch.

A rule with Slack, PagerDuty, webhook and email channels fires and resolves; the sender claims
the outbox entries and delivers: Slack gets text + blocks, PagerDuty a trigger and a resolve
with the same dedup_key, the webhook a body whose X-LogHarbor-Signature verifies (after a 429
with Retry-After, honoured), and the aiosmtpd server two mails over STARTTLS, the resolve
threaded on the firing. Every attempt is in the delivery log; no secret comes back in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import hashlib
import hmac

import pytest
from alert_support import Receivers, SmtpServer, cleanup_alerting

from alerting import manage
from alerting.evaluator import Context
from alerting.notify import outbox_entries
from alerting.rules import Rule
from alerting.sender import Sender
from alerting.settings import AlertingSettings
from alerting.state import RuleState, advance
from logharbor.config import OpenSearchSettings
from opensearch.client import async_client

pytestmark = pytest.mark.integration
SECRET = "whsec-test-0123456789"


async def test_every_channel_speaks_its_protocol(os_url, unique_tenant, tmp_path):
    receivers = await Receivers().start()
    smtp = SmtpServer(tmp_path).start()
    client = async_client(OpenSearchSettings(url=os_url))
    settings = AlertingSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="starttls",
                                smtp_ca_file=str(smtp.cert), smtp_from="LogHarbor <lh@example.org>",
                                backoff_initial_s=0.2, sender_poll_s=0.2, public_url="http://ui.example")
    ctx = Context(client, settings)
    stop = asyncio.Event()
    sender = Sender(ctx)
    task = asyncio.create_task(sender.run(stop))
    try:
        receivers.throttle["/hook"] = 1
        created = await manage.create_rule(ctx, unique_tenant, {
            "name": "API errors", "query": "level:ERROR", "severity": "critical",
            "condition": {"type": "count", "op": ">", "threshold": 100, "group_by": ["service.name"]},
            "channels": [{"type": "slack", "url": receivers.url("/slack/T000/B000/XXXXSECRET")},
                         {"type": "pagerduty", "routing_key": "R0UTINGKEY", "url": receivers.url("/pd")},
                         {"type": "webhook", "url": receivers.url("/hook"), "secret": SECRET},
                         {"type": "email", "to": ["oncall@example.org"]}]})
        shown = str(created) + str(await manage.get_rule(ctx, unique_tenant, created["id"]))
        shown += str(await manage.list_rules(ctx, unique_tenant))
        for secret in ("XXXXSECRET", "R0UTINGKEY", SECRET):
            assert secret not in shown
        rule = Rule.model_validate(await ctx.rules.get(unique_tenant, created["id"]))
        state = RuleState(rule.id, rule.tenant)
        now = ctx.now()
        end1, end2 = now - now % 60_000, now - now % 60_000 + 60_000
        fire = outbox_entries(rule, advance(rule, state, {"service.name=api": ({"service.name": "api"}, 130.0)}, end1),
                              [], now, settings.public_url)
        assert await ctx.outbox.create_many(fire) == [True]
        assert await ctx.outbox.create_many(fire) == [False]  # the same transition again: nothing new
        sender.wake.set()
        await receivers.wait("/pd", 1)
        await receivers.wait("/hook", 1, within_s=30)
        resolve = outbox_entries(rule, advance(rule, state, {}, end2), [], ctx.now(), settings.public_url)
        await ctx.outbox.create_many(resolve)
        sender.wake.set()
        for path in ("/slack/T000/B000/XXXXSECRET", "/pd", "/hook"):
            await receivers.wait(path, 2)
        deadline = asyncio.get_running_loop().time() + 30
        while len(smtp.handler.messages) < 2:
            assert asyncio.get_running_loop().time() < deadline, "mail not received"
            await asyncio.sleep(0.1)

        slack = [r.json() for r in receivers.at("/slack/T000/B000/XXXXSECRET")]
        assert slack[0]["text"] == "[FIRING] API errors (service.name=api): count 130 > 100"
        assert slack[1]["text"].startswith("[RESOLVED] API errors (service.name=api)")
        assert {b["type"] for b in slack[0]["blocks"]} >= {"section", "actions", "context"}

        pd = [r.json() for r in receivers.at("/pd")]
        assert [p["event_action"] for p in pd] == ["trigger", "resolve"]
        assert pd[0]["dedup_key"] == pd[1]["dedup_key"] and pd[0]["routing_key"] == "R0UTINGKEY"
        assert pd[0]["payload"]["severity"] == "critical" and pd[0]["payload"]["summary"].startswith("[FIRING]")

        hooks = receivers.at("/hook")
        throttled = [r for r in receivers.requests if r.path == "/hook#429"]
        assert len(throttled) == 1 and hooks[0].at - throttled[0].at >= 0.9  # Retry-After: 1 honoured
        for r in hooks:
            expected = "sha256=" + hmac.new(SECRET.encode(), r.body, hashlib.sha256).hexdigest()
            assert r.headers["X-LogHarbor-Signature"] == expected
        assert hooks[0].headers["Idempotency-Key"] == throttled[0].headers["Idempotency-Key"]  # stable across retry
        assert hooks[0].headers["Idempotency-Key"] != hooks[1].headers["Idempotency-Key"]
        assert [r.json()["transition"] for r in hooks] == ["firing", "resolved"]

        mails = [email.message_from_bytes(m[2]) for m in smtp.handler.messages]
        assert all(m[3] for m in smtp.handler.messages), "mail was not sent over STARTTLS"
        assert smtp.handler.messages[0][1] == ["oncall@example.org"]
        assert mails[1]["In-Reply-To"] == mails[0]["Message-ID"] and mails[1]["Subject"] == "Re: " + mails[0]["Subject"]

        for _ in range(50):
            hist = await manage.history(ctx, unique_tenant, rule.id)
            if {n["status"] for n in hist["notifications"]} == {"sent"} and len(hist["deliveries"]) >= 9:
                break
            await asyncio.sleep(0.2)
        assert [n["status"] for n in hist["notifications"]] == ["sent", "sent"]
        failed = [d for d in hist["deliveries"] if not d["ok"]]
        assert len(failed) == 1 and failed[0]["http_status"] == 429 and failed[0]["channel"] == "webhook"
        assert len(hist["deliveries"]) == 9  # 4 channels × 2 transitions + the 429
        assert "XXXXSECRET" not in str(hist) and SECRET not in str(hist)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        with contextlib.suppress(Exception):
            await manage.delete_rule(ctx, unique_tenant, created["id"])
        await cleanup_alerting(client, unique_tenant)
        await client.close()
        await receivers.stop()
        smtp.stop()


async def test_email_over_implicit_tls_and_a_refused_plaintext_server(tmp_path):
    import aiohttp

    from alerting.channels import DeliveryError, SendContext, send
    from alerting.notify import notification
    from alerting.rules import Channel

    smtp = SmtpServer(tmp_path, implicit_tls=True).start()
    rule = Rule.model_validate({"id": "r1", "tenant": "t", "name": "tls mail", "condition": {"threshold": 1}})
    n = notification(rule, "firing", "*", {}, 5.0, 60_000, 60_000, 60_000, "http://ui")
    ch = Channel(type="email", to=["a@example.org", "b@example.org"])
    try:
        async with aiohttp.ClientSession() as session:
            tls = AlertingSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="tls",
                                   smtp_ca_file=str(smtp.cert))
            assert "2 recipient" in await send(ch, n, SendContext(session, tls))
            assert smtp.handler.messages[0][1] == ["a@example.org", "b@example.org"] and smtp.handler.messages[0][3]
            # Speaking plaintext to a TLS port fails as a retryable delivery error, not a crash.
            plain = AlertingSettings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
                                     send_timeout_s=3)
            with pytest.raises(DeliveryError) as exc:
                await send(ch, n, SendContext(session, plain))
            assert not exc.value.permanent
    finally:
        smtp.stop()
