"""Elasticsearch _bulk parsing, ids, response items, filter_path and credentials (pure functions)."""

from __future__ import annotations

import base64

import pytest

from gateway.door import token_from_authorization
from gateway.es_bulk import BulkError, filter_path, item_body, parse_bulk

KW = {"tenant": "acme", "source": "web", "received_at": "2026-01-01T00:00:00.000000Z", "max_entry_bytes": 1000}


def _parse(body: bytes, index: str | None = None):
    return parse_bulk(body, default_index=index, **KW).items


def test_index_and_create_become_events_with_ids_and_flat_fields() -> None:
    items = _parse(
        b'{"index":{"_index":"app","_id":"abcdefgh-1","_type":"_doc"}}\n'
        b'{"@timestamp":"2026-01-02T00:00:00Z","message":"hi","log":{"level":"warn"},"host":{"name":"h1","ip":"1"},'
        b'"user":{"id":7}}\n{"create":{}}\n{"msg":"no id"}\n',
        index="fallback",
    )
    a, b = items
    assert a.event == {"timestamp": "2026-01-02T00:00:00Z", "message": "hi", "level": "warn", "host": "h1",
                       "fields": {"host": {"ip": "1"}, "user": {"id": 7}, "labels": {"es_index": "app"}},
                       "id": "abcdefgh-1"}
    assert b.index == "fallback" and b.event["timestamp"] == KW["received_at"] and b.event["message"] == "no id"
    assert b.id == b.event["id"] and len(b.id) == 32


def test_content_ids_are_deterministic_but_repeated_documents_stay_distinct() -> None:
    body = b'{"create":{"_index":"a"}}\n{"message":"same"}\n{"create":{"_index":"a"}}\n{"message":"same"}\n'
    first = [i.id for i in _parse(body)]
    assert first == [i.id for i in _parse(body)] and first[0] != first[1]
    short = _parse(b'{"index":{"_index":"a","_id":"1"}}\n{"message":"x"}\n')[0]
    assert short.id == "1" and short.event["id"] != "1" and len(short.event["id"]) == 32


def test_update_delete_bad_source_and_foreign_tenant_are_per_item() -> None:
    items = _parse(
        b'{"update":{"_index":"a","_id":"1"}}\n{"doc":{}}\n{"delete":{"_index":"a","_id":"2"}}\n'
        b'{"index":{"_index":"a"}}\nnot json\n{"index":{"_index":"logs-other-standard"}}\n{"message":"x"}\n'
        b'{"index":{"_index":"logs-acme-standard"}}\n{"message":"mine"}\n{"index":{}}\n{"message":"no index"}\n'
    )
    assert [(i.action, i.status) for i in items] == [
        ("update", 400), ("delete", 400), ("index", 400), ("index", 403), ("index", 201), ("index", 400)]
    assert "not supported" in items[0].error["reason"] and items[3].error["type"] == "security_exception"
    assert "labels" not in items[4].event.get("fields", {})


@pytest.mark.parametrize("body", [b"", b"\n\n", b"garbage\n{}\n", b'{"bogus":{}}\n{}\n', b'{"index":{}}\n'])
def test_malformed_action_lines_fail_the_request(body: bytes) -> None:
    with pytest.raises(BulkError):
        _parse(body, index="a")


def test_item_bodies_echo_the_action_in_order() -> None:
    items = _parse(b'{"create":{"_index":"a","_id":"abcdefgh"}}\n{"message":"x"}\n')
    assert item_body(items[0]) == {"create": {"_index": "a", "_id": "abcdefgh", "_version": 1, "result": "created",
                                              "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": 0,
                                              "_primary_term": 1, "status": 201}}
    items[0].fail(409, "x", "exists")
    assert item_body(items[0])["create"]["error"]["type"] == "version_conflict_engine_exception"


def test_filter_path_as_shippers_use_it() -> None:
    resp = {"took": 3, "errors": True, "items": [{"index": {"_id": "1", "status": 201}},
                                                 {"create": {"_id": "2", "status": 400, "error": {"type": "t"}}}]}
    assert filter_path(resp, "errors,items.*.error,items.*.status") == {
        "errors": True, "items": [{"index": {"status": 201}}, {"create": {"status": 400, "error": {"type": "t"}}}]}
    assert filter_path(resp, "took") == {"took": 3}
    assert filter_path(resp, "-items") == {"took": 3, "errors": True}
    assert filter_path(resp, "**.status") == {"items": [{"index": {"status": 201}}, {"create": {"status": 400}}]}
    assert filter_path(resp, "nothing") == {}


def test_credentials_in_every_wrapping() -> None:
    key = "lh_live_abcdefghijkm_secret"
    b64 = base64.b64encode
    assert token_from_authorization(f"Bearer {key}") == key
    assert token_from_authorization(f"ApiKey {key}") == key
    assert token_from_authorization(f"ApiKey {b64(f'id:{key}'.encode()).decode()}") == key
    assert token_from_authorization(f"ApiKey {b64(key.encode()).decode()}") == key
    assert token_from_authorization(f"Basic {b64(f'elastic:{key}'.encode()).decode()}") == key
    assert token_from_authorization(f"Basic {b64(f'{key}:'.encode()).decode()}") == key
    assert token_from_authorization(None) is None and token_from_authorization("Digest x") is None


def test_names_the_key_owns_are_kept_as_labels_not_rejected() -> None:
    item = _parse(b'{"index":{"_index":"a"}}\n{"message":"m","service":{"name":"x","version":"2"},"event.id":"e"}\n')[0]
    assert item.event["fields"]["service"] == {"version": "2"}
    assert item.event["fields"]["labels"]["sent_service_name"] == "x"
    assert item.event["fields"]["labels"]["sent_event_id"] == "e"
