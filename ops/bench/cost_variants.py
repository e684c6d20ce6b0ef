"""Mapping and document variants measured by ``ops/bench/cost.py`` — bench-only, never applied.

Each variant is LogHarbor's composed ``logs-*-standard`` template (as OpenSearch resolves it,
``_simulate_index``) with one change, or OpenSearch's default dynamic mapping. For the text
fields the query language searches (``message``, ``event.original``) a variant also says how
the three wildcard forms — word prefix ``data*``, word suffix ``*base``, word infix
``LIKE "%timeout%"`` — would have to be written against it, and whether that query type is
allowed under ``search.allow_expensive_queries=false``. That last column is read from
OpenSearch's source, not measured: the shared devstack's cluster setting must not be changed.

Over 500 lines on purpose: it is a catalogue — each measured design is a few lines of mapping
surgery plus the query it needs, and BENCHMARKS.md's tables name them; the pure arithmetic the
bench prints lives apart in ``ops/bench/cost_math.py``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.bench.cost_math import drop_field, strip_key

TEXT_FIELDS = ("message", "event.original")
PREFIXES = {"min_chars": 1, "max_chars": 19}
# (query-language text, kind, word): issue 13's three wildcard forms plus two that hit the
# ingest mix. The compiler searches message and event.original for word*/*word, and only the
# named field for LIKE.
QUERIES = (
    ("data*", "prefix", "data"),
    ("*base", "suffix", "base"),
    ('message LIKE "%timeout%"', "infix", "timeout"),
    ("login*", "prefix", "login"),
    ("*service", "suffix", "service"),
    ("source:svc-1*", "prefix", "svc-1"),
    ("host:*-1", "suffix", "-1"),
    ('path LIKE "/api/users/1%"', "prefix", "/api/users/1"),
)
# the keyword field a form above asks (case-sensitive, one keyword value), else the text fields
QUERY_FIELDS = {"source:svc-1*": ("service.name",), "host:*-1": ("host.name",),
                'path LIKE "/api/users/1%"': ("url.path",)}
# The ECS component template as it was before issue 13's lean mapping (kept for the migration test).
BEFORE_13 = Path(__file__).resolve().parents[2] / "tests/data/templates/logharbor-ecs-mappings-v1.json"
# ... and as the lean mapping left it (2026-12-01), before the further lean mapping.
LEAN_V2 = Path(__file__).resolve().parents[2] / "tests/data/templates/logharbor-ecs-mappings-v2.json"
LEAN_V3 = Path(__file__).resolve().parents[2] / "tests/data/templates/logharbor-ecs-mappings-v3.json"
_WORD = "[^a-z0-9_]"  # approximates a standard-tokenizer boundary for the regexp forms


@dataclass
class Variant:
    name: str
    what: str
    body: dict[str, Any]
    # (kind, word) → (query clause for ONE text field, allowed with allow_expensive_queries=false)
    clause: Callable[[str, str, str], dict[str, Any]]
    allowed: dict[str, bool]
    doc: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    compiler_dsl: bool = True  # does the query compiler's current DSL apply as is?
    notes: list[str] = field(default_factory=list)


def _current_clause(fld: str, kind: str, word: str) -> dict[str, Any]:
    """The pre-issue-13 forms: prefix on the field itself (it carried index_prefixes)."""
    if kind == "prefix":
        return {"prefix": {fld: {"value": word}}}
    if kind == "suffix":
        return {"prefix": {f"{fld}.reversed": {"value": word[::-1]}}}
    return {"match_phrase": {fld: {"query": word}}}


def _plain_clause(fld: str, kind: str, word: str) -> dict[str, Any]:
    """Without prefix subfields the same answers need multi-term queries (refused under false)."""
    if kind == "prefix":
        return {"prefix": {fld: {"value": word}}}
    if kind == "suffix":
        return {"wildcard": {fld: {"value": f"*{word}"}}}
    return {"match_phrase": {fld: {"query": word}}}


def _wildcard_clause(fld: str, kind: str, word: str) -> dict[str, Any]:
    if kind == "prefix":
        rx = f"(.*{_WORD})?{word}.*"
    elif kind == "suffix":
        rx = f".*{word}({_WORD}.*)?"
    else:
        rx = f"(.*{_WORD})?{word}({_WORD}.*)?"
    return {"regexp": {f"{fld}.wc": {"value": rx}}}


def _mot_prefix_clause(fld: str, kind: str, word: str) -> dict[str, Any]:
    if kind == "prefix":
        return {"prefix": {f"{fld}.prefix": {"value": word}}}
    if kind == "suffix":
        return {"prefix": {f"{fld}.reversed": {"value": word[::-1]}}}
    return {"match_phrase": {fld: {"query": word}}}


def _ngram_clause(fld: str, kind: str, word: str) -> dict[str, Any]:
    """Trigrams find substrings: a superset of word prefix/suffix (no word anchors)."""
    if kind == "infix":
        return {"match_phrase": {fld: {"query": word}}}
    return {"match_phrase": {f"{fld}.ngram": {"query": word}}}


def _map_text(mappings: dict[str, Any], make: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    for dotted in TEXT_FIELDS:
        old = drop_field(mappings, dotted)
        *parents, leaf = dotted.split(".")
        props = mappings["properties"]
        for p in parents:
            props = props.setdefault(p, {"properties": {}})["properties"]
        props[leaf] = make(old or {})


def lean_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Issue 13's redundant copies removed: ``event.original`` where it equals ``message``,
    ``event.id`` (it is ``_id``), ``labels.tenant`` (the data stream names the tenant)."""
    doc = copy.deepcopy(doc)
    event = doc.get("event", {})
    if event.get("original") == doc.get("message"):
        event.pop("original", None)
    event.pop("id", None)
    doc.get("labels", {}).pop("tenant", None)
    return doc


