"""Channel payloads: Slack blocks, PagerDuty v2 trigger/resolve, webhook signature, threaded mail."""

from __future__ import annotations

import hashlib
import hmac

from alerting.channels.base import retry_after_s
from alerting.channels.email import build_message
from alerting.channels.pagerduty import pagerduty_payload
from alerting.channels.slack import slack_payload
from alerting.channels.webhook import sign, webhook_body
from alerting.notify import notification
from alerting.rules import Channel, Rule
from alerting.settings import AlertingSettings

R = Rule.model_validate({"id": "r1", "tenant": "acme", "name": "API errors", "query": "level:ERROR",
                         "severity": "critical", "condition": {"threshold": 100}})


def n(kind: str, end: int = 120_000):
    return notification(R, kind, "service.name=api", {"service.name": "api"}, 130.0, end, 60_000, end, "http://ui")


def test_slack_has_text_blocks_and_a_search_button():
    p = slack_payload(n("firing"))
    assert p["text"] == "[FIRING] API errors (service.name=api): count 130 > 100"
    assert p["blocks"][0]["type"] == "section"
    assert p["blocks"][2]["elements"][0]["url"].startswith("http://ui/search?q=level%3AERROR")


def test_pagerduty_trigger_and_resolve_share_the_dedup_key():
    ch = Channel(type="pagerduty", routing_key="rk")
    trig, res = pagerduty_payload(ch, n("firing")), pagerduty_payload(ch, n("resolved", 240_000))
    assert trig["event_action"] == "trigger" and res["event_action"] == "resolve"
    assert trig["dedup_key"] == res["dedup_key"] and len(trig["dedup_key"]) == 32
    assert trig["payload"]["severity"] == "critical" and trig["payload"]["source"] == "logharbor"
    assert "payload" not in res


def test_webhook_signature_is_hmac_sha256_of_the_body():
    body = webhook_body(n("firing"))
    assert sign("k", body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()


def test_resolve_mail_replies_to_the_firing_mail():
    s = AlertingSettings(smtp_from="lh@example.org")
    ch = Channel(type="email", to=["oncall@example.org"])
    fire, res = build_message(ch, n("firing"), s), build_message(ch, n("resolved", 240_000), s)
    assert res["In-Reply-To"] == fire["Message-ID"] and res["Subject"] == "Re: " + fire["Subject"]


def test_retry_after_parsing():
    assert retry_after_s("7") == 7.0 and retry_after_s(None) is None and retry_after_s("garbage") is None
