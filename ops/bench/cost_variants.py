"""Mapping and document variants measured by ``ops/bench/cost.py`` — bench-only, never applied.

Each variant is LogHarbor's composed ``logs-*-standard`` template (as OpenSearch resolves it,
``_simulate_index``) with one change, or OpenSearch's default dynamic mapping. For the text
fields the query language searches (``message``, ``event.original``) a variant also says how
the three wildcard forms — word prefix ``data*``, word suffix ``*base``, word infix
``LIKE "%timeout%"`` — would have to be written against it, and whether that query type is
allowed under ``search.allow_expensive_queries=false``. That last column is read from
OpenSearch's source, not measured: the shared devstack's cluster setting must not be changed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
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
)
# The ECS component template as it was before issue 13's lean mapping (kept for the migration test).
BEFORE_13 = Path(__file__).resolve().parents[2] / "tests/data/templates/logharbor-ecs-mappings-v1.json"
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


def _without_keyword_wildcards(mappings: dict[str, Any]) -> dict[str, Any]:
    """The ``.prefix``/``.reversed`` subfields of keyword fields (``source:web*``) removed."""
    mappings = copy.deepcopy(mappings)
    stack = [mappings]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            subs = node.get("fields")
            if node.get("type") == "keyword" and isinstance(subs, dict):
                for sub in ("prefix", "reversed"):
                    subs.pop(sub, None)
                if not subs:
                    node.pop("fields")
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(node)
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

    def no_tenant(doc: dict[str, Any]) -> dict[str, Any]:
        doc = copy.deepcopy(doc)
        doc.get("labels", {}).pop("tenant", None)
        return doc

    cur = {"prefix": True, "suffix": True, "infix": True}
    return [
        Variant("minus-labels-tenant", "the document without labels.tenant (the stream names the tenant)",
                with_mappings(copy.deepcopy(base)), _mot_prefix_clause, cur, doc=no_tenant),
        Variant("minus-event-original", "the document without event.original", with_mappings(copy.deepcopy(base)),
                _current_clause, cur, doc=no_original),
        Variant("minus-text-keyword", "message/event.original without .keyword",
                with_mappings(_text_edit(base, lambda m: m.get("fields", {}).pop("keyword", None))),
                _current_clause, cur),
        Variant("minus-text-reversed", "message/event.original without the .reversed twin",
                with_mappings(_text_edit(base, lambda m: m.get("fields", {}).pop("reversed", None))),
                _current_clause, cur),
        Variant("minus-index-prefixes", "message/event.original (+ twins) without index_prefixes",
                with_mappings(_text_edit(base, _no_prefixes)), _current_clause, cur),
        Variant("minus-keyword-wildcards", "keyword fields without their .prefix/.reversed subfields",
                with_mappings(_without_keyword_wildcards(base)), _current_clause, cur),
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
        for kind, defs in (analysis or {}).items():
            settings["index"].setdefault("analysis", {}).setdefault(kind, {}).update(defs)
        return {"settings": settings, "mappings": copy.deepcopy(mappings or base_mappings)}

    before = json.loads(BEFORE_13.read_text())["template"]["mappings"]
    out = [
        Variant("template", "LogHarbor's data-stream template today (issue 13: match_only_text + .prefix/.reversed)",
                body(), _mot_prefix_clause, current_allowed),
        Variant("before-13", "the template and document before issue 13 (text + index_prefixes, .keyword, "
                "event.original always)", body(mappings=before), _current_clause, current_allowed,
                doc=before_13_document),
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
                       body({"sort.field": "@timestamp", "sort.order": "desc"}), _mot_prefix_clause, current_allowed))

    m = strip_key(base_mappings, "ignore_above")
    for dotted in ("log.syslog.structured_data",):  # flat_object cannot derive its source
        drop_field(m, dotted)
    out.append(Variant("derived-source", "template + index.derived_source.enabled (needs ignore_above and "
                       "flat_object removed)", body({"derived_source": {"enabled": True}}, mappings=m),
                       _mot_prefix_clause, current_allowed))

    out.append(Variant("lean-doc", "template, document without the redundant copies (bench-side transform)",
                       body(), _mot_prefix_clause, current_allowed, doc=lean_document))
    lean_mot = next(v for v in out if v.name == "mot-prefixes")
    out.append(Variant("lean-doc+mot-prefixes", "lean document + mot-prefixes mapping", copy.deepcopy(lean_mot.body),
                       _mot_prefix_clause, current_allowed, doc=lean_document, compiler_dsl=False))
    return out + field_cost_variants(template)


def query_body(variant: Variant, kind: str, word: str) -> dict[str, Any]:
    """The variant's query over the fields the compiler would search for this form."""
    fields = TEXT_FIELDS[:1] if kind == "infix" else TEXT_FIELDS
    return {"bool": {"should": [variant.clause(f, kind, word) for f in fields], "minimum_should_match": 1}}
