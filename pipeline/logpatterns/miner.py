"""An online Drain-style template miner: one message in, its template and a stable id out.

Why our own and not drain3 (PyPI): drain3's last release (0.9.11) is from 2022, its state is
persisted by jsonpickle of the whole tree (one opaque blob — two workers cannot share it and a
blob cannot be merged), its cluster ids are counters (1, 2, 3 … in arrival order, so two workers
disagree) and it masks with one regex pass per mask over the whole line. Measured on this box
on the loghub 2k corpus (tests/data/patterns, 32,000 lines; docs/BENCHMARKS.md has the command),
this miner is faster per line and its grouping accuracy higher with our masking; see
docs/PIPELINE.md "Log patterns".

The algorithm is Drain's (He et al., ICWS 2017): a message is split on whitespace; each token
that is obviously a variable is masked first (:func:`mask_token`: anything with a digit —
numbers, ids, ips, hex, timestamps, versions — paths, quoted values, urls, e-mail addresses);
the masked tokens are routed by (token count, first ``depth`` tokens) to a leaf, and inside the
leaf the most similar template (share of equal positions, ``<*>`` matching anything) wins if it
reaches ``similarity``; else a new template starts. A matched template generalises: positions
that differ become ``<*>``.

Ids: ``pattern_id(tenant, service, template)`` is a hash of the template text, so two workers
that arrive at the same template agree without talking to each other, and a restart that
reloads the template gets the same id. When a template generalises, its id changes (the text
changed); the old id is remembered in ``merged`` so the store and the query side can map old
events' ids to the surviving pattern (the merge rule, see :mod:`pipeline.logpatterns.store`).
Masking first makes this rare: most templates are final at their first line.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

WILDCARD = "<*>"
_DIGITS = frozenset("0123456789")
_QUOTES = ("\"", "'")


def mask_token(token: str) -> str:
    """``<*>`` for a token that is a variable on sight, else the token itself.

    Token-level, no regex: a set intersection and a few ``startswith`` — no backtracking on any
    input (a hostile 64 KB token costs one scan).
    """
    if not _DIGITS.isdisjoint(token):
        return WILDCARD
    first = token[0]
    if first in _QUOTES and len(token) > 1 and token[-1] == first:
        return WILDCARD
    if first == "/" and token.count("/") > 1:
        return WILDCARD
    if "://" in token or ("@" in token and "." in token):
        return WILDCARD
    return token


_UNITS = frozenset({"ns", "us", "µs", "ms", "s", "sec", "secs", "seconds", "min", "mins", "minutes",
                    "h", "hours", "B", "KB", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB", "%"})
_CALENDAR = frozenset({"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Jan", "Feb", "Mar", "Apr",
                       "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"})


def _is_key(key: str) -> bool:
    """``user`` / ``http.status`` / ``x-id``: a key of ``key=value``, not a path or url with ``=``."""
    return bool(key) and key.replace(".", "").replace("-", "").replace("_", "").isalpha()


def tokenize(message: str) -> list[str]:
    """Whitespace tokens, each masked (:func:`mask_token`), with three rules that keep one
    template for one statement whatever its values:

    * ``key=value`` keeps its key (``user=<*>``);
    * a unit after a masked number belongs to the value (``12 ms`` → ``<*>``); weekday and month
      names are variables;
    * consecutive variables are one (``at Fri Jun 17 07:07:00 2005`` → ``at <*>``) unless the
      line has nothing else;
    * a parenthesised annotation that restates a value — empty or starting with a digit, like
      ``(1.47 KB)`` or ``()`` — is left out, so ``12 bytes sent`` and ``1508 bytes (1.47 KB)
      sent`` are one statement.
    """
    out: list[str] = []
    skipping = False
    for token in message.split():
        if skipping:
            skipping = not token.endswith(")")
            continue
        if token[0] == "(" and (len(token) == 1 or token[1] in _DIGITS or token == "()"):
            skipping = not token.endswith(")") or len(token) == 1
            continue
        if "=" in token:
            key, _, value = token.partition("=")
            if value and _is_key(key):
                masked = mask_token(value)
                out.append(token if masked is value else f"{key}={masked}")
                continue
        if token in _CALENDAR:
            masked = WILDCARD
        elif out and out[-1] == WILDCARD and token in _UNITS:
            continue
        else:
            masked = mask_token(token)
        out.append(masked)
    collapsed = [t for i, t in enumerate(out) if t is not WILDCARD or i == 0 or out[i - 1] is not WILDCARD]
    if all(t is WILDCARD for t in collapsed):
        return out  # nothing constant: the token count is all that tells such lines apart
    return collapsed


def pattern_id(tenant: str, service: str, template: str) -> str:
    """16 hex chars of blake2b(tenant, service, template): the same on every worker and restart."""
    h = hashlib.blake2b(digest_size=8)
    h.update(tenant.encode())
    h.update(b"\x00")
    h.update(service.encode())
    h.update(b"\x00")
    h.update(template.encode())
    return h.hexdigest()


@dataclass(slots=True)
class Template:
    """One pattern: its tokens, id, how many lines it matched and the ids it absorbed."""

    tokens: list[str]
    id: str
    count: int = 0
    merged: list[str] = field(default_factory=list)
    dirty: bool = True
    saved: int = 0  # of ``count``, how much the store already holds
    merged_saved: int = 0  # of ``merged``, how many the store already knows
    first_seen: float = 0.0  # epoch seconds of its first line on this worker

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


class Miner:
    """Templates of one (tenant, service): ``add(message)`` → its :class:`Template`.

    ``max_templates`` bounds memory: past it, new lines go to the most similar existing template
    of the leaf at any similarity (never a new one) — the store's merge rule keeps the index
    bounded the same way.
    """

    def __init__(self, tenant: str, service: str, *, depth: int = 2, similarity: float = 0.8,
                 max_children: int = 100, max_templates: int = 5000) -> None:
        self.tenant, self.service = tenant, service
        self.depth, self.similarity = depth, similarity
        self.max_children, self.max_templates = max_children, max_templates
        self.root: dict[object, object] = {}
        self.by_id: dict[str, Template] = {}
        self.aliases: dict[str, str] = {}  # absorbed id → surviving id

    def __len__(self) -> int:
        return len(self.by_id)

    def _leaf(self, tokens: list[str]) -> list[Template]:
        node = self.root.get(len(tokens))
        if node is None:
            node = self.root[len(tokens)] = {}
        for token in tokens[: self.depth]:
            nxt = node.get(token)  # type: ignore[attr-defined]
            if nxt is None:
                nxt = node.get(WILDCARD)  # type: ignore[attr-defined]
                if nxt is None or token == WILDCARD:
                    key = token if len(node) < self.max_children or token == WILDCARD else WILDCARD  # type: ignore[arg-type]
                    nxt = node.get(key)  # type: ignore[attr-defined]
                    if nxt is None:
                        nxt = node[key] = {}  # type: ignore[index]
            node = nxt  # type: ignore[assignment]
        leaf = node.get(None)  # type: ignore[attr-defined]
        if leaf is None:
            leaf = node[None] = []  # type: ignore[index]
        return leaf  # type: ignore[return-value]

    @staticmethod
    def _score(template: list[str], tokens: list[str]) -> tuple[float, int]:
        same = wild = consts = 0
        for a, b in zip(template, tokens, strict=True):
            if b != WILDCARD:
                consts += 1
            if a == WILDCARD:
                wild += 1
            elif a == b:
                same += 1
        return (same / consts if consts else 1.0), wild

    def add(self, message: str) -> Template:
        """Mine one message: the template it belongs to (created or generalised as needed)."""
        tokens = tokenize(message)
        if not tokens:
            tokens = [WILDCARD]
        leaf = self._leaf(tokens)
        best: Template | None = None
        best_score = (-1.0, -1)
        for cand in leaf:
            score = self._score(cand.tokens, tokens)
            if score > best_score:
                best, best_score = cand, score
        full = len(self.by_id) >= self.max_templates
        if best is None or (best_score[0] < self.similarity and not full):
            if best is None and full and leaf == [] and self.by_id:
                best = next(iter(self.by_id.values()))  # bounded: no new template once full
            else:
                return self._new(tokens, leaf)
        if best.tokens != tokens and not (best_score[0] == 1.0):
            merged = [a if a == b else WILDCARD for a, b in zip(best.tokens, tokens, strict=False)]
            if merged != best.tokens and len(merged) == len(best.tokens):
                self._rename(best, merged)
        best.count += 1
        best.dirty = True
        return best

    def _new(self, tokens: list[str], leaf: list[Template]) -> Template:
        template = Template(tokens=list(tokens), id=pattern_id(self.tenant, self.service, " ".join(tokens)),
                            first_seen=time.time())
        existing = self.by_id.get(template.id)
        if existing is not None:  # the same text reached through another route: one pattern
            existing.count += 1
            existing.dirty = True
            return existing
        template.count = 1
        leaf.append(template)
        self.by_id[template.id] = template
        return template

    def _rename(self, template: Template, tokens: list[str]) -> None:
        old = template.id
        new = pattern_id(self.tenant, self.service, " ".join(tokens))
        template.tokens = tokens
        del self.by_id[old]
        other = self.by_id.get(new)
        if other is not None and other is not template:  # two templates converged: keep one id
            other.count += template.count - template.saved
            other.merged.extend([old, *template.merged])
            for leaf_list in self._leaves():
                if template in leaf_list:
                    leaf_list.remove(template)
            template.id = new
            self.aliases[old] = new
            return
        template.id = new
        template.merged.append(old)
        self.by_id[new] = template
        self.aliases[old] = new

    def _leaves(self) -> Iterable[list[Template]]:
        stack: list[object] = [self.root]
        while stack:
            node = stack.pop()
            for key, child in node.items():  # type: ignore[attr-defined]
                if key is None:
                    yield child  # type: ignore[misc]
                else:
                    stack.append(child)

    def load(self, text: str, count: int = 0, merged: Iterable[str] = ()) -> Template:
        """Re-create a stored template (restart / another worker's find) without counting a line."""
        tokens = text.split(" ") if text else [WILDCARD]
        merged = list(merged)
        tid = pattern_id(self.tenant, self.service, text)
        existing = self.by_id.get(tid)
        if existing is not None:
            existing.count = max(existing.count, count)
            return existing
        template = Template(tokens=tokens, id=tid, count=count, merged=merged, dirty=False,
                            saved=count, merged_saved=len(merged), first_seen=time.time())
        self._leaf(tokens).append(template)
        self.by_id[tid] = template
        for old in template.merged:
            self.aliases[old] = tid
        return template
