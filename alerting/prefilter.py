"""Which match rules can possibly match an event, before running their matchers.

With 100 match rules every event would run 100 compiled matchers (~8 µs each). Most rules
require an exact keyword term (``service:api AND ...``): a top-level conjunct ``Term`` on a
keyword field is a necessary condition, so rules are indexed by (field, value) and an event
runs only the rules whose required value it carries, plus the rules without such a term. The
matcher still decides (the prefilter only skips rules that cannot match), and the keyword
comparison is the matcher's own, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opensearch.query.ast import And, Node, Query, Term
from opensearch.query.fields import FieldKind
from opensearch.query.matcher import _keyword_text, field_getter  # the matcher's own keyword semantics


def required_term(q: Query) -> Term | None:
    """A keyword ``Term`` every matching event must satisfy (a top-level conjunct), if any."""
    node: Node = q.ast
    items = node.items if isinstance(node, And) else (node,)
    terms = [i for i in items if isinstance(i, Term) and i.kind is FieldKind.KEYWORD]
    return min(terms, key=lambda t: len(t.values)) if terms else None


class Prefilter:
    """``candidates(doc)`` → the indices of the rules worth running on ``doc``."""

    def __init__(self, queries: list[Query]) -> None:
        self.always: list[int] = []
        self.by_field: dict[str, dict[str | None, list[int]]] = {}
        self.getters: dict[str, Callable[[dict], list]] = {}
        for i, q in enumerate(queries):
            term = required_term(q)
            if term is None:
                self.always.append(i)
                continue
            table = self.by_field.setdefault(term.field, {})
            self.getters.setdefault(term.field, field_getter(term.field))
            for v in term.values:
                table.setdefault(_keyword_text(v), []).append(i)

    def candidates(self, doc: dict[str, Any]) -> list[int]:
        out = list(self.always)
        for fld, table in self.by_field.items():
            seen: set[int] = set()
            for v in self.getters[fld](doc):
                for i in table.get(_keyword_text(v), ()):
                    if i not in seen:
                        seen.add(i)
                        out.append(i)
        if len(self.by_field) > 1:
            out = sorted(set(out))
        else:
            out.sort()
        return out
