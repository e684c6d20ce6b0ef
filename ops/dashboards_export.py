"""``logharbor dashboards export``: saved objects for OpenSearch Dashboards (and Kibana 7.10+).

Why: the indices are ECS-named so Dashboards/Kibana users can read them directly; this gives
them a ready start instead of clicking an index pattern together. The file is the standard
saved-objects export format (NDJSON, one object per line, a summary line last) that
``POST /api/saved_objects/_import`` accepts and docker-compose imports on start:

- index pattern ``logs-*`` (time field ``@timestamp``), its field list taken from LogHarbor's
  ECS mapping (so the map and aggregations work before any "refresh fields") and field formats
  (bytes, durations, URLs);
- one saved search per retention class (a filter on the backing indices
  ``.ds-logs-<tenant>-<class>-*``);
- visualizations and a dashboard: volume by level, errors by service, top countries, a GeoIP
  map on ``client.geo.location``; "top patterns" only when the mapping has a pattern field.

Object ids are fixed (``logharbor-*``) so re-importing with ``overwrite=true`` updates them.
Everything is built from index_templates/ and the storage settings: no cluster is needed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from opensearch.definitions import definitions_dir, retention_classes

INDEX_PATTERN_ID = "logharbor-logs"
DASHBOARD_ID = "logharbor-overview"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
# The copy in the repository (docker-compose mounts it); the command writes to the working directory.
DEFAULT_OUT = Path(__file__).resolve().parent / "dashboards" / "logharbor-saved-objects.ndjson"
# Saved-object schema versions of OpenSearch Dashboards (forked from Kibana 7.10.2).
MIGRATION = {"index-pattern": "7.6.0", "search": "7.9.3", "visualization": "7.10.0", "dashboard": "7.9.3"}
# A stored log-pattern field, if the mapping ever gets one; "top patterns" needs it.
PATTERN_FIELDS = ("log.pattern", "event.pattern", "labels.pattern", "logharbor.pattern")
FIELD_FORMATS: dict[str, dict[str, Any]] = {
    "http.response.body.bytes": {"id": "bytes"},
    "http.response.bytes": {"id": "bytes"},
    "http.request.bytes": {"id": "bytes"},
    "event.duration": {"id": "duration", "params": {"inputFormat": "nanoseconds", "outputFormat": "asMilliseconds"}},
    "logharbor.duration_ms": {"id": "number", "params": {"pattern": "0,0.[0] ms"}},
    "url.original": {"id": "url"},
}
SEARCH_COLUMNS = ["log.level", "service.name", "host.name", "message"]
# OpenSearch mapping type → Dashboards field type.
OSD_TYPES = {
    "keyword": "string", "text": "string", "match_only_text": "string", "wildcard": "string",
    "long": "number", "integer": "number", "short": "number", "byte": "number", "double": "number",
    "float": "number", "half_float": "number", "scaled_float": "number", "unsigned_long": "number",
    "date": "date", "date_nanos": "date", "ip": "ip", "geo_point": "geo_point", "boolean": "boolean",
}
META_FIELDS = [("_id", "string", True), ("_index", "string", True), ("_score", "number", False),
               ("_source", "_source", False), ("_type", "string", True)]


def mapping_fields(mapping: dict[str, Any] | None = None) -> dict[str, str]:
    """Every field (dotted name, multi-fields included) of LogHarbor's ECS mapping → its OpenSearch type."""
    if mapping is None:
        path = definitions_dir() / "component_templates" / "logharbor-ecs-mappings.json"
        mapping = json.loads(path.read_text())["template"]["mappings"]
    out: dict[str, str] = {}

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            full = prefix + name
            if "properties" in spec:
                walk(spec["properties"], full + ".")
                continue
            out[full] = spec.get("type", "object")
            for sub, sub_spec in (spec.get("fields") or {}).items():
                out[f"{full}.{sub}"] = sub_spec.get("type", "object")

    walk(mapping["properties"], "")
    return out


def _field_list(fields: dict[str, str]) -> list[dict[str, Any]]:
    out = [{"name": n, "type": t, "esTypes": [n], "count": 0, "scripted": False, "searchable": t != "_source",
            "aggregatable": agg, "readFromDocValues": False} for n, t, agg in META_FIELDS]
    for name, es_type in sorted(fields.items()):
        osd_type = OSD_TYPES.get(es_type)
        if osd_type is None:  # flat_object and friends: Dashboards learns them on "refresh fields"
            continue
        aggregatable = es_type not in ("text", "match_only_text")
        out.append({"name": name, "type": osd_type, "esTypes": [es_type], "count": 0, "scripted": False,
                    "searchable": True, "aggregatable": aggregatable, "readFromDocValues": aggregatable})
    return out


