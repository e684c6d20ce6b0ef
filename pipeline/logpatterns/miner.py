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
from collections.abc import Iterable, Sequence
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


_ZERO_DIGITS = bytes.maketrans(b"0123456789", b"0000000000")  # ASCII digits only, like mask_token


def skeleton(message: str) -> bytes:
    """The message's UTF-8 with every digit replaced by ``0``: the key of the token cache.

    :func:`tokenize` masks every token that holds a digit, so two messages with the same skeleton
    always tokenize alike (``took 12 ms`` and ``took 34 ms`` → ``took 00 ms``). ``bytes.translate``
    is one C-level pass (≈ 0.5 µs for a 200-character line here, a quarter of a ``re.sub``), so
    repeated shapes skip the Python-level token scan for the price of a dict lookup.
    """
    return message.encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS)


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
    return tokenize_skeleton(skeleton(message).decode("utf-8", "surrogatepass"))


def tokenize_skeleton(text: str) -> list[str]:
    """:func:`tokenize` of a decoded :func:`skeleton` (its only digits are ``0``): one pass, collapsing
    as it goes (the hot path — no per-token function call for the common tokens)."""
    out: list[str] = []
    total = 0  # tokens before collapsing
    constant = False
    last_wild = False
    skipping = False
    append = out.append
    for token in text.split():
        if skipping:
            skipping = not token.endswith(")")
            continue
        first = token[0]
        if first == "(" and (len(token) == 1 or token[1] == "0" or token == "()"):
            skipping = not token.endswith(")") or len(token) == 1
            continue
        if "0" in token:
            if "=" in token:
                key, _, value = token.partition("=")
                if value and _is_key(key):
                    append(key + "=" + WILDCARD)
                    total += 1
                    constant = True
                    last_wild = False
                    continue
            masked = WILDCARD
        elif "=" in token:
            key, _, value = token.partition("=")
            if value and _is_key(key):
                masked = mask_token(value)
                append(token if masked is value else f"{key}={masked}")
                total += 1
                constant = True
                last_wild = False
                continue
            masked = WILDCARD if token in _CALENDAR else mask_token(token)
        elif token in _CALENDAR:
            masked = WILDCARD
        elif token in _UNITS and out and out[-1] == WILDCARD:
            continue
        else:
            masked = mask_token(token)
        total += 1
        if masked is WILDCARD:
            if not last_wild:
                append(WILDCARD)
                last_wild = True
        else:
            append(masked)
            constant = True
            last_wild = False
    if not constant:
        return [WILDCARD] * total  # nothing constant: the token count is all that tells such lines apart
    return out


class TokenCache:
    """Bounded skeleton → tokens memo, shared by the miners of one step (tokens do not depend on
    tenant or service). Cleared whole when full: cheap, and the hot shapes come straight back."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.memo: dict[bytes, tuple[str, ...]] = {}
        self.hits = self.misses = 0

    def tokens(self, message: str) -> tuple[str, ...]:
        """``tuple(tokenize(message))``, or ``(WILDCARD,)`` for a message without tokens."""
        key = message.encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS)
        tokens = self.memo.get(key)
        if tokens is None:
            self.misses += 1
            tokens = tuple(tokenize_skeleton(key.decode("utf-8", "surrogatepass"))) or (WILDCARD,)
            if len(self.memo) >= self.size:
                self.memo.clear()
            self.memo[key] = tokens
        else:
            self.hits += 1
        return tokens


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
    text: str = ""  # " ".join(tokens), kept with them (read for every event; joined once)

    def __post_init__(self) -> None:
        if not self.text:
            self.text = " ".join(self.tokens)


class Miner:
    """Templates of one (tenant, service): ``add(message)`` → its :class:`Template`.

    ``max_templates`` bounds memory: past it, new lines go to the most similar existing template
    of the leaf at any similarity (never a new one) — the store's merge rule keeps the index
    bounded the same way. ``cache_size`` bounds the exact-match cache (0 turns it off).
    """

    def __init__(self, tenant: str, service: str, *, depth: int = 2, similarity: float = 0.8,
                 max_children: int = 100, max_templates: int = 5000, cache_size: int = 4096) -> None:
        self.tenant, self.service = tenant, service
        self.depth, self.similarity = depth, similarity
        self.max_children, self.max_templates = max_children, max_templates
        self.root: dict[object, object] = {}
        self.by_id: dict[str, Template] = {}
        self.aliases: dict[str, str] = {}  # absorbed id → surviving id
        # Exact-match cache: masked tokens → (template, its leaf, leaf size, renames, full) when the
        # tree walk chose it. The walk is a pure function of the tokens and of the leaf's templates
        # (their tokens, their order) and of "full"; while the leaf has the same size, no template
        # anywhere was renamed and "full" is unchanged, the walk would choose the same template and
        # its generalisation would be a no-op (merging the same tokens twice changes nothing, and it
        # only raises the chosen template's score) — so a hit only counts the line. Only templates
        # chosen from the leaf are cached. Same ids and groups as the walk (a unit test compares).
        self.cache_size = cache_size
        self._exact: dict[tuple[str, ...], tuple[Template, list[Template], int, int, bool]] = {}
        self._renames = 0
        self.cache_hits = 0

    def __len__(self) -> int:
        return len(self.by_id)

    def _leaf(self, tokens: Sequence[str]) -> list[Template]:
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

    def add(self, message: str, tokens: tuple[str, ...] | None = None) -> Template:
        """Mine one message: the template it belongs to (created or generalised as needed).

        ``tokens``: the message's :func:`tokenize` (as a tuple, e.g. from a :class:`TokenCache`),
        if the caller has it already.
        """
        if tokens is None:
            tokens = tuple(tokenize(message)) or (WILDCARD,)
        hit = self._exact.get(tokens)
        if hit is not None:
            template, leaf, size, renames, full = hit
            if (len(leaf) == size and renames == self._renames
                    and (len(self.by_id) >= self.max_templates) == full and self.by_id.get(template.id) is template):
                template.count += 1
                template.dirty = True
                self.cache_hits += 1
                return template
        leaf = self._leaf(tokens)
        template = self._walk(list(tokens), leaf)
        if self.cache_size and any(t is template for t in leaf):  # not the "full, empty leaf" fallback
            if len(self._exact) >= self.cache_size:
                self._exact.clear()
            self._exact[tokens] = (template, leaf, len(leaf), self._renames, len(self.by_id) >= self.max_templates)
        return template

    def _walk(self, tokens: list[str], leaf: list[Template]) -> Template:
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
        template.text = " ".join(tokens)
        self._renames += 1
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
