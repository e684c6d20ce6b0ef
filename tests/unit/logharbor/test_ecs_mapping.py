"""LogHarbor's mapping against a copy of the ECS field reference (tests/data/ecs, source in its README).

ECS where ECS has a name, and only there: a field the template maps inside an ECS field set
must be an ECS field with a compatible type; LogHarbor's own fields live under ``logharbor.*``
and client names outside ECS under ``fields.*``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from logharbor import vocabulary

REPO = Path(__file__).resolve().parents[3]
ECS_CSV = REPO / "tests/data/ecs/fields.csv"
TEMPLATE = REPO / "index_templates/component_templates/logharbor-ecs-mappings.json"

# Type families: a LogHarbor type is compatible with the ECS type if both are in one family.
FAMILIES = (
    {"keyword", "wildcard", "constant_keyword"},
    {"text", "match_only_text"},
    {"long", "integer", "short", "byte", "double", "float", "scaled_float"},
    {"date"}, {"ip"}, {"geo_point"}, {"boolean"}, {"object", "flattened", "flat_object"},
)
# Deliberate deviations, each with its reason (docs/QUERY.md "Storage").
DEVIATIONS = {
    # ECS: keyword, not indexed. LogHarbor searches unparsed lines by their words (free text,
    # wildcards, phrases), which needs an analysed field: text with positions like message (issue
    # 13; the .keyword subfield is gone — it cost 5-10 % of the store and nothing aggregates raw lines).
    "event.original": "text",
    # ECS leaves labels.* as keyword; LogHarbor maps the tenant and environment labels the same
    # way, the object itself is just the container.
    "labels": "object",
    # ECS: wildcard with a match_only_text .text subfield; LogHarbor searches traces by words.
    "error.stack_trace": "text",
}


def ecs_fields() -> dict[str, tuple[str, str]]:
    with ECS_CSV.open() as f:
        return {row["Field"]: (row["Type"], row["Indexed"]) for row in csv.DictReader(f)}


def leaves(props: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, spec in props.items():
        path = prefix + name
        if "properties" in spec and spec.get("type", "object") == "object":
            out.update(leaves(spec["properties"], path + "."))
        else:
            out[path] = spec.get("type", "object")
    return out


def family(kind: str) -> int:
    return next(i for i, fam in enumerate(FAMILIES) if kind in fam)


def test_ecs_roots_are_exactly_ecs_field_sets() -> None:
    roots = {name.split(".", 1)[0] for name in ecs_fields()}
    assert roots == vocabulary.ECS_ROOTS


def test_template_fields_inside_ecs_namespaces_are_ecs_fields_of_compatible_types() -> None:
    ecs = ecs_fields()
    mapped = leaves(json.loads(TEMPLATE.read_text())["template"]["mappings"]["properties"])
    wrong = []
    for path, kind in mapped.items():
        if path.split(".", 1)[0] not in vocabulary.ECS_ROOTS:
            assert path.split(".", 1)[0] in vocabulary.ROOTS - vocabulary.ECS_ROOTS, path
            continue
        if DEVIATIONS.get(path) == kind or (path.startswith("labels.") and kind == "keyword"):
            continue  # labels.* are ECS's custom keyword pairs
        if path not in ecs:
            wrong.append(f"{path}: not an ECS field (move it under {vocabulary.OWN}.*)")
        elif family(kind) != family(ecs[path][0]):
            wrong.append(f"{path}: mapped {kind}, ECS says {ecs[path][0]}")
    assert not wrong, wrong


def test_vocabulary_targets_are_ecs_or_own() -> None:
    ecs = ecs_fields()
    for term in vocabulary.TERMS:
        assert term.field in ecs or term.field.startswith(vocabulary.OWN + "."), term.field
    for old, new in vocabulary.RENAMED.items():
        assert new in ecs or new.startswith(vocabulary.OWN + "."), (old, new)
        assert old not in ecs, f"{old} is ECS: it should not be renamed"


def test_event_ingested_and_duration_follow_ecs() -> None:
    ecs = ecs_fields()
    assert ecs["event.ingested"][0] == "date" and ecs["event.duration"][0] == "long"  # ns
    assert vocabulary.storage_path("event.received") == "event.ingested"
