"""The fast path of :func:`pipeline.document.to_document`: one compiled build per key set.

Why (issue 13, docs/BENCHMARKS.md "Pipeline processing CPU"): walking every flat key through
the vocabulary and the nesting loop cost ~20 µs per event, the largest single cost of the
pipeline. Events of one format carry the same keys in the same order, and where no two names
conflict every key's stored place depends on the key set alone. So the first time a key set
recurs often enough, :func:`plan_for` decides each key's place once — exactly as :func:`pipeline.document._canonical`
and the nesting of ``_general`` would, key order included — and compiles the whole document into
one nested dict display (the fastest way CPython builds dicts, ~3× ``dict(zip())``). Each event
then costs one ``itemgetter`` over its values, the vocabulary coercions, and that one expression.

Safe to compile: the generated source holds only integer indices and fixed names (``v[3]``,
``n[7]``); every field name and value reaches it as data, never as code.

Not planned (→ the step-by-step ``_general``): a key set where one name is both a value and an
object, where two names nest onto the same place, or that nests deeper than ``MAX_DEPTH``; and,
per event, a value that will not convert to its vocabulary type or two names of one stored
field that disagree (``_general`` then keeps both, as it always did).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from logharbor import ecs, vocabulary

RESERVED = frozenset(
    {
        "_id",
        "_index",
        "_source",
        "_routing",
        "_type",
        "_version",
        "_seq_no",
        "_primary_term",
        "_field_names",
        "_ignored",
        "_doc_count",
        "_data_stream_timestamp",
        "_tier",
        "_size",
        "_meta",
    }
)
MAX_DEPTH = 16  # nesting levels a plan compiles (Python's parser limits nested displays)
MAX_PLANS = 4096
_storage_path = vocabulary.storage_path
_ALIASES = vocabulary.ALIASES
_SEGMENTS: dict[str, tuple[tuple[str, ...], str]] = {}


def segments(key: str) -> tuple[tuple[str, ...], str]:
    """(parent path, leaf) of a dotted key; cached, because the same keys recur in every event."""
    found = _SEGMENTS.get(key)
    if found is not None:
        return found
    parts = key.split(".")
    if "" in parts:  # "a..b", ".a", "a." — keep every value, under "_" for the empty name
        parts = [p or "_" for p in parts]
    if parts[0] in RESERVED:
        parts[0] = "field" + parts[0]
    found = (tuple(parts[:-1]), parts[-1])
    if len(_SEGMENTS) < 50_000:
        _SEGMENTS[key] = found
    return found


PlanKey = tuple[tuple[str, ...], bool, bool]  # (flat keys in order, event.original dropped, tagged)


class Plan:
    """One key set's document: ``build(doc, tenant, source, id, tags)`` → the nested document,
    or None when this event's values need ``_general`` (a type conflict, a disagreement)."""

    __slots__ = ("coerce", "getter", "make", "same")

    def __init__(self, keys: list[str], coerce: list[tuple[int, vocabulary.Term, str]],
                 same: list[tuple[int, int]], make: Callable[..., dict[str, Any]]) -> None:
        self.getter = itemgetter(*keys) if len(keys) > 1 else (lambda doc, k=keys[0]: (doc[k],))
        self.coerce = coerce
        self.same = same
        self.make = make

    def build(self, doc: dict[str, Any], tenant: str, source: str, event_id: str,
              tags: list[str]) -> dict[str, Any] | None:
        values: Any = self.getter(doc)
        if self.coerce or self.same:
            values = list(values)
            for index, term, alias in self.coerce:
                value = values[index]
                if value is not None:
                    ok, typed = vocabulary.coerce(term, value, alias)
                    if not ok:
                        return None
                    values[index] = typed
            for kept, later in self.same:
                if values[later] != values[kept]:
                    return None
                values[kept] = values[later]
        return self.make(values, tenant, source, event_id, tags)


