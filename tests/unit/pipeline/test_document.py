"""pipeline/document.py: flat fields → nested ECS document, conflicts, the vocabulary, key values last."""

from __future__ import annotations

from pipeline_testkit import make_event

from pipeline.document import to_document


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


def test_document_keeps_event_original_only_where_it_differs(default_chain) -> None:
    line = '{"message": "user login ok", "level": "info"}'
    doc = to_document(default_chain.run([make_event(line)]).kept[0])
    assert doc["message"] == "user login ok" and doc["event"]["original"] == line
