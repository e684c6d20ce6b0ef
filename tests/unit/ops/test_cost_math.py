"""The cost benchmark's arithmetic and its bench-only variants (no cluster, no timing)."""

from __future__ import annotations

import math

from ops.bench.cost_math import (
    drop_field,
    median_ratios,
    per_event,
    raw_bytes_per_line,
    same_answers,
    storage_ratio,
    strip_key,
)
from ops.bench.cost_variants import build_variants, lean_document, query_body


def test_per_event_and_storage_ratio() -> None:
    assert per_event(1000, 4) == 250
    assert math.isnan(per_event(10, 0))
    assert raw_bytes_per_line(["ab", "é"]) == 2.0  # UTF-8 bytes, not characters
    assert storage_ratio(2000, 10, 100.0) == 2.0
    assert math.isnan(storage_ratio(2000, 10, 0.0))


def test_ratios_are_paired_per_round_not_medians_divided() -> None:
    rates = {"default": [100.0, 50.0, 200.0], "x": [90.0, 50.0, 100.0]}
    r = median_ratios(rates, "default")
    assert r["default"] == 1.0
    assert r["x"] == 0.9  # per round 0.9, 1.0, 0.5 → median 0.9 (medians divided would be 1.0)


def test_strip_key_and_drop_field_leave_the_input_alone() -> None:
    m = {"properties": {"log": {"properties": {"logger": {"type": "keyword", "ignore_above": 5}}}},
         "dynamic_templates": [{"s": {"mapping": {"type": "keyword", "ignore_above": 9}}}]}
    stripped = strip_key(m, "ignore_above")
    assert "ignore_above" not in str(stripped) and "ignore_above" in str(m)
    assert drop_field(stripped, "log.logger") == {"type": "keyword"}
    assert drop_field(stripped, "no.such") is None


def test_same_answers() -> None:
    assert same_answers({"a", "b"}, {"a", "b"}) == "same"
    assert same_answers({"a", "c"}, {"a", "b"}) == "+1/-1"


def test_lean_document_keeps_an_original_that_differs() -> None:
    doc = {"message": "m", "event": {"original": "m", "id": "x"}, "labels": {"tenant": "t", "env": "e"}}
    assert lean_document(doc) == {"message": "m", "event": {}, "labels": {"env": "e"}}
    assert doc["event"]["original"] == "m"  # a copy, not an edit
    kept = lean_document({"message": "m", "event": {"original": "raw line"}})
    assert kept["event"]["original"] == "raw line"


def test_variants_keep_the_template_first_and_patch_only_the_text_fields() -> None:
    template = {"settings": {"index": {"codec": "best_compression"}},
                "mappings": {"properties": {"message": {"type": "text", "index_prefixes": {}},
                                            "event": {"properties": {"original": {"type": "text"}}},
                                            "log": {"properties": {"logger": {"type": "keyword",
                                                                              "ignore_above": 512}}}}}}
    variants = {v.name: v for v in build_variants(template)}
    assert next(iter(variants)) == "template"
    assert variants["template"].body["mappings"] == template["mappings"]
    wc = variants["wildcard"].body
    assert wc["mappings"]["properties"]["message"]["fields"]["wc"]["type"] == "wildcard"
    assert wc["mappings"]["properties"]["event"]["properties"]["original"]["fields"]["wc"]["type"] == "wildcard"
    assert wc["settings"]["index"]["analysis"]["normalizer"]["lh_lower"]["filter"] == ["lowercase"]
    assert "ignore_above" not in str(variants["derived-source"].body["mappings"])
    assert template["mappings"]["properties"]["message"] == {"type": "text", "index_prefixes": {}}
    q = query_body(variants["mot-prefixes"], "suffix", "base")
    assert q["bool"]["should"][0] == {"prefix": {"message.reversed": {"value": "esab"}}}
    assert len(query_body(variants["template"], "infix", "timeout")["bool"]["should"]) == 1


