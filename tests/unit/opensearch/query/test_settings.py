"""QuerySettings: section "query", env prefix LOGHARBOR_QUERY_, validated zone."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from opensearch.query import QuerySettings
from opensearch.query.mapping import mapping_requirements, required_index_body


def test_defaults():
    s = QuerySettings()
    assert (s.timezone, s.business_hours_start, s.business_hours_end) == ("UTC", time(9), time(17))
    assert s.allow_expensive_queries is False and s.max_prefix_chars == 19


def test_env_overrides(monkeypatch):
    monkeypatch.setenv("LOGHARBOR_QUERY_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("LOGHARBOR_QUERY_BUSINESS_HOURS_START", "08:00")
    s = QuerySettings()
    assert s.timezone == "Europe/Berlin" and s.business_hours_start == time(8)


def test_yaml_section(monkeypatch, tmp_path):
    cfg = tmp_path / "logharbor.yaml"
    cfg.write_text("query:\n  timezone: America/New_York\n  max_in_values: 10\n")
    monkeypatch.setenv("LOGHARBOR_CONFIG", str(cfg))
    s = QuerySettings()
    assert s.timezone == "America/New_York" and s.max_in_values == 10


def test_unknown_zone_is_rejected():
    with pytest.raises(ValidationError, match="unknown time zone"):
        QuerySettings(timezone="Mars/Olympus")


def test_business_hours_must_be_ordered():
    with pytest.raises(ValidationError, match="later than"):
        QuerySettings(business_hours_start="18:00", business_hours_end="06:00")


def test_prefix_cap_cannot_exceed_opensearch_limit():
    with pytest.raises(ValidationError):
        QuerySettings(max_prefix_chars=20)


def test_mapping_requirements_cover_the_field_specs():
    from opensearch.query.fields import DEFAULT_FIELD_SPECS

    body = required_index_body()
    props = body["mappings"]["properties"]
    for name, spec in DEFAULT_FIELD_SPECS.items():
        for sub in (spec.prefix_field, spec.suffix_field):
            if sub is None or sub == name:
                continue
            parent, leaf = sub.rsplit(".", 1)
            node = props
            parts = parent.split(".")
            for p in parts[:-1]:
                node = node[p]["properties"]
            assert leaf in node[parts[-1]]["fields"], sub
    # text with positions (phrases from the index, not confirmed from _source), no norms (issue 13)
    assert (props["message"]["type"], props["message"]["index_options"], props["message"]["norms"]) == (
        "text", "positions", False)
    assert props["message"]["fields"]["prefixes"]["analyzer"] == "lh_prefixes"
    # every wildcard word the parser accepts (max_prefix_chars, at most 19) is one gram
    assert body["settings"]["analysis"]["filter"]["lh_edge"] == {"type": "edge_ngram", "min_gram": 1, "max_gram": 19}
    assert set(body["settings"]["analysis"]["analyzer"]) == {
        "lh_prefixes", "lh_suffixes", "lh_keyword_prefixes", "lh_keyword_suffixes"}
    assert mapping_requirements()["dynamic_templates"][0]["strings_as_keyword"]["mapping"]["type"] == "keyword"


def test_missing_mapping_requirements_reports_gaps():
    from opensearch.query.mapping import missing_mapping_requirements

    body = required_index_body()
    assert missing_mapping_requirements(body["mappings"]) == []
    props = body["mappings"]["properties"]
    props["message"]["fields"]["prefixes"]["analyzer"] = "standard"
    del props["service"]["properties"]["name"]["fields"]["suffixes"]
    props["http"]["properties"]["response"]["properties"]["status_code"]["type"] = "integer"  # still numeric
    props["client"]["properties"]["ip"]["type"] = "keyword"
    assert missing_mapping_requirements(body["mappings"]) == [
        "message.prefixes: needs analyzer lh_prefixes", "service.name.suffixes: missing",
        "client.ip: is keyword, want ip"]
