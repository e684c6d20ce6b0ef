"""Field names and field kinds: which ECS field a query name means, and how it is indexed.

The resolver is a function of the alias mapping (default ``logharbor.ecs.SHORT_FIELDS``) so
deployments with their own extracted fields can extend it (``query.field_aliases``). The
kind of a field decides how both back ends compare values, so it is fixed here once:

* TEXT — analysed with the standard analyzer (phrase/word/prefix/suffix on tokens);
* KEYWORD — exact, case-sensitive strings;
* LEVEL — ``log.level``: values normalised with ``normalize_level``, ranges by severity;
* NUMBER, DATE, IP — typed comparisons;
* DYNAMIC — a name LogHarbor does not know (extracted fields). Its type is whatever the index
  holds: the template maps dynamic strings to ``keyword`` and JSON numbers to numbers, so the
  matcher compares with the type of the value it finds in the event.

``prefix_field``/``suffix_field`` name the subfields that make ``x*`` and ``*x`` cheap (edge
grams of the words and of the reversed words; see mapping_requirements.json). A field without
them rejects wildcards unless expensive queries are allowed.

Text and wildcard keyword fields changed shape twice in issue 13, and a data stream keeps its
old backing indices until retention deletes them, so the DSL asks every generation's field (each
is unmapped — OpenSearch rewrites the clause to match_none — on the other generations, and none is
an expensive query anywhere):

1. before issue 13: text fields ``text`` with ``index_prefixes`` on the field itself — ``x*`` is a
   term on ``<field>._index_prefix`` (the field OpenSearch builds for them), ``*x`` ``prefix`` on
   the ``.reversed`` twin (``index_prefixes`` too); keyword fields with
   ``.prefix``/``.reversed`` text subfields carrying ``index_prefixes``;
2. the lean mapping (2026-12-01): text fields ``match_only_text`` (which refuses
   ``index_prefixes``) with docs-only ``.prefix``/``.reversed`` subfields carrying them — ``x*`` is
   ``prefix`` on ``.prefix``, ``*x`` ``prefix`` of the reversed word on ``.reversed``; keyword
   fields as in 1;
3. now (2026-12-02): ``.prefixes``/``.suffixes`` edge-gram subfields on both kinds, holding only
   the 1..19-character prefixes of each word (of each reversed word): ``x*`` and ``*x`` are one
   ``term`` there, without the second copy of the whole words ``.prefix`` indexed.

``prefix_field``/``suffix_field`` name generation 3; ``OLDER_PREFIX``/``OLDER_SUFFIX`` and
``LEGACY_PREFIX`` the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from logharbor import ecs, vocabulary


class FieldKind(StrEnum):
    TEXT = "text"
    KEYWORD = "keyword"
    LEVEL = "level"
    NUMBER = "number"
    DATE = "date"
    IP = "ip"
    DYNAMIC = "dynamic"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one field is indexed, as far as the query engine needs to know."""

    kind: FieldKind
    prefix_field: str | None = None
    suffix_field: str | None = None


LEGACY_PREFIX = "._index_prefix"  # appended to a text field: its pre-issue-13 index_prefixes field
# Appended to a text or wildcard keyword field: generations 1-2's subfields with index_prefixes
# (``prefix`` queries there); generation 3's edge-gram subfields are the spec's own fields.
OLDER_PREFIX = ".prefix"
OLDER_SUFFIX = ".reversed"
PREFIX_GRAMS = ".prefixes"
SUFFIX_GRAMS = ".suffixes"


def _text(name: str) -> FieldSpec:
    return FieldSpec(FieldKind.TEXT, prefix_field=name + PREFIX_GRAMS, suffix_field=name + SUFFIX_GRAMS)


def _keyword_wild(name: str) -> FieldSpec:
    return FieldSpec(FieldKind.KEYWORD, prefix_field=name + PREFIX_GRAMS, suffix_field=name + SUFFIX_GRAMS)


_KW = FieldSpec(FieldKind.KEYWORD)
_NUM = FieldSpec(FieldKind.NUMBER)

