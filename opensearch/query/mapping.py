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


def _lookup(properties: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    node: dict[str, Any] | None = None
    props = properties
    for part in dotted.split("."):
        node = props.get(part)
        if node is None:
            return None
        props = node.get("properties", {})
    return node


def missing_mapping_requirements(mappings: dict[str, Any]) -> list[str]:
    """What ``mappings`` (an index or component template's ``mappings``) lacks for the query engine.

    Empty means every wildcard and field kind the engine compiles will run without expensive
    queries. Use it at bootstrap to warn, and in tests to keep templates and engine in step.
    """
    req = mapping_requirements()
    props = mappings.get("properties", {})
    missing: list[str] = []

    def need_grams(name: str, field: dict[str, Any] | None, want: dict[str, Any]) -> None:
        # a wildcard word is a term on these subfields: the analyzer must make its edge grams
        if field is None:
            missing.append(f"{name}: missing")
        elif field.get("analyzer") != want["analyzer"]:
            missing.append(f"{name}: needs analyzer {want['analyzer']}")

    for name in req["text_fields"]:
        field = _lookup(props, name)
        if field is None:
            missing.append(f"{name}: missing")
            continue
        for sub, want in req["text_field_template"]["fields"].items():
            need_grams(f"{name}.{sub}", field.get("fields", {}).get(sub), want)
    for name in req["keyword_fields_with_wildcards"]:
        subfields = (_lookup(props, name) or {}).get("fields", {})
        for sub, want in req["keyword_field_with_wildcards_template"]["fields"].items():
            need_grams(f"{name}.{sub}", subfields.get(sub), want)
    for name, mapping in req["typed_fields"].items():
        field = _lookup(props, name)
        numeric = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float"}
        if field is None:
            missing.append(f"{name}: missing (want {mapping['type']})")
        elif field.get("type") != mapping["type"] and not (
            mapping["type"] in numeric and field.get("type") in numeric
        ):
            missing.append(f"{name}: is {field.get('type')}, want {mapping['type']}")
    return missing
