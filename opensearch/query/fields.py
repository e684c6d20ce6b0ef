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

``prefix_field``/``suffix_field`` name the subfields that make ``x*`` and ``*x`` cheap
(``index_prefixes`` on a ``.prefix`` subfield and on a reversed twin; see
mapping_requirements.json). A field without them rejects wildcards unless expensive queries
are allowed.

Text fields changed shape in issue 13: ``message``/``event.original`` used to be ``text`` with
``index_prefixes`` on the field itself; now they are ``match_only_text`` (which refuses
``index_prefixes``) with a docs-only ``.prefix`` subfield. A data stream keeps its old backing
indices until retention deletes them, so ``x*`` on a text field is compiled for both: a prefix
query on ``<field>.prefix`` (unmapped on old indices, so it rewrites to match_none there) OR a
term on ``<field>._index_prefix`` — the field OpenSearch itself builds for ``index_prefixes``
and answers the old prefix query from (unmapped on new indices). Neither is expensive on
either kind of index; a plain ``prefix`` on ``<field>`` would be refused on the new ones under
``search.allow_expensive_queries=false``. ``.reversed`` kept its name and meaning.
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


def _text(name: str) -> FieldSpec:
    return FieldSpec(FieldKind.TEXT, prefix_field=f"{name}.prefix", suffix_field=f"{name}.reversed")


def _keyword_wild(name: str) -> FieldSpec:
    return FieldSpec(FieldKind.KEYWORD, prefix_field=f"{name}.prefix", suffix_field=f"{name}.reversed")


_KW = FieldSpec(FieldKind.KEYWORD)
_NUM = FieldSpec(FieldKind.NUMBER)

# Keyword fields that carry .prefix/.reversed subfields (so `web*` and `%@gmail.com` are cheap).
WILDCARD_KEYWORD_FIELDS: tuple[str, ...] = (
    ecs.SERVICE, ecs.HOST, "user.email", "user.name", "user.id", "url.path", "url.original",
    "user_agent.original", "labels.environment",
)
# Text fields carrying .prefix and .reversed subfields (both with index_prefixes).
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