def _search_source(query: str = "", filters: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({"query": {"query": query, "language": "kuery"}, "filter": filters or [],
                       "indexRefName": INDEX_REF}, separators=(",", ":"))


def _ref() -> list[dict[str, str]]:
    return [{"name": INDEX_REF, "type": "index-pattern", "id": INDEX_PATTERN_ID}]


def _obj(kind: str, oid: str, attributes: dict[str, Any], references: list[dict[str, str]]) -> dict[str, Any]:
    return {"attributes": attributes, "id": oid, "migrationVersion": {kind: MIGRATION[kind]},
            "references": references, "type": kind}


def index_pattern(fields: dict[str, str]) -> dict[str, Any]:
    formats = {f: spec for f, spec in FIELD_FORMATS.items() if f in fields}
    return _obj("index-pattern", INDEX_PATTERN_ID, {
        "title": "logs-*", "timeFieldName": "@timestamp",
        "fields": json.dumps(_field_list(fields), separators=(",", ":")),
        "fieldFormatMap": json.dumps(formats, separators=(",", ":")),
    }, [])


def class_filter(cls: str) -> dict[str, Any]:
    """A Dashboards custom filter selecting one retention class's backing indices."""
    query = {"wildcard": {"_index": {"value": f".ds-logs-*-{cls}-*"}}}
    return {"meta": {"alias": f"retention class: {cls}", "negate": False, "disabled": False, "type": "custom",
                     "key": "query", "value": json.dumps(query)}, "query": query, "$state": {"store": "appState"}}


def saved_search(cls: str) -> dict[str, Any]:
    return _obj("search", f"logharbor-search-{cls}", {
        "title": f"LogHarbor: {cls} logs", "description": f"Events of the {cls} retention class (logs-*-{cls})",
        "hits": 0, "columns": SEARCH_COLUMNS, "sort": [["@timestamp", "desc"]], "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(filters=[class_filter(cls)])},
    }, _ref())


def _count() -> dict[str, Any]:
    return {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}}


def _terms(aid: str, field: str, schema: str, size: int = 10) -> dict[str, Any]:
    return {"id": aid, "enabled": True, "type": "terms", "schema": schema,
            "params": {"field": field, "size": size, "order": "desc", "orderBy": "1", "otherBucket": False,
                       "missingBucket": False}}


def _axes(position: str = "bottom", value_position: str = "left", mode: str = "normal") -> dict[str, Any]:
    return {
        "grid": {"categoryLines": False},
        "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": position, "show": True,
                          "style": {}, "scale": {"type": "linear"}, "labels": {"show": True, "filter": True,
                                                                                 "truncate": 100}, "title": {}}],
        "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": value_position,
                       "show": True, "style": {}, "scale": {"type": "linear", "mode": "normal"},
                       "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                       "title": {"text": "Count"}}],
        "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked" if mode == "normal" else mode,
                          "data": {"label": "Count", "id": "1"}, "valueAxis": "ValueAxis-1",
                          "drawLinesBetweenPoints": True, "showCircles": True}],
        "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [], "addTimeMarker": False,
        "labels": {"show": False},
    }


def visualization(vid: str, title: str, vis_type: str, params: dict[str, Any], aggs: list[dict[str, Any]],
                  query: str = "") -> dict[str, Any]:
    vis_state = {"title": title, "type": vis_type, "params": {"type": vis_type, **params}, "aggs": aggs}
    return _obj("visualization", vid, {
        "title": title, "visState": json.dumps(vis_state, separators=(",", ":")), "uiStateJSON": "{}",
        "description": "", "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(query)},
    }, _ref())


