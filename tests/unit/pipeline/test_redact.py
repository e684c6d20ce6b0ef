"""Redaction rules: secrets in key=value and JSON, cards (keyed and Luhn), tokens, extras."""

from __future__ import annotations

import pytest
from pipeline_testkit import make_event

from pipeline.redact import RedactConfig, RedactStep, luhn_ok, mask_card


@pytest.fixture
def redactor() -> RedactStep:
    return RedactStep(RedactConfig())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login password=hunter2 user=bob", "login password=[REDACTED] user=bob"),
        ("db_password: s3cr3t;", "db_password: [REDACTED];"),
        ('{"user": "bob", "password": "hunter2", "n": 1}', '{"user": "bob", "password": "[REDACTED]", "n": 1}'),
        ("client_secret='abc def'", "client_secret='[REDACTED]'"),
        ("GET /cb?code=1&access_token=xyz123&x=2", "GET /cb?code=1&access_token=[REDACTED]&x=2"),
        ("password=[REDACTED] already", "password=[REDACTED] already"),
        ("card=4532-1111-2222-3333", "card=****-****-****-3333"),
        ('"card_number": "4532111122223333"', '"card_number": "************3333"'),
        ("paid with 4111 1111 1111 1111 today", "paid with **** **** **** 1111 today"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abcdefgh", "Authorization: Bearer [REDACTED]"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNzd29yZA=='", "curl -H 'Authorization: Basic [REDACTED]'"),
        ("using key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "using key [REDACTED]"),
        ("aws AKIAIOSFODNN7EXAMPLE", "aws [REDACTED]"),
    ],
)
def test_text_rules(redactor: RedactStep, text: str, expected: str) -> None:
    assert redactor.redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567890123 shipped",  # 13 digits, fails Luhn
        "order 4532111122223334 shipped",  # card-like but fails Luhn
        "at 1768818600000 ms",  # epoch millis: starts with 1, never a card here
        "ip 10.20.30.40 port 8080",
        "nothing secret here, token count is fine",
    ],
)
def test_innocent_text_survives(redactor: RedactStep, text: str) -> None:
    assert redactor.redact_text(text) == text


def test_luhn_and_mask() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert mask_card("4532-1111-2222-3333") == "****-****-****-3333"


def test_fields_named_like_secrets_and_cards(redactor: RedactStep) -> None:
    ev = make_event(
        None,
        message="m",
        fields={
            "password": "pw",
            "api_key": 12345,
            "card": "4532-1111-2222-3333",
            "nested": {"secret": "x", "ok": "fine"},
            "count": 3,
        },
    )
    doc = redactor.process(ev).doc
    assert doc["password"] == "[REDACTED]" and doc["api_key"] == "[REDACTED]"
    assert doc["card"] == "****-****-****-3333"
    assert doc["nested.secret"] == "[REDACTED]" and doc["nested.ok"] == "fine" and doc["count"] == 3
    assert doc["event.id"] == "ev-1"


def test_extra_patterns_emails() -> None:
    step = RedactStep(
        RedactConfig(
            patterns=[{"name": "email", "pattern": r"[\w.+-]++@[\w-]++(?:\.[\w-]++)++", "replacement": "[EMAIL]"}]
        )
    )
    assert step.redact_text("mail john.doe@example.com now") == "mail [EMAIL] now"


def test_toggles() -> None:
    step = RedactStep(RedactConfig(cards=False, secrets=False))
    assert step.redact_text("password=x card=4532-1111-2222-3333") == "password=x card=4532-1111-2222-3333"


def test_gate_memo_per_digit_skeleton_still_reads_each_lines_digits(redactor: RedactStep) -> None:
    # Same skeleton (only digits differ): the memoised gate lets both through, the search and
    # Luhn still decide per line — a card is masked, a near-miss or an epoch survives.
    lines = ["paid 4111 1111 1111 1111 ok", "paid 4111 1111 1111 1112 ok", "paid 1111 1111 1111 1111 ok",
             "paid 4111 1111 1111 1111 ok"]
    assert [redactor.redact_text(x) for x in lines] == [
        "paid **** **** **** 1111 ok", lines[1], lines[2], "paid **** **** **** 1111 ok"]
    assert len(redactor._gate_cache or {}) >= 1
    # A secret word holding a digit would be hidden by the skeleton: no memo then.
    digit_word = RedactStep(RedactConfig(secret_words=["pin2"]))
    assert digit_word._gate_cache is None
    assert digit_word.redact_text("pin2=1234 pin3=5678") == "pin2=[REDACTED] pin3=5678"
