"""Structural limits checked on the parse tree before it is bound (security issue 16, item 6).

Why here: the LALR parser builds its tree without recursion, but binding, compiling and
matching walk the tree recursively, so ``((((…))))`` 200 deep or 500 ``NOT`` in a row used to
end in ``RecursionError`` (HTTP 500 and a ~200 KB traceback per request). Measuring the depth
iteratively on the raw tree refuses such a query with a :class:`QuerySyntaxError` (HTTP 400)
that names the limit, before any recursive code runs.

Depth counts what a user writes: each parenthesised group and each ``NOT``/``-`` adds one.
"""

from __future__ import annotations

from lark import Token, Tree

from opensearch.query.errors import QuerySyntaxError

NESTING_RULES = frozenset({"group", "not_"})


def _column(node: Tree | Token) -> int:
    if isinstance(node, Token):
        return (node.start_pos or 0) + 1
    for tok in node.scan_values(lambda v: isinstance(v, Token)):
        return (tok.start_pos or 0) + 1
    return 1


def nesting_depth(tree: Tree) -> tuple[int, Tree | None]:
    """(deepest nesting of groups and negations, the node where it is reached) — iterative."""
    deepest, where = 0, None
    stack: list[tuple[Tree, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if node.data in NESTING_RULES:
            depth += 1
            if depth > deepest:
                deepest, where = depth, node
        stack.extend((child, depth) for child in node.children if isinstance(child, Tree))
    return deepest, where


def check_nesting(tree: Tree, text: str, max_depth: int) -> None:
    """Raise :class:`QuerySyntaxError` when groups/negations nest deeper than ``max_depth``."""
    depth, where = nesting_depth(tree)
    if depth > max_depth:
        raise QuerySyntaxError(
            f"query nests parentheses/NOT {depth} deep; the limit is {max_depth} (query.max_depth)",
            _column(where) if where is not None else 1, None, text)
