"""The fields API's type merge: multi-fields included, storage variants of text reported as text."""

from __future__ import annotations

from opensearch.field_stats import merge_mapping_types, top_value_candidates


def test_old_and_new_backing_indices_report_one_text_type():
    old = {"mappings": {"properties": {"message": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
                                       "log": {"properties": {"level": {"type": "keyword"}}}}}}
    new = {"mappings": {"properties": {"message": {"type": "match_only_text",
                                                   "fields": {"prefix": {"type": "text"}}},
                                       "log": {"properties": {"level": {"type": "keyword"}}}}}}
    types = merge_mapping_types({"i-old": old, "i-new": new})
    assert types["message"] == {"text"}  # not {"text", "match_only_text"}: one full-text field
    assert types["message.keyword"] == {"keyword"} and types["message.prefix"] == {"text"}
    assert types["log.level"] == {"keyword"}
    assert top_value_candidates(types) == ["log.level", "message.keyword"]  # text is not aggregatable
