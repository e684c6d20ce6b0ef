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
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from logharbor import ecs
from pipeline import metrics
from pipeline.event import Event
from pipeline.parse.extract import check_pattern
from pipeline.settings import PipelineSettings
from pipeline.step import Step, StepConfig, register

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
SKIP_FIELDS = frozenset({ecs.EVENT_ID, ecs.TIMESTAMP, ecs.TENANT, "event.received", "event.dataset", ecs.LEVEL})


def _key_alternation(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in words)


def _kv_regex(words: tuple[str, ...], value: str) -> re.Pattern[str]:
    return re.compile(
        r"(?i)(?<![\w-])(?P<key>[\"']?[\w.-]{0,40}?(?:" + _key_alternation(words) + r")[\w.-]{0,40}[\"']?)"
        r"(?P<sep>[ \t]{0,4}[=:][ \t]{0,4})" + value
    )


SECRET_KV = _kv_regex(SECRET_WORDS, r"(?P<val>\"(?:[^\"\\]|\\.)*+\"|'[^']*+'|[^\s,;&}\]\"']++)")
CARD_KV = _kv_regex(CARD_WORDS, r"(?P<q>[\"']?)(?P<num>\d(?:[ -]?\d){11,18})(?!\d)")
BARE_CARD = re.compile(r"(?<![\d.:/-])[2-6]\d(?:[ -]?\d){11,17}(?![\d.:/])")
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


@register
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


Rewriter = Callable[[str], str]


class RedactStep(Step):
    def __init__(self, config: RedactConfig) -> None:
        self.name = config.rule_name
        words = tuple(config.secret_words)
        secret_kv = (
            SECRET_KV
            if words == SECRET_WORDS
            else _kv_regex(words, r"(?P<val>\"(?:[^\"\\]|\\.)*+\"|'[^']*+'|[^\s,;&}\]\"']++)")
        )
        self.secret_name = re.compile(r"(?i)(?:" + _key_alternation(words) + r")") if words else None
        self.rewriters: list[Rewriter] = []
        if config.bearer:
            self.rewriters.append(self._sub(BEARER, "bearer", lambda m: f"{m['scheme']} {REDACTED}"))
        if config.cards:
            self.rewriters.append(self._sub(CARD_KV, "card_keyed", self._card_keyed))
            self.rewriters.append(self._sub(BARE_CARD, "card_luhn", self._card_bare))
        if config.secrets and words:
            self.rewriters.append(self._sub(secret_kv, "secret_kv", self._secret_kv))
        if config.api_keys:
            self.rewriters.append(self._sub(API_KEY, "api_key", lambda m: REDACTED))
        for extra in config.patterns:
            rx = check_pattern(extra.pattern)
            self.rewriters.append(self._sub(rx, extra.name, lambda m, r=extra.replacement: r))
        self.secrets = config.secrets
        self.cards = config.cards
        self._name_is_secret: dict[str, bool] = {}
        self._name_is_card: dict[str, bool] = {}

    @staticmethod
    def _sub(rx: re.Pattern[str], rule: str, repl: Callable[[re.Match[str]], str]) -> Rewriter:
        counter = metrics.REDACTED.labels(rule)

        def rewrite(text: str) -> str:
            hits = 0

            def counted(m: re.Match[str]) -> str:
                nonlocal hits
                out = repl(m)
                if out != m.group(0):
                    hits += 1
                return out

            new = rx.sub(counted, text)
            if hits:
                counter.inc(hits)
            return new

        return rewrite

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
        for rewrite in self.rewriters:
            text = rewrite(text)
        return text

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, list):
            return [self._value(v) for v in value]
        if isinstance(value, dict):
            return {
                k: REDACTED if self._is_secret_name(k) and v is not None else self._value(v) for k, v in value.items()
            }
        return value

    def process(self, event: Event) -> Event:
        doc = event.doc
        for key, value in doc.items():
            if key in SKIP_FIELDS or value is None:
                continue
            if self._is_secret_name(key):
                if value != REDACTED:
                    doc[key] = REDACTED
                    metrics.REDACTED.labels("secret_field").inc()
                continue
            if self._is_card_name(key):
                text = str(value)
                if CARD_VALUE.fullmatch(text):
                    doc[key] = mask_card(text)
                    metrics.REDACTED.labels("card_keyed").inc()
                    continue
            if isinstance(value, bool | int | float):
                continue
            doc[key] = self._value(value)
        return event
