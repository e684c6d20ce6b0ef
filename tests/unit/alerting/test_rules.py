"""Rule validation (errors name the field), secret masking and merging, durations."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from alerting.channels import send
from alerting.channels.base import DeliveryError
from alerting.rules import MASK, Rule, merge_secrets, open_channels, parse_duration, public_rule, seal_channels
from logharbor.secretbox import SecretBox


def test_durations():
    assert parse_duration("90s") == 90 and parse_duration("2m") == 120 and parse_duration("1.5h") == 5400
    with pytest.raises(ValueError, match="unit"):
        parse_duration("5 minutes")


@pytest.mark.parametrize("doc, field", [
    ({"name": "x", "query": "level:("}, "query"),
    ({"name": "x", "query": "level:ERROR last 15 minutes"}, "query"),
    ({"name": "x", "condition": {"type": "metric"}}, "condition"),
    ({"name": "x", "condition": {"window": "0s"}}, "condition.window"),
    ({"name": "x", "channels": [{"type": "slack"}]}, "channels.0"),
    ({"name": "x", "channels": [{"type": "pagerduty"}]}, "channels.0"),
    ({"name": "x", "schedule": {"cron": "not a cron"}}, "schedule"),
    ({"name": "x", "active": [{"days": "funday"}]}, "active"),
    ({"name": "x", "throttle": "soon"}, "throttle"),
    ({"name": "x", "bogus": 1}, "bogus"),
])
def test_invalid_rules_name_the_field(doc, field):
    with pytest.raises(ValidationError) as exc:
        Rule.model_validate(doc)
    locs = [".".join(str(p) for p in e["loc"]) for e in exc.value.errors()]
    assert any(loc.startswith(field) for loc in locs), locs


def test_secrets_are_masked_and_kept_on_update():
    doc = Rule.model_validate({"name": "x", "channels": [
        {"type": "slack", "url": "https://hooks.slack.com/services/T0/B0/SECRET"},
        {"type": "webhook", "url": "https://example.org/hook?token=abc", "secret": "s3cret"},
        {"type": "pagerduty", "routing_key": "R0UT1NG"}]}).to_doc()
    pub = public_rule(doc)
    text = str(pub)
    assert "SECRET" not in text and "s3cret" not in text and "R0UT1NG" not in text and "token=abc" not in text
    assert pub["channels"][0]["url"] == "https://hooks.slack.com/" + MASK
    merged = merge_secrets({"name": "y", "channels": pub["channels"]}, doc)
    assert merged["channels"][1]["secret"] == "s3cret" and merged["channels"][2]["routing_key"] == "R0UT1NG"
    assert "SECRET" not in repr(Rule.model_validate(doc).channels[0])


def test_for_alias_and_defaults():
    r = Rule.model_validate({"name": "x", "for": "2m", "query": "service:api"})
    assert r.for_s == 120 and r.to_doc()["for"] == "2m" and not r.streaming
    assert Rule.model_validate({"name": "m", "condition": {"type": "match"}}).streaming


def test_channel_secrets_sealed_at_rest_and_opened_for_the_sender():
    box = SecretBox([Fernet.generate_key()])
    doc = {"name": "x", "query": "*", "condition": {"type": "count", "threshold": 1},
           "channels": [{"type": "webhook", "url": "https://h.example/hook/PATH", "secret": "HMAC"},
                        {"type": "email", "to": ["a@example.com"]}]}
    stored = seal_channels(doc, box)
    assert "PATH" not in str(stored) and "HMAC" not in str(stored)
    assert stored["channels"][1] == doc["channels"][1]  # nothing secret: unchanged
    assert open_channels(stored, box) == doc
    Rule.model_validate(stored)  # a sealed rule still validates (evaluation goes on)


async def test_undecryptable_secret_stays_sealed_and_the_delivery_says_why():
    stored = seal_channels({"name": "x", "query": "*", "condition": {"type": "count", "threshold": 1},
                            "channels": [{"type": "webhook", "url": "https://h.example/hook"}]},
                           SecretBox([Fernet.generate_key()]))
    opened = open_channels(stored, SecretBox([Fernet.generate_key()]))  # another host's key
    rule = Rule.model_validate(opened)
    assert rule.channels[0].sealed_fields() == ["url"]
    with pytest.raises(DeliveryError, match="cannot be decrypted") as err:
        await send(rule.channels[0], {}, None)  # type: ignore[arg-type]
    assert err.value.permanent