# Compiling costs about as much as 30-40 walks, so a key set is compiled on its COMPILE_AFTER-th
# event: rare key sets (a format corpus, one-off JSON shapes) never pay for it.
COMPILE_AFTER = 16
_PLANS: dict[PlanKey, Plan | None] = {}
_SEEN: dict[PlanKey, int] = {}
_NOT_YET: Any = object()


def plan_for(key: PlanKey) -> Plan | None:
    """The plan of a recurring key set (None before its COMPILE_AFTER-th event, and for key sets
    ``_general`` must build): a stream of ever-new key sets never pays for compiling."""
    plan = _PLANS.get(key, _NOT_YET)
    if plan is not _NOT_YET:
        return plan  # type: ignore[no-any-return]
    seen = _SEEN.get(key, 0) + 1
    if seen < COMPILE_AFTER:
        if len(_SEEN) >= MAX_PLANS:
            _SEEN.clear()
        _SEEN[key] = seen
        return None
    _SEEN.pop(key, None)
    if len(_PLANS) >= MAX_PLANS:
        _PLANS.clear()
    plan = _PLANS[key] = compile_plan(*key)
    return plan


_VALUE, _OBJECT = 0, 1
_EXTRAS = ("t", "s", "i", "g")  # tenant, source, event id, tags: the make() arguments after v


def compile_plan(keys: tuple[str, ...], drop_raw: bool, tagged: bool) -> Plan | None:
    """The plan for one key set, or None where ``_general`` must decide per event."""
    # pipeline.document._canonical: the names that stay, in order, then the moved ones, in order.
    entries = [(k, k) for k in keys if _storage_path(k) == k] + [(k, _storage_path(k)) for k in keys
                                                                    if _storage_path(k) != k]
    if drop_raw:
        entries = [(k, p) for k, p in entries if k != ecs.RAW]
    coerce = [(i, _ALIASES[k], k) for i, (k, _) in enumerate(entries) if k in _ALIASES]
    # Two names of one stored field (``duration_ms`` and ``event.duration_ms``): one slot, where
    # the first stood; _canonical keeps the later value when they are equal.
    first: dict[str, int] = {}
    same: list[tuple[int, int]] = []
    for index, (_, path) in enumerate(entries):
        if path in first:
            same.append((first[path], index))
        else:
            first[path] = index
    # The tree: name → [_VALUE, source] or [_OBJECT, {children}], in insertion order.
    root: dict[str, list[Any]] = {}
    for path, index in first.items():
        if "." in path:
            parents, leaf = segments(path)
        else:
            parents, leaf = (), ("field" + path if path[:1] == "_" and path in RESERVED else path)
        if len(parents) >= MAX_DEPTH:
            return None
        node = root
        for part in parents:
            child = node.setdefault(part, [_OBJECT, {}])
            if child[0] == _VALUE:
                return None  # a value and an object under one name: _general decides per event
            node = child[1]
        if leaf in node:
            return None
        node[leaf] = [_VALUE, f"v[{index}]"]
    if tagged:  # _general: out["tags"] = list(event.tags), after the event's own names
        if root.setdefault(ecs.TAGS, [_VALUE, ""])[0] == _OBJECT:
            return None
        root[ecs.TAGS][1] = "g"
    for parent, leaf, arg in (("labels", "tenant", "t"), ("service", "name", "s"), ("event", "id", "i")):
        holder = root.setdefault(parent, [_OBJECT, {}])  # what the key states, last
        if holder[0] == _VALUE or holder[1].get(leaf, [_VALUE])[0] == _OBJECT:
            return None
        holder[1][leaf] = [_VALUE, arg]
    names: list[str] = []

    def display(node: dict[str, list[Any]]) -> str:
        items = []
        for name, (kind, inner) in node.items():
            names.append(name)
            items.append(f"n[{len(names) - 1}]: {display(inner) if kind == _OBJECT else inner}")
        return "{" + ", ".join(items) + "}"

    body = display(root)
    code = compile(f"lambda v, {', '.join(_EXTRAS)}: {body}", "<docplan>", "eval")
    make = eval(code, {"__builtins__": {}, "n": tuple(names)})  # indices only: see the module docstring
    return Plan([k for k, _ in entries], coerce, same, make)