def before_13_document(doc: dict[str, Any]) -> dict[str, Any]:
    """The pipeline's document as it was before issue 13: ``event.original`` beside ``message``
    even where they are equal (every bench event has a raw line, so this restores it exactly)."""
    if "message" not in doc or "original" in doc.get("event", {}):
        return doc
    doc = copy.deepcopy(doc)
    doc.setdefault("event", {})["original"] = doc["message"]
    return doc


def _mapping_nodes(mappings: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every dict in a mapping tree (properties, subfields, dynamic templates), depth first."""
    stack: list[Any] = [mappings]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(node)


def _without_keyword_wildcards(mappings: dict[str, Any]) -> dict[str, Any]:
    """The wildcard subfields of keyword fields (``source:web*``) removed: ``.prefix``/``.reversed``
    (templates before 2026-12-02) or ``.prefixes``/``.suffixes`` (now)."""
    mappings = copy.deepcopy(mappings)
    for node in list(_mapping_nodes(mappings)):
        subs = node.get("fields")
        if node.get("type") == "keyword" and isinstance(subs, dict):
            for sub in ("prefix", "reversed", "prefixes", "suffixes"):
                subs.pop(sub, None)
            if not subs:
                node.pop("fields")
    return mappings


def _text_edit(mappings: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    mappings = copy.deepcopy(mappings)
    _map_text(mappings, lambda old: (edit(old), old)[1])
    return mappings


def _no_prefixes(m: dict[str, Any]) -> None:
    m.pop("index_prefixes", None)
    m.get("fields", {}).get("reversed", {}).pop("index_prefixes", None)


def field_cost_variants(template: dict[str, Any]) -> list[Variant]:
    """The template minus ONE thing each: what that thing costs (docs/STORAGE.md). Run them
    with ``--only``; their queries are the current ones, so a removed subfield shows as
    missing answers. Written for the pre-issue-13 template (docs/STORAGE.md's table): on the
    current one ``minus-text-keyword`` and ``minus-index-prefixes`` have nothing to remove on
    the text fields themselves (no ``.keyword``; the prefixes sit on ``.prefix``/``.reversed``)."""
    base, settings = template["mappings"], template["settings"]

    def with_mappings(m: dict[str, Any]) -> dict[str, Any]:
        return {"settings": copy.deepcopy(settings), "mappings": m}

    def no_original(doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        doc.get("event", {}).pop("original", None)
        return doc

    def no_event_id(doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        doc.get("event", {}).pop("id", None)
        return doc

    def no_tenant(doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        doc.get("labels", {}).pop("tenant", None)
        return doc

    cur = {"prefix": True, "suffix": True, "infix": True}
    return [
        Variant("minus-labels-tenant", "the document without labels.tenant (the stream names the tenant)",
                with_mappings(copy.deepcopy(base)), _edge_clause, cur, doc=no_tenant),
        Variant("minus-event-original", "the document without event.original", with_mappings(copy.deepcopy(base)),
                _edge_clause, cur, doc=no_original),
        Variant("minus-text-keyword", "message/event.original without .keyword",
                with_mappings(_text_edit(base, lambda m: m.get("fields", {}).pop("keyword", None))),
                _current_clause, cur),
        Variant("minus-text-reversed", "message/event.original without the .reversed twin",
                with_mappings(_text_edit(base, lambda m: m.get("fields", {}).pop("reversed", None))),
                _current_clause, cur),
        Variant("minus-index-prefixes", "message/event.original (+ twins) without index_prefixes",
                with_mappings(_text_edit(base, _no_prefixes)), _current_clause, cur),
        Variant("minus-keyword-wildcards", "keyword fields without their wildcard subfields",
                with_mappings(_without_keyword_wildcards(base)), _edge_clause, cur),
        Variant("minus-text-grams", "message/event.original without their .prefixes/.suffixes edge grams",
                with_mappings(_text_edit(base, lambda m: [m.get("fields", {}).pop(k, None)
                                                          for k in ("prefixes", "suffixes")])), _edge_clause, cur),
        Variant("minus-all-grams", "minus-text-grams and minus-keyword-wildcards: no wildcard index at all",
                with_mappings(_without_keyword_wildcards(_text_edit(base, lambda m: [
                    m.get("fields", {}).pop(k, None) for k in ("prefixes", "suffixes")]))), _edge_clause, cur),
        Variant("minus-event-id", "the document without event.id (it is the _id; search sorts on it)",
                with_mappings(copy.deepcopy(base)), _edge_clause, cur, doc=no_event_id),
    ]


# The analyzers of the templates before the edge grams (lh_reversed for the .reversed twins,
# lh_keyword_* for the keyword .prefix/.reversed subfields).
OLDER_ANALYZERS: dict[str, Any] = {
    "lh_reversed": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "reverse"]},
    "lh_keyword_exact": {"type": "custom", "tokenizer": "keyword"},
    "lh_keyword_reversed": {"type": "custom", "tokenizer": "keyword", "filter": ["reverse"]},
}
# Edge-gram subfields (issue 13, further lean mapping): ONLY the prefixes of each word (of the
# reversed word for suffixes), 1..19 characters — what ``index_prefixes`` builds in its hidden
# ``._index_prefix`` field, without the second copy of the whole words that a ``.prefix`` text
# subfield indexes beside it (``message`` itself already indexes them). ``data*`` is then a
# ``term`` on ``<field>.prefixes``, ``*base`` a ``term`` ``esab`` on ``<field>.suffixes``.
EDGE_ANALYSIS: dict[str, Any] = {
    "filter": {"lh_edge": {"type": "edge_ngram", "min_gram": 1, "max_gram": 19}},
    "analyzer": {
        "lh_prefixes": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "lh_edge"]},
        "lh_suffixes": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "reverse", "lh_edge"]},
        "lh_keyword_prefixes": {"type": "custom", "tokenizer": "keyword", "filter": ["lh_edge"]},
        "lh_keyword_suffixes": {"type": "custom", "tokenizer": "keyword", "filter": ["reverse", "lh_edge"]},
    },
}
_GRAMS = {"type": "text", "index_options": "docs", "norms": False}


def _edge_clause(fld: str, kind: str, word: str) -> dict[str, Any]:
    if kind == "prefix":
        return {"term": {f"{fld}.prefixes": {"value": word}}}
    if kind == "suffix":
        return {"term": {f"{fld}.suffixes": {"value": word[::-1]}}}
    return {"match_phrase": {fld: {"query": word}}}


def _keyword_wildcard_nodes(mappings: dict[str, Any]) -> list[dict[str, Any]]:
    """Every keyword mapping in ``mappings`` that carries ``.prefix``/``.reversed`` subfields."""
    return [n for n in _mapping_nodes(mappings) if n.get("type") == "keyword" and "prefix" in n.get("fields", {})]


def _keyword_subfields(mappings: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    mappings = copy.deepcopy(mappings)
    for node in _keyword_wildcard_nodes(mappings):
        edit(node["fields"])
    return mappings


def _kw_docs_only(subs: dict[str, Any]) -> None:
    for sub in ("prefix", "reversed"):
        subs[sub].update({"index_options": "docs", "norms": False})


def _kw_edge(subs: dict[str, Any]) -> None:
    subs.pop("prefix", None)
    subs.pop("reversed", None)
    subs["prefixes"] = {**_GRAMS, "analyzer": "lh_keyword_prefixes"}
    subs["suffixes"] = {**_GRAMS, "analyzer": "lh_keyword_suffixes"}


def _text_edge(old: dict[str, Any]) -> dict[str, Any]:
    return {"type": "match_only_text", "analyzer": "standard", "fields": {
        "prefixes": {**_GRAMS, "analyzer": "lh_prefixes"}, "suffixes": {**_GRAMS, "analyzer": "lh_suffixes"}}}


def _set_field(mappings: dict[str, Any], dotted: str, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    mappings = copy.deepcopy(mappings)
    props = mappings["properties"]
    *parents, leaf = dotted.split(".")
    for p in parents:
        props = props.setdefault(p, {"properties": {}})["properties"]
    edit(props.setdefault(leaf, {"type": "keyword"}))
    return mappings


def _no_keyword_doc_values(mappings: dict[str, Any], keep: tuple[str, ...]) -> dict[str, Any]:
    """``doc_values: false`` on every mapped keyword outside ``keep`` (dynamic ones included)."""
    mappings = copy.deepcopy(mappings)

    def walk(props: dict[str, Any], path: str) -> None:
        for name, spec in props.items():
            if "properties" in spec:
                walk(spec["properties"], f"{path}{name}.")
            elif spec.get("type") == "keyword" and f"{path}{name}" not in keep:
                spec["doc_values"] = False

    walk(mappings["properties"], "")
    kept = [{f"keep_{i}": {"path_match": p, "mapping": {"type": "keyword", "ignore_above": 1024}}}
            for i, p in enumerate(keep)]
    for tmpl in mappings.get("dynamic_templates", []):
        for body in tmpl.values():
            if body.get("mapping", {}).get("type") == "keyword":
                body["mapping"]["doc_values"] = False
    mappings["dynamic_templates"] = kept + mappings.get("dynamic_templates", [])
    return mappings


# What the pipeline derives or copies into every document (bench-side transform; the pipeline
# is not changed here): hour/day/business-hours/is_error are functions of @timestamp and
# log.level, the pattern template is one lookup by pattern id, service.environment repeats
# labels.environment, url.original repeats url.path when they are equal.
DERIVED_COPIES = ("logharbor.hour_of_day", "logharbor.day_of_week", "logharbor.business_hours",
                  "logharbor.is_error", "logharbor.pattern.template")


def without_derived_copies(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what a query can compute from other fields (``DERIVED_COPIES``,
    ``service.environment`` equal to ``labels.environment``, ``url.original`` equal to ``url.path``)."""
    doc = copy.deepcopy(doc)
    for dotted in DERIVED_COPIES:
        *parents, leaf = dotted.split(".")
        node: Any = doc
        for p in parents:
            node = node.get(p, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    svc, labels, url = doc.get("service", {}), doc.get("labels", {}), doc.get("url", {})
    if svc.get("environment") is not None and svc.get("environment") == labels.get("environment"):
        svc.pop("environment")
    if url.get("original") is not None and url.get("original") == url.get("path"):
        url.pop("original")
    return doc


FURTHER = ("kw-docs", "edge-text", "edge-all", "event-id-dv", "sort-service", "no-keyword-dv", "doc-derived",
           "further", "further+sort")


def further_variants(template: dict[str, Any]) -> list[Variant]:
    """Candidates after the lean mapping (docs/BENCHMARKS.md "Further lean mapping"): each is
    the template with ONE change; ``edge-all`` and the sort variants change how wildcards are
    queried, so their own DSL is the term form (the compiler asks both forms since then)."""
    settings, base = template["settings"], template["mappings"]
    cur = {"prefix": True, "suffix": True, "infix": True}

    def body(mappings: dict[str, Any] | None = None, patch: dict[str, Any] | None = None,
             analysis: dict[str, Any] | None = None) -> dict[str, Any]:
        s = copy.deepcopy(settings)
        s["index"].update(copy.deepcopy(patch or {}))
        for kind, defs in (analysis or {}).items():
            s["index"].setdefault("analysis", {}).setdefault(kind, {}).update(copy.deepcopy(defs))
        return {"settings": s, "mappings": copy.deepcopy(mappings if mappings is not None else base)}

    m_edge = copy.deepcopy(base)
    _map_text(m_edge, _text_edge)
    m_edge_all = _keyword_subfields(m_edge, _kw_edge)
    id_no_index = _set_field(base, "event.id", lambda f: f.update({"index": False}))
    sort_svc = {"sort.field": ["service.name", "@timestamp"], "sort.order": ["asc", "desc"]}
    return [
        Variant("kw-docs", "keyword .prefix/.reversed subfields docs-only, no norms",
                body(_keyword_subfields(base, _kw_docs_only)), _edge_clause, cur),
        Variant("edge-text", "message/event.original: .prefixes/.suffixes edge-gram subfields instead of "
                ".prefix/.reversed with index_prefixes", body(m_edge, analysis=EDGE_ANALYSIS), _edge_clause, cur),
        Variant("edge-all", "edge-text + the same on keyword fields (.prefixes/.suffixes)",
                body(m_edge_all, analysis=EDGE_ANALYSIS), _edge_clause, cur),
        Variant("event-id-dv", "event.id index:false (doc values kept: the sort tie-breaker)",
                body(id_no_index), _edge_clause, cur),
        Variant("sort-service", "index sort service.name asc, @timestamp desc", body(patch=sort_svc),
                _edge_clause, cur),
        Variant("no-keyword-dv", "doc_values false on every keyword but event.id/service.name/log.level/"
                "logharbor.pattern.* (information only: the fields API offers every keyword)",
                body(_no_keyword_doc_values(base, ("event.id", "service.name", "log.level", "logharbor.pattern.id",
                                                   "logharbor.pattern.template"))),
                _edge_clause, cur),
        Variant("doc-derived", "document without derived copies (hour/day/business hours/is_error, "
                "pattern template, service.environment, url.original = url.path)", body(),
                _edge_clause, cur, doc=without_derived_copies),
        Variant("further", "edge-all + event-id-dv", body(_set_field(m_edge_all, "event.id",
                                                                      lambda f: f.update({"index": False})),
                                                           analysis=EDGE_ANALYSIS), _edge_clause, cur),
        Variant("further+sort", "further + sort-service", body(_set_field(m_edge_all, "event.id",
                                                                           lambda f: f.update({"index": False})),
                                                                patch=sort_svc, analysis=EDGE_ANALYSIS),
                _edge_clause, cur),
    ]


def build_variants(template: dict[str, Any]) -> list[Variant]:
    """All variants, the current template first (the reference for answers) then the default."""
    base_settings = template["settings"]
    base_mappings = template["mappings"]
    current_allowed = {"prefix": True, "suffix": True, "infix": True}

    def body(settings_patch: dict[str, Any] | None = None, mappings: dict[str, Any] | None = None,
             analysis: dict[str, Any] | None = None) -> dict[str, Any]:
        settings = copy.deepcopy(base_settings)
        settings["index"].update(settings_patch or {})
        if mappings is not None:  # the design variants below name the earlier templates' analyzers
            analysis = {"analyzer": {**OLDER_ANALYZERS, **(analysis or {}).get("analyzer", {})},
                        **{k: v for k, v in (analysis or {}).items() if k != "analyzer"}}
        for kind, defs in (analysis or {}).items():
            settings["index"].setdefault("analysis", {}).setdefault(kind, {}).update(defs)
        return {"settings": settings, "mappings": copy.deepcopy(mappings or base_mappings)}

    def older(fixture: Path) -> dict[str, Any]:
        """The index body of an earlier ECS component template (its mappings and analyzers)."""
        template = json.loads(fixture.read_text())["template"]
        return body(mappings=template["mappings"], analysis=template["settings"]["index"]["analysis"])

    out = [
        Variant("template", "LogHarbor's data-stream template today (text with positions, no norms, + edge-gram "
                ".prefixes/.suffixes)",
                body(), _edge_clause, current_allowed),
        Variant("before-13", "the template and document before issue 13 (text + index_prefixes, .keyword, "
                "event.original always)", older(BEFORE_13),
                _current_clause, current_allowed,
                doc=before_13_document),
        Variant("lean-v2", "the lean mapping of 2026-12-01 (match_only_text + .prefix/.reversed with "
                "index_prefixes; keyword .prefix/.reversed)", older(LEAN_V2),
                _mot_prefix_clause, current_allowed),
        Variant("lean-v3", "the template of 2026-12-02 morning (match_only_text + edge-gram .prefixes/.suffixes: "
                "phrases confirmed from _source)", older(LEAN_V3),
                _edge_clause, current_allowed),
        Variant("default", "OpenSearch default dynamic mapping, default codec",
                {"settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0}}},
                _plain_clause, {"prefix": False, "suffix": False, "infix": True}, compiler_dsl=False),
        Variant("default-bc", "default dynamic mapping + best_compression",
                {"settings": {"index": {"number_of_shards": 1, "number_of_replicas": 0,
                                        "codec": "best_compression"}}},
                _plain_clause, {"prefix": False, "suffix": False, "infix": True}, compiler_dsl=False),
    ]

    m = copy.deepcopy(base_mappings)
    _map_text(m, lambda old: {"type": "text", "fields": {"keyword": old.get("fields", {}).get(
        "keyword", {"type": "keyword", "ignore_above": 2048})}})
    out.append(Variant("no-prefixes", "text fields without index_prefixes and reversed twin", body(mappings=m),
                       _plain_clause, {"prefix": False, "suffix": False, "infix": True}, compiler_dsl=False))

    m = copy.deepcopy(base_mappings)
    _map_text(m, lambda old: {"type": "text", "fields": {"wc": {"type": "wildcard", "normalizer": "lh_lower"}}})
    out.append(Variant("wildcard", "text + `wildcard` subfield (lowercase normalizer), no keyword/prefixes",
                       body(mappings=m, analysis={"normalizer": {"lh_lower": {"type": "custom",
                                                                              "filter": ["lowercase"]}}}),
                       _wildcard_clause, {"prefix": True, "suffix": True, "infix": True}, compiler_dsl=False))

    m = copy.deepcopy(base_mappings)
    _map_text(m, lambda old: {"type": "match_only_text", "fields": {
        "reversed": {"type": "match_only_text", "analyzer": "lh_reversed"}}})
    out.append(Variant("match_only_text", "match_only_text + reversed match_only_text twin (no index_prefixes: "
                       "OpenSearch refuses them on this type)", body(mappings=m), _current_clause,
                       {"prefix": False, "suffix": False, "infix": True}))

    m = copy.deepcopy(base_mappings)
    docs_only = {"type": "text", "index_options": "docs", "norms": False, "index_prefixes": PREFIXES}
    _map_text(m, lambda old: {"type": "match_only_text", "fields": {
        "prefix": {**docs_only, "analyzer": "standard"}, "reversed": {**docs_only, "analyzer": "lh_reversed"}}})
    out.append(Variant("mot-prefixes", "match_only_text + docs-only prefix and reversed subfields with "
                       "index_prefixes, no keyword", body(mappings=m), _mot_prefix_clause, current_allowed,
                       compiler_dsl=False))

    m = copy.deepcopy(base_mappings)
    _map_text(m, lambda old: {"type": "text", "fields": {"ngram": {"type": "text", "analyzer": "lh_trigram"}}})
    out.append(Variant("ngram", "text + trigram subfield, no keyword/prefixes",
                       body(mappings=m, analysis={
                           "tokenizer": {"lh_trigram_tok": {"type": "ngram", "min_gram": 3, "max_gram": 3,
                                                            "token_chars": ["letter", "digit"]}},
                           "analyzer": {"lh_trigram": {"type": "custom", "tokenizer": "lh_trigram_tok",
                                                       "filter": ["lowercase"]}}}),
                       _ngram_clause, {"prefix": True, "suffix": True, "infix": True}, compiler_dsl=False))

    out.append(Variant("sort-timestamp", "template + index.sort @timestamp desc",
                       body({"sort.field": "@timestamp", "sort.order": "desc"}), _edge_clause, current_allowed))

    m = strip_key(base_mappings, "ignore_above")
    for dotted in ("log.syslog.structured_data",):  # flat_object cannot derive its source
        drop_field(m, dotted)
    out.append(Variant("derived-source", "template + index.derived_source.enabled (needs ignore_above and "
                       "flat_object removed)", body({"derived_source": {"enabled": True}}, mappings=m),
                       _edge_clause, current_allowed))

    out.append(Variant("lean-doc", "template, document without the redundant copies (bench-side transform)",
                       body(), _edge_clause, current_allowed, doc=lean_document))
    lean_mot = next(v for v in out if v.name == "mot-prefixes")
    out.append(Variant("lean-doc+mot-prefixes", "lean document + mot-prefixes mapping", copy.deepcopy(lean_mot.body),
                       _mot_prefix_clause, current_allowed, doc=lean_document, compiler_dsl=False))
    return out + field_cost_variants(template) + further_variants(template)


def query_body(variant: Variant, kind: str, word: str, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The variant's query over the fields the compiler would search for this form (``fields``
    for a keyword form: its ``.prefix``/``.reversed`` — or ``.prefixes``/``.suffixes`` — subfield)."""
    if fields is None:
        fields = TEXT_FIELDS[:1] if kind == "infix" else TEXT_FIELDS
    return {"bool": {"should": [variant.clause(f, kind, word) for f in fields], "minimum_should_match": 1}}
