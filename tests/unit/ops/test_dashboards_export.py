"""The OpenSearch Dashboards / Kibana saved objects (ops/dashboards/logharbor-saved-objects.ndjson).

Validated against the saved-objects export format (one JSON object per line: type, id,
attributes, references, migrationVersion; JSON-string attributes parse; every reference resolves
inside the file; a summary line last), and every field any object names must exist in
LogHarbor's ECS mapping (index_templates/component_templates/logharbor-ecs-mappings.json).
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from ops import dashboards_export as dx

OBJECT_SCHEMA = {
    "type": "object",
    "required": ["type", "id", "attributes", "references", "migrationVersion"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": ["index-pattern", "search", "visualization", "dashboard"]},
        "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
        "attributes": {"type": "object", "required": ["title"]},
        "references": {"type": "array", "items": {
            "type": "object", "required": ["name", "type", "id"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "id": {"type": "string"}}}},
        "migrationVersion": {"type": "object", "minProperties": 1, "maxProperties": 1,
                             "additionalProperties": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"}},
    },
}
STRING_ATTRS = {  # attributes the format stores as JSON text, per type
    "index-pattern": ["fields", "fieldFormatMap"],
    "search": [],
    "visualization": ["visState", "uiStateJSON"],
    "dashboard": ["panelsJSON", "optionsJSON"],
}
REQUIRED_ATTRS = {
    "index-pattern": ["title", "timeFieldName", "fields"],
    "search": ["title", "columns", "sort", "kibanaSavedObjectMeta"],
    "visualization": ["title", "visState", "uiStateJSON", "kibanaSavedObjectMeta"],
    "dashboard": ["title", "panelsJSON", "kibanaSavedObjectMeta"],
}
KQL_FIELD = re.compile(r"([A-Za-z_@][\w.@]*)\s*:")


def _lines() -> list[dict[str, Any]]:
    text = dx.DEFAULT_OUT.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def test_the_committed_file_is_what_export_writes() -> None:
    assert dx.DEFAULT_OUT.read_text(encoding="utf-8") == dx.to_ndjson(dx.saved_objects()), (
        "run: logharbor dashboards export --out ops/dashboards/logharbor-saved-objects.ndjson")


def test_format() -> None:
    *objects, summary = _lines()
    assert summary == {"exportedCount": len(objects), "missingRefCount": 0, "missingReferences": []}
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects)
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        jsonschema.validate(obj, OBJECT_SCHEMA)
        kind, attrs = obj["type"], obj["attributes"]
        assert set(obj["migrationVersion"]) == {kind}
        for key in REQUIRED_ATTRS[kind]:
            assert key in attrs, (obj["id"], key)
        for key in STRING_ATTRS[kind]:
            json.loads(attrs[key])
        names = [r["name"] for r in obj["references"]]
        assert len(names) == len(set(names))
        for ref in obj["references"]:  # referenced objects exist and come earlier (import order)
            assert (ref["type"], ref["id"]) in seen, (obj["id"], ref)
        meta = attrs.get("kibanaSavedObjectMeta")
        if meta:
            source = json.loads(meta["searchSourceJSON"])
            assert set(source["query"]) == {"query", "language"} and source["query"]["language"] == "kuery"
            if "indexRefName" in source:
                assert source["indexRefName"] in names
        if kind == "dashboard":
            panels = json.loads(attrs["panelsJSON"])
            assert panels and all(p["panelRefName"] in names for p in panels)
            cells = [(p["gridData"]["x"], p["gridData"]["y"]) for p in panels]
            assert len(cells) == len(set(cells)) and all(p["gridData"]["x"] + p["gridData"]["w"] <= 48
                                                         for p in panels)
        if kind == "visualization":
            state = json.loads(attrs["visState"])
            assert state["title"] == attrs["title"] and state["aggs"] and state["type"] == state["params"]["type"]
        seen.add((kind, obj["id"]))


def test_contents() -> None:
    objects = {o["id"]: o for o in _lines()[:-1]}
    pattern = objects[dx.INDEX_PATTERN_ID]["attributes"]
    assert pattern["title"] == "logs-*" and pattern["timeFieldName"] == "@timestamp"
    formats = json.loads(pattern["fieldFormatMap"])
    assert formats["http.response.body.bytes"]["id"] == "bytes" and formats["event.duration"]["id"] == "duration"
    fields = {f["name"]: f for f in json.loads(pattern["fields"])}
    assert fields["client.geo.location"]["type"] == "geo_point" and fields["@timestamp"]["type"] == "date"
    assert fields["message"]["aggregatable"] is False and fields["service.name"]["aggregatable"] is True
    for cls in ("errors", "standard", "debug", "audit", "dlq"):
        assert objects[f"logharbor-search-{cls}"]["type"] == "search"
    vis_types = {json.loads(o["attributes"]["visState"])["type"] for o in objects.values()
                 if o["type"] == "visualization"}
    assert {"histogram", "horizontal_bar", "tile_map"} <= vis_types
    assert objects[dx.DASHBOARD_ID]["type"] == "dashboard"
    # no pattern field in the mapping today, so no "top patterns" panel (it appears when one exists)
    assert "logharbor-top-patterns" not in objects
    with_pattern = dx.visualizations({**dx.mapping_fields(), "log.pattern": "keyword"})
    assert any(v["id"] == "logharbor-top-patterns" for v in with_pattern)


def _referenced_fields(obj: dict[str, Any]) -> set[str]:
    attrs, out = obj["attributes"], set()
    if obj["type"] == "index-pattern":
        out.add(attrs["timeFieldName"])
        out |= set(json.loads(attrs["fieldFormatMap"]))
        out |= {f["name"] for f in json.loads(attrs["fields"]) if not f["name"].startswith("_")}
    if obj["type"] == "search":
        out |= set(attrs["columns"]) | {s[0] for s in attrs["sort"]}
    if obj["type"] == "visualization":
        for agg in json.loads(attrs["visState"])["aggs"]:
            if "field" in agg["params"]:
                out.add(agg["params"]["field"])
    meta = attrs.get("kibanaSavedObjectMeta")
    if meta:
        source = json.loads(meta["searchSourceJSON"])
        out |= set(KQL_FIELD.findall(source["query"]["query"]))
        for flt in source["filter"]:
            for clause in flt["query"].values():
                out |= {f for f in clause if not f.startswith("_")}  # _index: a meta field
    return out


def test_every_referenced_field_exists_in_the_mapping() -> None:
    mapping = dx.mapping_fields()
    referenced: set[str] = set()
    for obj in _lines()[:-1]:
        fields = _referenced_fields(obj)
        missing = fields - set(mapping)
        assert not missing, f"{obj['type']} {obj['id']} names fields the mapping lacks: {sorted(missing)}"
        referenced |= fields
    for name in ("log.level", "service.name", "client.geo.location", "client.geo.country_name", "@timestamp"):
        assert name in referenced
    assert mapping["client.geo.location"] == "geo_point"


@pytest.mark.parametrize("cls", ["errors", "standard"])
def test_class_filter_targets_that_class_only(cls: str) -> None:
    value = dx.class_filter(cls)["query"]["wildcard"]["_index"]["value"]
    assert re.fullmatch(value.replace(".", r"\.").replace("*", ".*"), f".ds-logs-acme-{cls}-000001")
    other = "standard" if cls == "errors" else "errors"
    assert not re.fullmatch(value.replace(".", r"\.").replace("*", ".*"), f".ds-logs-acme-{other}-000001")


def test_compose_imports_the_file_into_dashboards() -> None:
    import yaml

    root = dx.DEFAULT_OUT.parents[2]
    services = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]
    job = services["dashboards-import"]
    host_dir, mounted = job["volumes"][0].split(":")[:2]
    command = " ".join(job["command"])
    posted = re.search(r"file=@(\S+)", command).group(1)
    assert (root / host_dir / posted.removeprefix(mounted + "/")).resolve() == dx.DEFAULT_OUT
    assert "http://opensearch-dashboards:5601/api/saved_objects/_import?overwrite=true" in command
    assert "osd-xsrf: true" in command
    assert job["depends_on"]["opensearch-dashboards"]["condition"] == "service_healthy"
    assert "healthcheck" in services["opensearch-dashboards"]
