"""Arithmetic of the cost benchmark (``ops/bench/cost.py``), kept pure so it is unit-tested.

Why a module of its own: the figures the next storage change must beat are ratios of ratios
(stored bytes per event ÷ raw line bytes, docs/s ÷ the default-mapping index's docs/s in the
same round); getting one of them upside down would silently move a target.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Iterable, Mapping
from typing import Any


def per_event(total: float, events: int) -> float:
    """``total`` (bytes, CPU seconds, ...) divided over ``events``; NaN when there were none."""
    return total / events if events > 0 else float("nan")


def raw_bytes_per_line(lines: Iterable[str]) -> float:
    """Mean UTF-8 size of the raw lines (no newline): the denominator of the storage ratio."""
    sizes = [len(line.encode()) for line in lines]
    return per_event(sum(sizes), len(sizes))


def storage_ratio(store_bytes: int, docs: int, raw_per_line: float) -> float:
    """Stored bytes per event ÷ raw line bytes (1.0 = the index is as big as the raw text)."""
    return per_event(store_bytes, docs) / raw_per_line if raw_per_line > 0 else float("nan")


def median_ratios(rates: Mapping[str, list[float]], baseline: str) -> dict[str, float]:
    """Per variant: the median over rounds of (variant rate ÷ baseline rate in the SAME round).

    Pairing by round, rather than dividing medians, is what makes interleaving pay: a slow
    spell of the shared machine hits both numbers of a pair alike.
    """
    base = rates[baseline]
    return {
        name: statistics.median(v / b for v, b in zip(values, base, strict=True) if b > 0)
        for name, values in rates.items()
    }


def strip_key(tree: Any, key: str) -> Any:
    """A deep copy of a mapping with every ``key`` entry removed at any depth (e.g. ``ignore_above``)."""
    tree = copy.deepcopy(tree)
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            node.pop(key, None)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return tree


def drop_field(mappings: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    """Remove ``a.b.c`` from ``mappings['properties']`` in place; the removed mapping or None."""
    props = mappings.get("properties", {})
    *parents, leaf = dotted.split(".")
    for part in parents:
        props = props.get(part, {}).get("properties")
        if props is None:
            return None
    return props.pop(leaf, None)


def same_answers(got: set[str], want: set[str]) -> str:
    """``same`` or a short account of the difference, for the variant table."""
    if got == want:
        return "same"
    return f"+{len(got - want)}/-{len(want - got)}"
