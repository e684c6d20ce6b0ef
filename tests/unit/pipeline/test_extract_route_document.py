"""Field extraction rules, retention-class routing and the nested ECS document."""

from __future__ import annotations

import pytest
from pipeline_testkit import make_event

from logharbor.config import ConfigError
from logharbor.envelope import RAW_FORMATS
from pipeline.document import to_document
from pipeline.parse.extract import ExtractConfig, ExtractStep
from pipeline.route import RouteConfig, RouteStep
from pipeline.rules import parse_rules

AUTH = "2026-01-19 10:30:00 ERROR [UserService] Failed to authenticate user john@example.com: invalid password"


def test_auth_failure_example_through_default_rules(default_chain) -> None:
    ev = default_chain.run([make_event(AUTH)]).kept[0]
    assert ev.doc["action"] == "authenticate"
    assert ev.doc["email"] == "john@example.com"
    assert ev.doc["reason"] == "invalid password"
    assert ev.doc["service.component"] == "UserService" and ev.doc["log.level"] == "ERROR"


def test_extract_rule_scoping_and_stop() -> None:
    step = ExtractStep(
        ExtractConfig(
            rules=[
                {"name": "only_billing", "source": "billing*", "pattern": r"amount=(?P<amount>\d+)"},
                {"name": "app_only", "format": "app", "pattern": r"took (?P<took_ms>\d+)ms", "stop": True},
                {"name": "after_stop", "pattern": r"(?P<never>took)"},
            ]
        )
    )
    ev = make_event(None, message="amount=5 took 12ms", source="web")
    ev.format = "app"
    doc = step.process(ev).doc
    assert "amount" not in doc and doc["took_ms"] == "12" and "never" not in doc
    ev2 = make_event(None, message="amount=5", source="billing-eu")
    assert step.process(ev2).doc["amount"] == "5"


@pytest.mark.parametrize(
    ("pattern", "error"),
    [(r"(?P<x>a+)+$", "nests quantifiers"), (r"no groups", "no named group"), (r"(?P<x>[a-", "does not compile")],
)
def test_extract_rejects_bad_patterns(pattern: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_rules(f"steps:\n  - type: extract\n    rules:\n      - name: r\n        pattern: '{pattern}'\n")


@pytest.mark.parametrize(
    ("level", "source", "meta", "expected"),
    [
        ("ERROR", "api", {}, "errors"),
        ("FATAL", "api", {}, "errors"),
        ("DEBUG", "api", {}, "debug"),
        ("INFO", "api", {}, "standard"),
        ("WARN", "api", {}, "standard"),
        (None, "api", {}, "standard"),
        ("ERROR", "audit", {}, "audit"),
        ("INFO", "iam-audit", {}, "audit"),
        ("INFO", "api", {"audit": True}, "audit"),
    ],
)
def test_default_routes(level, source, meta, expected) -> None:
    ev = make_event(None, message="m", level=level, source=source, meta=meta)
    assert RouteStep(RouteConfig()).process(ev).retention_class == expected


def test_route_rules_configurable() -> None:
    step = RouteStep(RouteConfig(rules=[{"retention_class": "audit", "field": "event.category", "equals": "iam"}]))
    ev = make_event(None, message="m", level="ERROR")
    ev.doc["event.category"] = "iam"
    assert step.process(ev).retention_class == "audit"


def test_route_unknown_class_fails_at_build() -> None:
    with pytest.raises(ConfigError, match="unknown retention class 'forever'"):
        RouteConfig(default_class="forever").build(None)  # type: ignore[arg-type]


def test_document_nesting_and_conflicts(default_chain) -> None:
    line = '192.168.1.1 - - [19/Jan/2026:10:30:00 +0000] "GET /api/users HTTP/1.1" 200 1234 "-" "Mozilla/5.0"'
    doc = to_document(default_chain.run([make_event(line)]).kept[0])
    assert doc["@timestamp"] == "2026-01-19T10:30:00.000Z"
    assert doc["client"]["ip"] == "192.168.1.1"
    assert doc["http"]["request"]["method"] == "GET"
    assert doc["http"]["response"] == {"status_code": 200, "body": {"bytes": 1234}}
    assert doc["url"]["path"] == "/api/users"
    assert doc["user_agent"]["original"] == "Mozilla/5.0"
    # one copy of the line: event.original only where it differs from message (issue 13)
    assert doc["message"] == line and "original" not in doc["event"] and doc["event"]["id"] == "ev-1"
    assert doc["labels"]["tenant"] == "acme"

    ev = make_event(None, message="m", fields={"user": "bob", "_id": "x"})
    ev.doc["user.id"] = "7"
    ev.tag("parse_failure")
    nested = to_document(ev)
    assert nested["user"] == {"value": "bob", "id": "7"}
    assert nested["fields"] == {"_id": "x"} and "_id" not in nested  # a name outside ECS: under fields.*
    assert nested["tags"] == ["parse_failure"]


def test_document_uses_the_vocabulary_and_key_values_last() -> None:
    ev = make_event(None, message="m", fields={
        "status": "503", "response_time": 5000, "user_email": "a@gmail.com", "query_type": "database",
        "request": {"headers": {"authorization": "Bearer x"}}, "statusCode": "OK",
    })
    ev.doc["event.business_hours"] = True
    ev.doc["service.name.hidden"] = 1  # a step (or old data) trying to shadow the key's service
    doc = to_document(ev)
    assert doc["http"]["response"]["status_code"] == 503
    assert doc["logharbor"]["duration_ms"] == 5000 and doc["logharbor"]["business_hours"] is True
    assert doc["user"]["email"] == "a@gmail.com"
    assert doc["fields"]["query_type"] == "database"
    assert doc["fields"]["request"]["headers"]["authorization"] == "Bearer x"
    assert doc["_malformed"] == "statusCode='OK'"  # the odd value kept, searchable; the event stored
    assert doc["service"]["name"] == ev.envelope.source and doc["labels"]["tenant"] == ev.envelope.tenant
    assert doc["event"]["ingested"] == ev.envelope.received_at


@pytest.mark.parametrize("hint", sorted(RAW_FORMATS))
def test_every_hint_the_gateway_accepts_is_processed(default_chain, hint: str) -> None:
    """A hint the gateway lets through (postgres, mysql, mongodb ...) never breaks the pipeline."""
    line = '2026-01-19 10:30:00.123 UTC [42] LOG:  duration: 12.5 ms  statement: SELECT 1'
    result = default_chain.run([make_event(line, fmt=hint)])
    assert len(result.kept) == 1
    doc = to_document(result.kept[0])
    assert line in (doc.get("event", {}).get("original"), doc["message"])  # the line, stored once


def test_document_keeps_event_original_only_where_it_differs(default_chain) -> None:
    line = '{"message": "user login ok", "level": "info"}'
    doc = to_document(default_chain.run([make_event(line)]).kept[0])
    assert doc["message"] == "user login ok" and doc["event"]["original"] == line
