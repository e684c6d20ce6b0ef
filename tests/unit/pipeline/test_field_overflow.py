"""The field-explosion transform (pipeline/field_overflow.py) and the indexer's overflow path
against a scripted bulk stand-in (the real limit is exercised by
tests/integration/test_field_explosion.py)."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from pipeline import metrics
from pipeline.field_overflow import (
    CORE_ONLY,
    OVERFLOW,
    MappedFields,
    apply_overflow,
    is_field_limit_error,
    split_overflow,
)
from pipeline.indexer import BulkIndexer, IndexItem, Outcome

MAPPING = {"properties": {
    "@timestamp": {"type": "date"}, "message": {"type": "text"}, "_malformed": {"type": "text"},
    "log": {"properties": {"level": {"type": "keyword"}}},
    "labels": {"properties": {"tenant": {"type": "keyword"}}},
    "service": {"properties": {"name": {"type": "keyword"}}},
    "fields": {"type": "object", "dynamic": True, "properties": {
        "known": {"type": "long"}, "obj": {"properties": {"a": {"type": "keyword"}}}}},
    "logharbor": {"properties": {"duration_ms": {"type": "double"}, "overflow": {"type": "object", "enabled": False},
                                 "overflow_fields": {"type": "keyword"}}},
    "blob": {"type": "flat_object"},
}}
MAPPED = MappedFields.of(MAPPING)
LIMIT = {"type": "illegal_argument_exception", "reason": "Limit of total fields [2000] has been exceeded"}


def doc(**extra: Any) -> dict[str, Any]:
    return {"@timestamp": "2026-01-19T10:30:00Z", "message": "hello", "log": {"level": "info"},
            "labels": {"tenant": "t"}, "service": {"name": "api"}, **extra}


def test_limit_error_is_recognised_in_either_shape() -> None:
    assert is_field_limit_error(LIMIT)
    assert is_field_limit_error({"type": "document_parsing_exception", "reason": "failed to parse",
                                 "caused_by": LIMIT})
    assert not is_field_limit_error({"type": "mapper_parsing_exception", "reason": "failed to parse field [x]"})
    assert not is_field_limit_error({"type": "version_conflict_engine_exception", "reason": LIMIT["reason"]})
    assert not is_field_limit_error(None)


def test_mapping_is_read_into_objects_leaves_and_opaque() -> None:
    assert "fields" in MAPPED.objects and "fields.obj" in MAPPED.objects
    assert "fields.known" in MAPPED.leaves and "fields.obj.a" in MAPPED.leaves
    assert OVERFLOW in MAPPED.opaque and "blob" in MAPPED.opaque


def test_unmapped_fields_move_mapped_and_core_fields_stay() -> None:
    original = doc(fields={"known": 1, "new_a": "x", "obj": {"a": "y", "b": 2}, "deep": {"x": {"y": 1}}},
                   logharbor={"duration_ms": 5.0}, blob={"any": {"thing": 1}})
    before = copy.deepcopy(original)
    kept, moved = split_overflow(original, MAPPED)
    assert original == before  # the input is not modified
    assert moved == {"fields.new_a": "x", "fields.obj.b": 2, "fields.deep": {"x": {"y": 1}}}
    assert kept["fields"] == {"known": 1, "obj": {"a": "y"}}
    assert kept["message"] == "hello" and kept["log"] == {"level": "info"} and kept["blob"] == {"any": {"thing": 1}}


def test_objects_emptied_by_moves_disappear_and_nulls_and_empty_lists_stay() -> None:
    kept, moved = split_overflow(doc(extra={"a": 1}, gone=None, empty=[], tags=["x"]), MAPPED)
    assert "extra" not in kept and moved == {"extra": {"a": 1}}
    assert kept["gone"] is None and kept["empty"] == [] and kept["tags"] == ["x"]


def test_lists_of_objects_move_whole_unless_every_key_is_mapped() -> None:
    kept, moved = split_overflow(doc(fields={"obj": [{"a": "1"}, {"a": "2"}], "known": [1, 2]}), MAPPED)
    assert not moved and kept["fields"] == {"obj": [{"a": "1"}, {"a": "2"}], "known": [1, 2]}
    kept, moved = split_overflow(doc(fields={"obj": [{"a": "1"}, {"z": "2"}]}), MAPPED)
    assert moved == {"fields.obj": [{"a": "1"}, {"z": "2"}]} and "fields" not in kept


def test_apply_puts_values_under_overflow_and_lists_their_names() -> None:
    original = doc(fields={"k1": 1, "k2": "two"}, logharbor={"duration_ms": 3.0})
    result = apply_overflow(original, MAPPED)
    assert result is not None
    new, count = result
    assert count == 2
    assert new["logharbor"] == {"duration_ms": 3.0, "overflow": {"fields.k1": 1, "fields.k2": "two"},
                                "overflow_fields": ["fields.k1", "fields.k2"]}
    assert original["logharbor"] == {"duration_ms": 3.0}  # the caller's document is not modified
    assert new["message"] == "hello" and new["@timestamp"] == "2026-01-19T10:30:00Z"


def test_nothing_to_move_gives_none() -> None:
    assert apply_overflow(doc(fields={"known": 1}), MAPPED) is None


def test_an_index_without_the_overflow_field_gets_the_values_as_malformed_text() -> None:
    old = MappedFields.of({"properties": {k: v for k, v in MAPPING["properties"].items() if k != "logharbor"}})
    result = apply_overflow(doc(_malformed="a=1", fields={"k1": 1}), old)
    assert result is not None
    new, _ = result
    assert new["_malformed"] == 'a=1\noverflow={"fields.k1":1}' and "logharbor" not in new


def test_core_only_keeps_just_what_finds_and_attributes_the_event() -> None:
    result = apply_overflow(doc(fields={"known": 1}, http={"request": {"method": "GET"}}), CORE_ONLY)
    assert result is not None
    new, count = result
    assert count == 2
    assert set(new) == {"@timestamp", "message", "log", "labels", "service", "logharbor"}
    assert new["labels"] == {"tenant": "t"} and new["service"] == {"name": "api"}
    assert new["logharbor"]["overflow"] == {"fields": {"known": 1}, "http": {"request": {"method": "GET"}}}


class OverflowCluster:
    """A bulk stand-in with a mapping that is full: any document with a path outside it is refused."""

    def __init__(self) -> None:
        self.calls: list[list[dict]] = []
        self.mapping_reads = 0
        self.indices = self

    async def get_mapping(self, index: str) -> dict:
        self.mapping_reads += 1
        return {index: {"mappings": MAPPING}}

    async def bulk(self, body: bytes) -> dict:
        docs = [orjson.loads(line) for line in body.splitlines()[1::2]]
        self.calls.append(docs)
        out = []
        for d in docs:
            _, moved = split_overflow(d, MAPPED)
            if moved:
                out.append({"create": {"_index": ".ds-logs-t-standard-000001", "status": 400, "error": LIMIT}})
            else:
                out.append({"create": {"_index": ".ds-logs-t-standard-000001", "status": 201}})
        return {"items": out}


async def test_indexer_stores_refused_events_with_their_extra_fields_moved_and_counts_them() -> None:
    before = metrics.FIELD_OVERFLOW._value.get()
    moved_before = metrics.FIELD_OVERFLOW_FIELDS._value.get()
    cluster = OverflowCluster()
    batch = [IndexItem(index="logs-t-standard", id=f"i{n}", doc=doc(fields={"known": n, f"new{n}": n}))
             for n in range(3)] + [IndexItem(index="logs-t-standard", id="plain", doc=doc(fields={"known": 9}))]
    out = await BulkIndexer(cluster).index(batch)  # type: ignore[arg-type]
    assert [i.outcome for i in out] == [Outcome.CREATED] * 4
    assert len(cluster.calls) == 2 and len(cluster.calls[1]) == 3  # only the refused ones again
    assert cluster.mapping_reads == 1  # one read per backing index per round
    stored = cluster.calls[1][0]
    assert stored["logharbor"]["overflow"] == {"fields.new0": 0} and stored["fields"] == {"known": 0}
    assert metrics.FIELD_OVERFLOW._value.get() - before == 3
    assert metrics.FIELD_OVERFLOW_FIELDS._value.get() - moved_before == 3


async def test_indexer_falls_back_to_core_fields_then_fails_with_the_reason() -> None:
    class AlwaysFull(OverflowCluster):
        async def bulk(self, body: bytes) -> dict:
            n = len(body.splitlines()) // 2
            self.calls.append([])
            return {"items": [{"create": {"_index": "x", "status": 400, "error": LIMIT}}] * n}

    cluster = AlwaysFull()
    out = await BulkIndexer(cluster).index(  # type: ignore[arg-type]
        [IndexItem(index="logs-t-standard", id="a", doc=doc(fields={"new": 1, "known": 2}))])
    assert out[0].outcome is Outcome.FAILED and "Limit of total fields" in (out[0].reason or "")
    assert len(cluster.calls) == 3  # as sent, mapped-fields only, core fields only


async def test_indexer_resends_unchanged_when_the_mapping_already_holds_every_field() -> None:
    class FullThenFine(OverflowCluster):
        async def bulk(self, body: bytes) -> dict:
            docs = [orjson.loads(line) for line in body.splitlines()[1::2]]
            self.calls.append(docs)
            status = {"status": 400, "error": LIMIT} if len(self.calls) == 1 else {"status": 201}
            return {"items": [{"create": {"_index": "x", **status}}] * len(docs)}

    cluster = FullThenFine()
    sent = doc(fields={"known": 1})
    out = await BulkIndexer(cluster).index(  # type: ignore[arg-type]
        [IndexItem(index="logs-t-standard", id="a", doc=sent)])
    assert out[0].outcome is Outcome.CREATED and cluster.calls[1] == [sent] and "logharbor" not in sent
