"""pipeline/default_rules.yaml through the chain: the examples of the issue (drop debug in production, health
checks, redaction, card masking) and every format hint the gateway accepts."""

from __future__ import annotations

import pytest
from pipeline_testkit import counter, make_event

from logharbor.envelope import RAW_FORMATS
from pipeline.document import to_document

PROD = {"environment": "production"}


def run(chain, event):
    result = chain.run([event])
    assert not result.failed, result.failed
    return result.kept[0] if result.kept else None


def test_debug_dropped_in_production(default_chain) -> None:
    before = counter("dropped_events", rule="production_min_level")
    ev = make_event("2026-01-19 10:30:00 DEBUG [Cache] warming keys", meta=PROD)
    assert run(default_chain, ev) is None
    assert counter("dropped_events", rule="production_min_level") == before + 1
    # the same line outside production is kept
    assert run(default_chain, make_event("2026-01-19 10:30:00 DEBUG [Cache] warming keys")) is not None


def test_healthcheck_dropped(default_chain) -> None:
    before = counter("dropped_events", rule="health_checks")
    line = '10.0.0.2 - - [19/Jan/2026:10:30:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"'
    assert run(default_chain, make_event(line)) is None
    assert counter("dropped_events", rule="health_checks") == before + 1


def test_failing_healthcheck_is_kept(default_chain) -> None:
    line = '10.0.0.2 - - [19/Jan/2026:10:30:00 +0000] "GET /health HTTP/1.1" 503 2 "-" "kube-probe/1.29"'
    assert run(default_chain, make_event(line)) is not None


def test_error_kept_in_production(default_chain) -> None:
    ev = run(
        default_chain, make_event("2026-01-19 10:30:00 ERROR [DatabaseService] Connection timeout after 30s", meta=PROD)
    )
    assert ev is not None and ev.doc["log.level"] == "ERROR" and ev.retention_class == "errors"


def test_password_redacted(default_chain) -> None:
    before = counter("redactions", rule="secret_kv")
    ev = run(default_chain, make_event("2026-01-19 10:30:00 WARN [Auth] login attempt user=bob password=hunter2"))
    assert ev.doc["message"] == "login attempt user=bob password=[REDACTED]"
    assert "hunter2" not in ev.doc["event.original"]
    assert counter("redactions", rule="secret_kv") >= before + 2


def test_card_masked(default_chain) -> None:
    ev = run(default_chain, make_event("2026-01-19 10:30:00 INFO [Billing] charge card=4532-1111-2222-3333 ok"))
    assert ev.doc["message"] == "charge card=****-****-****-3333 ok"


AUTH = "2026-01-19 10:30:00 ERROR [UserService] Failed to authenticate user john@example.com: invalid password"


def test_auth_failure_example_through_default_rules(default_chain) -> None:
    ev = default_chain.run([make_event(AUTH)]).kept[0]
    assert ev.doc["action"] == "authenticate"
    assert ev.doc["email"] == "john@example.com"
    assert ev.doc["reason"] == "invalid password"
    assert ev.doc["service.component"] == "UserService" and ev.doc["log.level"] == "ERROR"


@pytest.mark.parametrize("hint", sorted(RAW_FORMATS))
def test_every_hint_the_gateway_accepts_is_processed(default_chain, hint: str) -> None:
    """A hint the gateway lets through (postgres, mysql, mongodb ...) never breaks the pipeline."""
    line = '2026-01-19 10:30:00.123 UTC [42] LOG:  duration: 12.5 ms  statement: SELECT 1'
    result = default_chain.run([make_event(line, fmt=hint)])
    assert len(result.kept) == 1
    doc = to_document(result.kept[0])
    assert line in (doc.get("event", {}).get("original"), doc["message"])  # the line, stored once