# Keyword fields that carry .prefixes/.suffixes subfields (so `web*` and `%@gmail.com` are cheap).
WILDCARD_KEYWORD_FIELDS: tuple[str, ...] = (
    ecs.SERVICE, ecs.HOST, "user.email", "user.name", "user.id", "url.path", "url.original",
    "user_agent.original", "labels.environment",
)
# Text fields carrying .prefixes and .suffixes subfields (edge grams of words / reversed words).
WILDCARD_TEXT_FIELDS: tuple[str, ...] = (ecs.MESSAGE, ecs.RAW)

DEFAULT_FIELD_SPECS: dict[str, FieldSpec] = {
    **{name: _text(name) for name in WILDCARD_TEXT_FIELDS},
    "error.message": FieldSpec(FieldKind.TEXT),
    ecs.STACK_TRACE: FieldSpec(FieldKind.TEXT),
    **{name: _keyword_wild(name) for name in WILDCARD_KEYWORD_FIELDS},
    ecs.LEVEL: FieldSpec(FieldKind.LEVEL),
    ecs.TIMESTAMP: FieldSpec(FieldKind.DATE),
    "event.created": FieldSpec(FieldKind.DATE),
    "event.ingested": FieldSpec(FieldKind.DATE),
    ecs.CLIENT_IP: FieldSpec(FieldKind.IP),
    "source.ip": FieldSpec(FieldKind.IP),
    ecs.STATUS_CODE: _NUM,
    ecs.DURATION: _NUM,
    "logharbor.duration_ms": _NUM,
    "logharbor.hour_of_day": _NUM,
    "logharbor.day_of_week": _NUM,
    "logharbor.sampled_count": _NUM,
    "http.response.bytes": _NUM,
    "http.request.bytes": _NUM,
    "process.pid": _NUM,
    "_malformed": FieldSpec(FieldKind.TEXT),
    ecs.EVENT_ID: _KW,
    ecs.TENANT: _KW,
    ecs.TRACE_ID: _KW,
    "span.id": _KW,
    "http.request.method": _KW,
    "http.request.id": _KW,
    "log.logger": _KW,
    "event.dataset": _KW,
    "error.type": _KW,
    ecs.TAGS: _KW,
}

DYNAMIC = FieldSpec(FieldKind.DYNAMIC)

_FIELD_NAME = re.compile(r"^[A-Za-z@][A-Za-z0-9_@\-]*(?:\.[A-Za-z0-9_@\-]+)*$")


class FieldNameError(ValueError):
    """A field name the query may not use (meta fields such as ``_index``, patterns, bad syntax)."""


def resolve_field(name: str, aliases: Mapping[str, str] = ecs.SHORT_FIELDS) -> str:
    """The indexed field a query name refers to — the one resolver of LogHarbor (ui parameters too).

    A deployment alias (``query.field_aliases``) or short name (case-insensitive) first, then the
    field vocabulary's :func:`logharbor.vocabulary.query_path` — the same function the pipeline
    stores with, so an alias, the ECS name and the name as sent all find the stored field.
    Meta fields (``_index``, ``_id``, ``_routing`` ...) and field patterns are refused: the
    caller chooses the tenant's indices, and a query must never widen or redirect that choice.
    ``_malformed`` (where type conflicts are kept) is the one underscore field allowed.
    """
    if (name.startswith("_") and name != vocabulary.MALFORMED) or "*" in name or "?" in name:
        raise FieldNameError(f"field '{name}' cannot be queried")
    target = aliases.get(name) or aliases.get(name.lower()) or vocabulary.query_path(name)
    if target == vocabulary.MALFORMED:
        return target
    if not _FIELD_NAME.match(target):
        raise FieldNameError(f"'{name}' is not a valid field name")
    return target


def field_spec(field: str, specs: Mapping[str, FieldSpec] = DEFAULT_FIELD_SPECS) -> FieldSpec:
    """The spec of an indexed field name; unknown fields are DYNAMIC."""
    return specs.get(field, DYNAMIC)
