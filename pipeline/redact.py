"""``redact``: remove secrets before anything is stored or published.

Runs over ``message``, ``event.original`` and every other string field, plus whole fields whose
*name* says secret. Each rule counts its redactions (``logharbor_pipeline_redactions``):

* ``secret_kv`` — ``password=hunter2`` / ``"token": "abc"`` / ``secret: x`` → ``[REDACTED]``
* ``secret_field`` — a field named like a secret (``password``, ``db_password``, ``api_key``)
* ``card_keyed`` — ``card=4532-1111-2222-3333`` → ``card=****-****-****-3333`` (a card-like key
  names the value, so no checksum is needed)
* ``card_luhn`` — a bare 13–19 digit run elsewhere, only if it starts like a card (2–6) and passes
  Luhn, so order numbers and epoch-millisecond timestamps survive
* ``bearer`` — ``Bearer <token>`` / ``Basic <credentials>``
* ``api_key`` — well-known key shapes (Stripe, AWS, GitHub, Slack, Google, JWTs)
* ``patterns`` — operator patterns (e.g. emails), each counted under its own name

All patterns use possessive quantifiers or bounded repeats, so each runs in linear time.

Why one module of ~410 lines: most of it is the table of built-in patterns, each with its test
string, kept together so a reviewer sees every secret shape at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logharbor import ecs
from pipeline import metrics
from pipeline.event import Event
from pipeline.patterns import check_pattern
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig

REDACTED = "[REDACTED]"
SECRET_WORDS = (
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "private_key",
    "credential",
    "session_key",
)
CARD_WORDS = ("card", "ccnum", "cc_num", "cc_number", "creditcard", "credit_card")
# Fields never rewritten: ids and timestamps cannot hold secrets and must stay exact.
SKIP_FIELDS = frozenset({ecs.EVENT_ID, ecs.TIMESTAMP, ecs.TENANT, "event.ingested", "event.dataset", ecs.LEVEL})


def _key_alternation(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in words)


def _kv_regex(words: tuple[str, ...], value: str) -> re.Pattern[str]:
    # Anchored on the keyword (not on the start of the key) so the engine only does work where
    # a keyword is; a prefix such as "db_" in db_password stays untouched before the match.
    return re.compile(
        r"(?i)(?P<key>(?:" + _key_alternation(words) + r")[\w.-]{0,40}+[\"']?)"
        r"(?P<sep>[ \t]{0,4}[=:][ \t]{0,4})" + value
    )


SECRET_KV = _kv_regex(SECRET_WORDS, r"(?P<val>\"(?:[^\"\\]|\\.)*+\"|'[^']*+'|[^\s,;&}\]\"']++)")
CARD_KV = _kv_regex(CARD_WORDS, r"(?P<q>[\"']?)(?P<num>\d(?:[ -]?\d){11,18})(?!\d)")
# The left boundary (no digit, dot, colon, slash or dash before) is checked in Python: a
# lookbehind at the start of the pattern would defeat the engine's first-character scan.
BARE_CARD = re.compile(r"[2-6]\d(?:[ -]?\d){11,17}(?![\d.:/])")
BARE_CARD_CANDIDATE = re.compile(r"[2-6]\d(?:[ -]?\d){11,17}")
BEARER = re.compile(r"(?i)\b(?P<scheme>bearer|basic)[ \t]++(?!\[REDACTED\])[A-Za-z0-9\-._~+/]{8,}+=*+")
API_KEY = re.compile(
    r"\b(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,}+|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}+"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}+|AIza[0-9A-Za-z_-]{35}"
    r"|eyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]{8,}+)"
)
CARD_NAME = re.compile(r"(?i)(?:" + _key_alternation(CARD_WORDS) + r")")
CARD_VALUE = re.compile(r"\d(?:[ -]?\d){11,18}")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask_card(number: str) -> str:
    """Keep separators and the last four digits: ``4532-1111-2222-3333`` → ``****-****-****-3333``."""
    digits_seen = 0
    total = sum(ch.isdigit() for ch in number)
    out = []
    for ch in number:
        if ch.isdigit():
            digits_seen += 1
            out.append(ch if digits_seen > total - 4 else "*")
        else:
            out.append(ch)
    return "".join(out)


class ExtraPattern(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    pattern: str
    replacement: str = REDACTED


class RedactConfig(StepConfig):
    type: Literal["redact"] = "redact"
    secrets: bool = True
    cards: bool = True
    bearer: bool = True
    api_keys: bool = True
    secret_words: list[str] = Field(default_factory=lambda: list(SECRET_WORDS))
    patterns: list[ExtraPattern] = Field(default_factory=list)

    def build(self, settings: PipelineSettings) -> Step:
        return RedactStep(self)


API_KEY_HINTS = ("_live_", "_test_", "akia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xox", "aiza", "eyj")
# Stems that every default secret word contains: the gate for the secret_kv rule.
SECRET_HINTS = ("pass", "pwd", "secret", "token", "_key", "-key", "apikey", "credential")
_PLAIN, _SKIP, _SECRET, _CARD = 0, 1, 2, 3
_NON_DIGITS = bytes(set(range(256)) - set(b"0123456789"))
_ZERO_DIGITS = bytes.maketrans(b"0123456789", b"0000000000")
GATE_CACHE_SIZE = 20_000


@dataclass(slots=True)
class _Rule:
    """One text rule with a cheap gate, so the common line costs a few ``in`` checks, not scans."""

    name: str
    rx: re.Pattern[str]
    repl: Callable[[re.Match[str]], str]
    hints: tuple[str, ...] | None  # substrings of the lower-cased text; None = always run
    min_digits: int = 0  # run only if the text holds at least this many digits
    needs_card_run: bool = False  # run only if the text has a card-number-like digit run
    # A lookaround-free superset of ``rx`` for the gate: a field cut out of the raw line has
    # other neighbours than in the line, so the gate must not depend on them.
    confirm: re.Pattern[str] | None = None
    counter: Any = None

    def gated(self, lowered: str, digits: int, card_run: bool) -> bool:
        """The cheap gate: enough digits, a card-like run, one of the hints — none reads a digit's value."""
        if digits < self.min_digits or (self.needs_card_run and not card_run):
            return False
        hints = self.hints
        if hints is not None:
            for hint in hints:
                if hint in lowered:
                    return True
            return False
        return True

    def wanted(self, text: str, lowered: str, digits: int, card_run: bool) -> bool:
        """Could this rule change ``text``? (gate first, then one search of the whole text)"""
        return self.gated(lowered, digits, card_run) and (self.confirm or self.rx).search(text) is not None

    def apply(self, text: str) -> str:
        hits = 0
        repl = self.repl

        def counted(m: re.Match[str]) -> str:
            nonlocal hits
            out = repl(m)
            if out != m.group(0):
                hits += 1
            return out

        new = self.rx.sub(counted, text)
        if not hits:
            return text
        self.counter.inc(hits)
        return new