def visualizations(fields: dict[str, str]) -> list[dict[str, Any]]:
    date_hist = {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
                 "params": {"field": "@timestamp", "useNormalizedOpenSearchInterval": True, "interval": "auto",
                            "drop_partials": False, "min_doc_count": 1, "extended_bounds": {}}}
    out = [
        visualization("logharbor-volume-by-level", "LogHarbor: volume by level", "histogram", _axes(),
                      [_count(), date_hist, _terms("3", "log.level", "group", 8)]),
        visualization("logharbor-errors-by-service", "LogHarbor: errors by service", "horizontal_bar",
                      _axes("left", "bottom"), [_count(), _terms("2", "service.name", "segment", 15)],
                      query="log.level: ERROR or log.level: FATAL"),
        visualization("logharbor-top-countries", "LogHarbor: top client countries", "table",
                      {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False,
                       "showTotal": False, "totalFunc": "sum", "percentageCol": ""},
                      [_count(), _terms("2", "client.geo.country_name", "bucket", 10)]),
        visualization("logharbor-geoip-map", "LogHarbor: clients on a map (GeoIP)", "tile_map",
                      {"mapType": "Scaled Circle Markers", "isDesaturated": True, "addTooltip": True,
                       "heatClusterSize": 1.5, "legendPosition": "bottomright", "mapZoom": 2, "mapCenter": [20, 0],
                       "colorSchema": "Yellow to Red", "wms": {"enabled": False, "options": {}}},
                      [_count(), {"id": "2", "enabled": True, "type": "geohash_grid", "schema": "segment",
                                  "params": {"field": "client.geo.location", "autoPrecision": True, "precision": 2,
                                             "useGeocentroid": True, "isFilteredByCollar": True}}]),
    ]
    pattern = next((f for f in PATTERN_FIELDS if f in fields), None)
    if pattern is not None:
        out.append(visualization("logharbor-top-patterns", "LogHarbor: top patterns", "table",
                                 {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False,
                                  "showTotal": False, "totalFunc": "sum", "percentageCol": ""},
                                 [_count(), _terms("2", pattern, "bucket", 20)]))
    return out


def dashboard(vis: list[dict[str, Any]], searches: list[dict[str, Any]]) -> dict[str, Any]:
    panels, refs = [], []
    layout = [(0, 0, 48, 14), (0, 14, 24, 15), (24, 14, 24, 15), (0, 29, 24, 18), (24, 29, 24, 18)]
    members = [*vis[:4], next(s for s in searches if s["id"].endswith("-errors")), *vis[4:]]
    for i, obj in enumerate(members):
        x, y, w, h = layout[i] if i < len(layout) else (0, 47 + (i - len(layout)) * 15, 48, 15)
        ref = f"panel_{i}"
        panels.append({"version": "3.0.0", "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(i + 1)},
                       "panelIndex": str(i + 1), "embeddableConfig": {}, "panelRefName": ref})
        refs.append({"name": ref, "type": obj["type"], "id": obj["id"]})
    return _obj("dashboard", DASHBOARD_ID, {
        "title": "LogHarbor overview", "hits": 0, "description": "Volume by level, errors by service, GeoIP",
        "panelsJSON": json.dumps(panels, separators=(",", ":")),
        "optionsJSON": json.dumps({"hidePanelTitles": False, "useMargins": True}),
        "version": 1, "timeRestore": True, "timeFrom": "now-24h", "timeTo": "now", "refreshInterval":
            {"pause": False, "value": 30000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"},
                                                                  "filter": []})},
    }, refs)


def saved_objects(classes: list[str] | None = None, fields: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """All objects in import order (referenced objects before the ones that reference them)."""
    if classes is None:
        from logharbor.config import StorageSettings

        classes = list(retention_classes(StorageSettings()))
    fields = fields if fields is not None else mapping_fields()
    searches = [saved_search(c) for c in classes]
    vis = visualizations(fields)
    return [index_pattern(fields), *searches, *vis, dashboard(vis, searches)]


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    lines = [json.dumps(o, sort_keys=True, ensure_ascii=False) for o in objects]
    lines.append(json.dumps({"exportedCount": len(objects), "missingRefCount": 0, "missingReferences": []},
                            sort_keys=True))
    return "\n".join(lines) + "\n"


def _export(args: argparse.Namespace) -> int:
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    text = to_ndjson(saved_objects(classes))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10)) - 1} saved objects to {out}; import: curl -X POST "
              "'http://<dashboards>:5601/api/saved_objects/_import?overwrite=true' -H 'osd-xsrf: true' "
              f"--form file=@{out}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("dashboards", help="OpenSearch Dashboards / Kibana saved objects")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write the saved-objects NDJSON (index pattern, searches, dashboard)")
    export.add_argument("--out", default=DEFAULT_OUT.name,
                        help="file to write, - for stdout (default: %(default)s; the repository's copy that "
                        "docker-compose imports: ops/dashboards/logharbor-saved-objects.ndjson)")
    export.add_argument("--classes", help="retention classes, comma-separated (default: storage.retention_days + dlq)")
    export.set_defaults(handler=_export)
