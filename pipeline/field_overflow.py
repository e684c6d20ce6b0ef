"""Field explosion: what happens to an event when its index's mapping is full.

Why: every distinct field name costs a mapping entry, and LogHarbor caps them per index
(``index.mapping.total_fields.limit``, index_templates/component_templates/logharbor-settings.json)
so one tenant's ``{"user_7f3a": ...}``-style keys cannot blow up the cluster state. OpenSearch
answers a document that would add a field beyond the cap with ``illegal_argument_exception``
"Limit of total fields [N] has been exceeded" and stores nothing. Elasticsearch 8.14+ has
``index.mapping.total_fields.ignore_dynamic_beyond_limit`` for this; OpenSearch has not, so the
indexer does the same by hand: the event is indexed again with every field the index does not
already map moved into one place that is kept in ``_source`` but never mapped field by field
(``logharbor.overflow``, an ``enabled: false`` object), and the moved names listed in
``logharbor.overflow_fields`` (a keyword, like ES's ``_ignored``). ``@timestamp``, ``message``,
level, service, tenant and every field the index maps stay where they are, so the event is found
by its message and its known fields; the limit itself holds. docs/STORAGE.md "Field explosion".

The transform here is pure (documents and mapping dicts in, documents out); the indexer fetches
the backing index's mapping and counts what moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from logharbor.vocabulary import MALFORMED, OWN

OVERFLOW = f"{OWN}.overflow"  # enabled:false object: the moved values, by dotted path as stored
OVERFLOW_FIELDS = f"{OWN}.overflow_fields"  # keyword: the moved paths (find events missing a field)
MAX_LISTED = 256  # names listed in OVERFLOW_FIELDS per event (the values are all kept regardless)
LIMIT_REASON = "Limit of total fields"
LIMIT_ERROR_TYPES = frozenset({"illegal_argument_exception", "document_parsing_exception",
                               "mapper_parsing_exception"})
# Never moved, even when (on an index missing them) they are unmapped: what makes an event
# findable and attributable. The template maps all of them.
KEEP: frozenset[str] = frozenset({
    "@timestamp", "message", "log.level", "service.name", "labels.tenant", "event.id", "event.original",
    "event.ingested", "host.name", "tags", MALFORMED, OVERFLOW, OVERFLOW_FIELDS,
    "data_stream.type", "data_stream.dataset", "data_stream.namespace",
})


def is_field_limit_error(error: Any) -> bool:
    """True for a bulk item error that says the index's total-fields limit is reached."""
    if not isinstance(error, dict):
        return False
    for err in (error, error.get("caused_by") or {}):
        if isinstance(err, dict) and err.get("type") in LIMIT_ERROR_TYPES and LIMIT_REASON in str(
                err.get("reason") or ""):
            return True
    return False


@dataclass(frozen=True, slots=True)
class MappedFields:
    """The paths one index maps: ``objects`` (may hold sub-fields), ``leaves``, and ``opaque``
    objects (``enabled: false`` / ``flat_object``) under which anything may go unmapped."""

    objects: frozenset[str]
    leaves: frozenset[str]
    opaque: frozenset[str]

    def has(self, path: str) -> bool:
        return path in self.leaves or path in self.objects or path in self.opaque

    @classmethod
    def of(cls, mapping: dict[str, Any]) -> MappedFields:
        """From one index's ``mappings`` (the body under ``<index>.mappings`` of GET _mapping)."""
        objects: set[str] = set()
        leaves: set[str] = set()
        opaque: set[str] = set()

        def walk(props: dict[str, Any], prefix: str) -> None:
            for name, spec in props.items():
                if not isinstance(spec, dict):
                    continue
                path = prefix + name
                kind = spec.get("type", "object")
                if (kind in ("object", "nested") and spec.get("enabled", True) is False) or kind == "flat_object":
                    opaque.add(path)
                elif "properties" in spec or kind in ("object", "nested"):
                    objects.add(path)
                    walk(spec.get("properties") or {}, path + ".")
                else:
                    leaves.add(path)

        walk(mapping.get("properties") or {}, "")
        return cls(frozenset(objects), frozenset(leaves), frozenset(opaque))


def _parents(paths: frozenset[str]) -> frozenset[str]:
    return frozenset(".".join(p.split(".")[:i]) for p in paths for i in range(1, p.count(".") + 1))


_KEEP_PARENTS = _parents(KEEP)
# The last resort when an attempt with the index's mapping still met the limit: keep only KEEP.
CORE_ONLY = MappedFields(_KEEP_PARENTS, KEEP, frozenset())


def _under_opaque(path: str, mapped: MappedFields) -> bool:
    if not mapped.opaque:
        return False
    parts = path.split(".")
    return any(".".join(parts[:i]) in mapped.opaque for i in range(1, len(parts)))


def split_overflow(doc: dict[str, Any], mapped: MappedFields) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(kept, moved)``: ``doc`` without the values the index does not map, and those values
    by dotted path. ``doc`` is not modified. A value stays when its path is in ``KEEP``, or is
    mapped with a shape that fits (an object mapped as an object, a scalar or a list of scalars
    mapped as a field); an unmapped object moves whole; an object emptied by moves disappears.
    """
    moved: dict[str, Any] = {}

    def fits(path: str, value: Any) -> bool:
        if value is None or path in KEEP or path in mapped.opaque or _under_opaque(path, mapped):
            return True
        if isinstance(value, dict):
            return path in mapped.objects and all(fits(f"{path}.{k}", v) for k, v in value.items())
        if isinstance(value, list):
            items = [v for v in value if v is not None]
            if not items:
                return True  # an empty array adds no mapping
            if any(isinstance(v, dict) for v in items):
                return path in mapped.objects and all(isinstance(v, dict) and fits(path, v) for v in items)
            return path in mapped.leaves
        return path in mapped.leaves

    def walk(node: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            path = prefix + key
            if fits(path, value):
                out[key] = value
            elif isinstance(value, dict) and (path in mapped.objects or path in _KEEP_PARENTS):
                sub = walk(value, path + ".")
                if sub:
                    out[key] = sub
            else:
                moved[path] = value
        return out

    return walk(doc, ""), moved


def apply_overflow(doc: dict[str, Any], mapped: MappedFields) -> tuple[dict[str, Any], int] | None:
    """The document to index again, and how many values moved; None when nothing can move
    (then the failure is real and the item goes the dead-letter way).

    Where the values go: ``logharbor.overflow`` when the index maps it (every backing index
    created from the current templates does); on an older backing index, as JSON text appended
    to ``_malformed`` (full-text searchable), which every LogHarbor index maps.
    """
    kept, moved = split_overflow(doc, mapped)
    if not moved:
        return None
    names = sorted(moved)
    if mapped.has(OVERFLOW):
        own = dict(kept[OWN]) if isinstance(kept.get(OWN), dict) else {}  # kept shares doc's objects
        kept[OWN] = own
        previous = own.get("overflow") if isinstance(own.get("overflow"), dict) else {}
        own["overflow"] = {**previous, **moved}
        listed = list(own.get("overflow_fields") or []) + names
        own["overflow_fields"] = listed[:MAX_LISTED]
    elif mapped.has(MALFORMED):
        note = "overflow=" + orjson.dumps(moved, default=str).decode()
        previous_text = kept.get(MALFORMED)
        kept[MALFORMED] = f"{previous_text}\n{note}" if previous_text else note
    else:
        return None
    return kept, len(moved)