# Digits → "0", card separators → "-", everything else → "x": then a card candidate is just
# "00000000" or "0000-0000" in the result (timestamps, IPs and versions never are).
_SHAPE = bytes(48 if 48 <= b <= 57 else 45 if b in (32, 45) else 120 for b in range(256))


def _digit_shape(text: str) -> tuple[int, bool]:
    """(how many digits, whether a run like a card number's 8+ digits exists) — in C, not Python."""
    raw = text.encode("utf-8", "ignore")
    count = len(raw.translate(None, _NON_DIGITS))
    if count < 13:
        return count, False
    shape = raw.translate(_SHAPE)
    return count, b"00000000" in shape or b"0000-0000" in shape or b"0000--0000" in shape


class RedactStep(Step):
    def __init__(self, config: RedactConfig) -> None:
        self.name = config.rule_name
        words = tuple(config.secret_words)
        default_words = words == SECRET_WORDS
        secret_kv = (
            SECRET_KV
            if default_words
            else _kv_regex(words, r"(?P<val>\"(?:[^\"\\]|\\.)*+\"|'[^']*+'|[^\s,;&}\]\"']++)")
        )
        self.secret_name = re.compile(r"(?i)(?:" + _key_alternation(words) + r")") if words else None
        rules: list[_Rule] = []
        if config.bearer:
            rules.append(_Rule("bearer", BEARER, lambda m: f"{m['scheme']} {REDACTED}", ("bearer", "basic")))
        if config.cards:
            rules.append(_Rule("card_keyed", CARD_KV, self._card_keyed, ("card", "cc"), min_digits=12))
            rules.append(
                _Rule(
                    "card_luhn",
                    BARE_CARD,
                    self._card_bare,
                    None,
                    min_digits=13,
                    needs_card_run=True,
                    confirm=BARE_CARD_CANDIDATE,
                )
            )
        if config.secrets and words:
            hints = SECRET_HINTS if default_words else tuple(w.lower() for w in words)
            rules.append(_Rule("secret_kv", secret_kv, self._secret_kv, hints))
        if config.api_keys:
            rules.append(_Rule("api_key", API_KEY, lambda m: REDACTED, API_KEY_HINTS))
        for extra in config.patterns:
            rx = check_pattern(extra.pattern)
            rules.append(_Rule(extra.name, rx, lambda m, r=extra.replacement: r, None))
        for rule in rules:
            rule.counter = metrics.REDACTED.labels(rule.name)
        self.rules = rules
        # The gate memo needs hints without ASCII digits (a custom secret word may hold one).
        digit_hints = any(c in "0123456789" for rule in rules for hint in rule.hints or () for c in hint)
        self._gate_cache: dict[bytes, tuple[_Rule, ...]] | None = None if digit_hints else {}
        self.secrets = config.secrets
        self.cards = config.cards
        self._name_is_secret: dict[str, bool] = {}
        self._name_is_card: dict[str, bool] = {}
        self._kinds: dict[str, int] = {}
        self._plans: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {}
        self._secret_field = metrics.REDACTED.labels("secret_field")
        self._card_field = metrics.REDACTED.labels("card_keyed")

    def _active(self, text: str) -> list[_Rule]:
        """The rules that can change ``text``: their cheap gates, then one search each.

        The gates read no digit's value (digit counts, card-like runs, hints without digits), so
        texts that differ only in their digits pass the same gates — a line template with new
        numbers. They are memoised per digit skeleton (one C-level ``translate``), which spares
        the ~25 substring scans of a clean line (≈ 3 µs of the ≈ 7 µs this step cost, issue 13);
        the searches, which do read digits, still run on the text itself.
        """
        if self._gate_cache is None:
            gated = self._gated(text)
        else:
            key = text.encode("utf-8", "surrogatepass").translate(_ZERO_DIGITS)
            gated = self._gate_cache.get(key)
            if gated is None:
                gated = self._gated(text)
                if len(self._gate_cache) >= GATE_CACHE_SIZE:
                    self._gate_cache.clear()
                self._gate_cache[key] = gated
        if not gated:
            return []
        return [rule for rule in gated if (rule.confirm or rule.rx).search(text) is not None]

    def _gated(self, text: str) -> tuple[_Rule, ...]:
        lowered = text.lower()
        digits, card_run = _digit_shape(text)
        return tuple(rule for rule in self.rules if rule.gated(lowered, digits, card_run))

    def _classify(self, key: str) -> int:
        if key in SKIP_FIELDS:
            kind = _SKIP
        elif self._is_secret_name(key):
            kind = _SECRET
        elif self._is_card_name(key):
            kind = _CARD
        else:
            kind = _PLAIN
        if len(self._kinds) < 10_000:
            self._kinds[key] = kind
        return kind

    @staticmethod
    def _secret_kv(m: re.Match[str]) -> str:
        val = m["val"]
        if val[:1] in "\"'":
            if val[1:-1] == REDACTED:
                return m.group(0)
            return f"{m['key']}{m['sep']}{val[0]}{REDACTED}{val[0]}"
        if val == REDACTED or val.startswith("[REDACTED"):
            return m.group(0)
        return f"{m['key']}{m['sep']}{REDACTED}"

    @staticmethod
    def _card_keyed(m: re.Match[str]) -> str:
        return f"{m['key']}{m['sep']}{m['q']}{mask_card(m['num'])}"

    @staticmethod
    def _card_bare(m: re.Match[str]) -> str:
        number = m.group(0)
        start = m.start()
        if start and m.string[start - 1] in "0123456789.:/-":
            return number  # part of a longer number, an IP, a path or a date
        digits = number.replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return mask_card(number)
        return number

    def _is_secret_name(self, key: str) -> bool:
        known = self._name_is_secret.get(key)
        if known is None:
            leaf = key.rsplit(".", 1)[-1]
            known = bool(self.secret_name and self.secrets and self.secret_name.search(leaf))
            if len(self._name_is_secret) < 10_000:
                self._name_is_secret[key] = known
        return known

    def _is_card_name(self, key: str) -> bool:
        known = self._name_is_card.get(key)
        if known is None:
            known = self.cards and bool(CARD_NAME.search(key.rsplit(".", 1)[-1]))
            if len(self._name_is_card) < 10_000:
                self._name_is_card[key] = known
        return known

    def redact_text(self, text: str) -> str:
        """Apply every text rule to one string (exposed for tests and the DLQ path)."""
        for rule in self._active(text):
            text = rule.apply(text)
        return text

    def _value(self, value: Any, rules: list[_Rule]) -> Any:
        if isinstance(value, str):
            for rule in rules:
                value = rule.apply(value)
            return value
        if isinstance(value, list):
            return [self._value(v, rules) for v in value]
        if isinstance(value, dict):
            return {
                k: REDACTED if v is not None and self._is_secret_name(k) else self._value(v, rules)
                for k, v in value.items()
            }
        return value

    def _plan(self, keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(text-candidate keys, secret-named keys, card-named keys) for one set of doc keys.

        Events of one format share their key set, so this is computed once per shape.
        """
        plain, secret, card = [], [], []
        for key in keys:
            kind = self._kinds.get(key)
            if kind is None:
                kind = self._classify(key)
            if kind == _PLAIN:
                plain.append(key)
            elif kind == _SECRET:
                secret.append(key)
            elif kind == _CARD:
                card.append(key)
        plan = (tuple(plain), tuple(secret), tuple(card))
        if len(self._plans) >= 4096:
            self._plans.clear()
        self._plans[keys] = plan
        return plan

    def process(self, event: Event) -> Event:
        doc = event.doc
        shape = tuple(doc)
        plan = self._plans.get(shape) or self._plan(shape)
        plain, secret_keys, card_keys = plan
        for key in secret_keys:
            value = doc[key]
            if value is not None and value != REDACTED:
                doc[key] = REDACTED
                self._secret_field.inc()
        texts: list[str] = []
        for key in card_keys:  # a card-like name: mask when the value looks like a card number
            value = doc[key]
            if value is None:
                continue
            text = str(value)
            if CARD_VALUE.fullmatch(text):
                doc[key] = mask_card(text)
                self._card_field.inc()
            elif value.__class__ is str:
                texts.append(key)
        # One gate over the event's text decides which rules can match at all; usually none,
        # and the event is done after one lower(), a few ``in`` checks and a search or two.
        # Values cut from the raw line (most parsed fields) cannot match anything the raw line
        # does not, so the gate reads the raw line plus only the values that are not in it.
        original = doc.get(ecs.RAW)
        has_original = original.__class__ is str
        gate: list[str] = [original] if has_original else []  # type: ignore[list-item]
        nested: list[str] = []
        for key in plain:
            value = doc[key]
            if value.__class__ is str:
                texts.append(key)
                if has_original and (value is original or value in original):
                    continue
                gate.append(value)
            elif value.__class__ is list or value.__class__ is dict:
                nested.append(key)
        for key in card_keys:
            if key in texts:
                gate.append(doc[key])
        if not texts and not nested:
            return event
        for key in nested:
            gate.append(str(doc[key]))
        rules = self._active("\n".join(gate))
        if rules:
            for key in texts:
                value = doc[key]
                lowered = value.lower()
                for rule in rules:
                    hints = rule.hints
                    # per field, the rule's hints again: most fields of a hit event are clean
                    if hints is not None and not any(h in lowered for h in hints):
                        continue
                    new = rule.apply(value)
                    if new is not value:
                        value, lowered = new, new.lower()
                doc[key] = value
        for key in nested:
            doc[key] = self._value(doc[key], rules)
        return event
