"""Operator regexes, screened: the helper every step with a ``pattern`` option uses.

Rules files come from operators, and a regex with a quantified group that itself contains a
quantifier (``(a+)+``) can take exponential time on one hostile log line — a stalled
pipeline. :func:`check_pattern` compiles a pattern and refuses those shapes, so ``extract``,
``redact`` and ``drop_content`` (and any new step) share one screen instead of importing it
from each other.
"""

from __future__ import annotations

import re


def _quantifier_at(pattern: str, i: int) -> tuple[bool, int]:
    """(is a repeat-many quantifier, index after it incl. a possessive/lazy suffix) at ``i``."""
    if i >= len(pattern):
        return False, i
    ch = pattern[i]
    if ch in "*+":
        j = i + 1
    elif ch == "{":
        close = pattern.find("}", i)
        if close < 0:
            return False, i
        body = pattern[i + 1 : close]
        lo, _, hi = body.partition(",")
        if not lo.strip().isdigit() and lo.strip():
            return False, i
        many = "," in body and (not hi.strip() or int(hi) > 1 if hi.strip().isdigit() else True)
        j = close + 1
        if not many:
            return False, j
    elif ch == "?":
        return False, i + 1
    else:
        return False, i
    possessive = j < len(pattern) and pattern[j] == "+"
    return (not possessive), j + (1 if j < len(pattern) and pattern[j] in "+?" else 0)


def nested_quantifier(pattern: str) -> bool:
    """True if a backtracking repeat contains another backtracking repeat, like ``(a+)+``.

    That shape can take exponential time on a near-miss. Possessive quantifiers (``a++``) and
    atomic groups (``(?>...)``) do not backtrack, so they are allowed.
    """
    stack: list[list[bool]] = []  # per open group: [contains_repeat, atomic]
    i, n = 0, len(pattern)
    last_atom_repeatable = False
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            last_atom_repeatable = True
            continue
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            last_atom_repeatable = True
            continue
        if ch == "(":
            stack.append([False, pattern.startswith("(?>", i)])
            i += 1
            last_atom_repeatable = False
            continue
        if ch == ")":
            contains, atomic = stack.pop() if stack else (False, False)
            repeat, j = _quantifier_at(pattern, i + 1)
            if repeat and contains and not atomic:
                return True
            if stack and (contains or repeat) and not atomic:
                stack[-1][0] = True
            i = j if j > i + 1 else i + 1
            last_atom_repeatable = False
            continue
        if ch in "*+{" and last_atom_repeatable:
            repeat, j = _quantifier_at(pattern, i)
            if repeat and stack:
                stack[-1][0] = True
            i = max(j, i + 1)
            last_atom_repeatable = False
            continue
        last_atom_repeatable = ch not in "|^$"
        i += 1
    return False


def check_pattern(pattern: str) -> re.Pattern[str]:
    """Compile an operator regex, refusing shapes known to backtrack catastrophically."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from exc
    if nested_quantifier(pattern):
        raise ValueError(
            f"pattern {pattern!r} nests quantifiers (like (a+)+), which can take exponential time; "
            "rewrite it, or make the inner part possessive/atomic (a++ or (?>...))"
        )
    return compiled
