"""The ``extract`` step: named-group regex rules per source or format → extra fields.

``Failed to authenticate user (?P<email>\\S+): (?P<reason>.+)`` with ``add: {action: authenticate}``
turns an app-log message into ``email``, ``reason`` and ``action`` fields. Operator regexes
cannot be proven linear, so rules are screened for the classic catastrophic shapes (a
quantified group that itself contains a quantifier, like ``(a+)+``) and only the first
``max_chars`` characters of a field are searched.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.event import Event
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig, register


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


class ExtractRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    pattern: str
    field: str = "message"
    source: str | None = None  # glob on the event's source
    format: str | None = None  # detected/declared format (app, nginx, syslog, json, logfmt)
    add: dict[str, Any] = Field(default_factory=dict)
    stop: bool = False  # later rules are skipped once this one matched

    @field_validator("pattern")
    @classmethod
    def _safe(cls, value: str) -> str:
        compiled = check_pattern(value)
        if not compiled.groupindex:
            raise ValueError(f"pattern {value!r} has no named group (?P<name>...) to extract")
        return value


@register
class ExtractConfig(StepConfig):
    type: Literal["extract"] = "extract"
    max_chars: int = 8192
    rules: list[ExtractRule] = Field(default_factory=list)

    def build(self, settings: PipelineSettings) -> Step:
        return ExtractStep(self)


class ExtractStep(Step):
    def __init__(self, config: ExtractConfig) -> None:
        self.name = config.rule_name
        self.max_chars = config.max_chars
        self.rules = [
            (
                r,
                re.compile(r.pattern),
                re.compile(fnmatch.translate(r.source)) if r.source else None,
            )
            for r in config.rules
        ]

    def process(self, event: Event) -> Event:
        doc = event.doc
        for rule, rx, source_rx in self.rules:
            if rule.format is not None and rule.format != event.format:
                continue
            if source_rx is not None and not source_rx.match(event.envelope.source):
                continue
            value = doc.get(rule.field)
            if not isinstance(value, str):
                continue
            m = rx.search(value, 0, self.max_chars)
            if m is None:
                continue
            for key, group in m.groupdict().items():
                if group is not None:
                    doc[key] = group
            doc.update(rule.add)
            if rule.stop:
                break
        return event