def test_field_cost_variants_remove_one_thing_each() -> None:
    template = {"settings": {"index": {}},
                "mappings": {"properties": {
                    "message": {"type": "text", "index_prefixes": {"min_chars": 1},
                                "fields": {"keyword": {"type": "keyword"},
                                           "reversed": {"type": "text", "index_prefixes": {"min_chars": 1}}}},
                    "host": {"properties": {"name": {"type": "keyword", "fields": {
                        "prefix": {"type": "text"}, "reversed": {"type": "text"}}}}}}}}
    v = {x.name: x for x in build_variants(template)}
    props = v["minus-keyword-wildcards"].body["mappings"]["properties"]
    assert props["host"]["properties"]["name"] == {"type": "keyword"}
    assert "keyword" in props["message"]["fields"]  # only keyword fields lose their subfields
    msg = v["minus-index-prefixes"].body["mappings"]["properties"]["message"]
    assert "index_prefixes" not in str(msg) and "reversed" in msg["fields"]
    assert "reversed" not in v["minus-text-reversed"].body["mappings"]["properties"]["message"]["fields"]
    assert v["minus-event-original"].doc({"event": {"original": "x", "id": "i"}}) == {"event": {"id": "i"}}


def test_further_variants_change_one_thing_each() -> None:
    from ops.bench.cost_variants import FURTHER, without_derived_copies

    template = {"settings": {"index": {}}, "mappings": {
        "dynamic_templates": [{"s": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}],
        "properties": {
            "message": {"type": "match_only_text", "fields": {"prefix": {"type": "text"},
                                                              "reversed": {"type": "text"}}},
            "event": {"properties": {"id": {"type": "keyword"}, "original": {"type": "match_only_text"}}},
            "service": {"properties": {"name": {"type": "keyword", "fields": {
                "prefix": {"type": "text"}, "reversed": {"type": "text"}}}}}}}}
    v = {x.name: x for x in build_variants(template)}
    assert set(FURTHER) <= set(v)
    edge = v["edge-all"].body
    assert set(edge["mappings"]["properties"]["message"]["fields"]) == {"prefixes", "suffixes"}
    assert set(edge["mappings"]["properties"]["service"]["properties"]["name"]["fields"]) == {"prefixes", "suffixes"}
    assert edge["settings"]["index"]["analysis"]["filter"]["lh_edge"]["max_gram"] == 19
    assert set(v["edge-text"].body["mappings"]["properties"]["service"]["properties"]["name"]["fields"]) == {
        "prefix", "reversed"}  # text fields only
    assert v["event-id-dv"].body["mappings"]["properties"]["event"]["properties"]["id"] == {
        "type": "keyword", "index": False}
    assert query_body(v["edge-all"], "suffix", "-1", ("host.name",)) == {"bool": {"should": [
        {"term": {"host.name.suffixes": {"value": "1-"}}}], "minimum_should_match": 1}}
    nogram = v["minus-all-grams"].body["mappings"]["properties"]
    assert nogram["service"]["properties"]["name"] == {"type": "keyword"}  # keyword subfields gone
    assert not {"prefixes", "suffixes"} & set(nogram["message"].get("fields", {}))
    nodv = v["no-keyword-dv"].body["mappings"]
    assert nodv["properties"]["service"]["properties"]["name"].get("doc_values") is None  # kept
    assert nodv["dynamic_templates"][-1]["s"]["mapping"]["doc_values"] is False
    assert template["mappings"]["properties"]["event"]["properties"]["id"] == {"type": "keyword"}  # untouched
    doc = {"message": "m", "logharbor": {"hour_of_day": 10, "pattern": {"id": "p", "template": "t"}},
           "service": {"environment": "e"}, "labels": {"environment": "e"},
           "url": {"path": "/a", "original": "/a"}}
    assert without_derived_copies(doc) == {"message": "m", "logharbor": {"pattern": {"id": "p"}},
                                           "service": {}, "labels": {"environment": "e"}, "url": {"path": "/a"}}
