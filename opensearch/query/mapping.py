"""The index mapping the query engine needs, built from mapping_requirements.json.

One place for the fact: the JSON file is what the lead merges into index_templates/, and
:func:`required_index_body` turns it into a create-index body for tests (and for checking a
template against it).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib.resources import files
from typing import Any


@lru_cache(maxsize=1)
def mapping_requirements() -> dict[str, Any]:
    """The parsed mapping_requirements.json."""
    return json.loads(files("opensearch.query").joinpath("mapping_requirements.json").read_text())


def _put(properties: dict[str, Any], dotted: str, mapping: dict[str, Any]) -> None:
    parts = dotted.split(".")
    node = properties
    for part in parts[:-1]:
        node = node.setdefault(part, {"properties": {}})["properties"]
    node[parts[-1]] = copy.deepcopy(mapping)


def required_index_body(extra_properties: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """``{"settings": ..., "mappings": ...}`` with every field the query engine relies on.

    ``extra_properties`` maps dotted field names to mappings (e.g. numeric test fields).
    """
    req = mapping_requirements()
    properties: dict[str, Any] = {}
    for name in req["text_fields"]:
        _put(properties, name, req["text_field_template"])
    for name in req["keyword_fields_with_wildcards"]:
        _put(properties, name, req["keyword_field_with_wildcards_template"])
    for name, mapping in {**req["typed_fields"], **(extra_properties or {})}.items():
        _put(properties, name, mapping)
    return {
        "settings": copy.deepcopy(req["settings"]),
        "mappings": {"dynamic_templates": copy.deepcopy(req["dynamic_templates"]), "properties": properties},
    }
