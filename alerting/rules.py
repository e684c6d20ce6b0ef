"""The alert rule: its JSON shape (issue 14's contract), validation, and secret redaction.

A rule is validated once, when it is written (API, CLI, built-in health rules), so the
evaluators can trust it: durations are parsed, the query is parsed with the same parser search
and live tail use, and a query carrying its own time clause is refused (the rule's window is the
time range). Channel secrets are stored encrypted (:func:`seal_channels`, keys from
:mod:`logharbor.secretbox`, outside OpenSearch) and decrypted only for the sender; :func:`public_rule`
masks them in everything handed back to a user, and ``Channel.__repr__`` never shows them in logs.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerting.durations import parse_duration
from alerting.schedule import check_active
from logharbor.secretbox import SecretBox, SecretKeyError, is_sealed
from opensearch.alerts_query import group_key  # noqa: F401  (re-exported: alerting code reads it here)
from opensearch.query import QuerySyntaxError, parse

SECRET_FIELDS = ("url", "routing_key", "secret", "password")
MASK = "********"
OPS = (">", ">=", "<", "<=")
AGGS = ("avg", "p95", "p99", "max", "min", "sum", "unique")
MAX_GROUPS = 10_000


def compare(op: str, value: float, threshold: float) -> bool:
    """The condition's comparison; ``None`` values (no data) never breach."""
    if op == ">":
        return value > threshold
    if op == ">=":
        return value >= threshold
    if op == "<":
        return value < threshold
    return value <= threshold


class Metric(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agg: Literal["avg", "p95", "p99", "max", "min", "sum", "unique"]
    field: str = Field(min_length=1, max_length=256)


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # "lag": the pipeline's ingestion delay in seconds (now − watermark); no query (health rule).
    # "storage" / "snapshot": cluster facts (disk level 0-3, snapshots failing 0/1); see
    # alerting/health_facts.py.
    type: Literal["count", "rate", "metric", "match", "lag", "storage", "snapshot"] = "count"
    op: Literal[">", ">=", "<", "<="] = ">"
    threshold: float = 0
    window: str = "1m"
    group_by: list[str] = Field(default_factory=list, max_length=3)
    metric: Metric | None = None
    # For `rate`: the denominator query (default: every event of the tenant in the window).
    of: str = ""

    @field_validator("window")
    @classmethod
    def _window(cls, v: str) -> str:
        s = parse_duration(v, "condition.window")
        if not 1 <= s <= 31 * 86400:
            raise ValueError("condition.window must be between 1s and 31d")
        return v

    @model_validator(mode="after")
    def _metric(self) -> Condition:
        if self.type == "metric" and self.metric is None:
            raise ValueError("condition.metric is required when condition.type is 'metric' "
                             "(e.g. {\"agg\": \"p95\", \"field\": \"http.response.time\"})")
        return self

    @property
    def window_s(self) -> float:
        return parse_duration(self.window)


class Channel(BaseModel):
    """Where a notification goes. ``test``: receives ``POST /api/v1/alerts/{id}/test``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["slack", "email", "pagerduty", "webhook"]
    url: str | None = Field(default=None, max_length=2048)
    to: list[str] = Field(default_factory=list, max_length=50)
    routing_key: str | None = Field(default=None, max_length=256)
    secret: str | None = Field(default=None, max_length=1024)
    name: str | None = Field(default=None, max_length=200)
    test: bool = True

    @model_validator(mode="after")
    def _needs(self) -> Channel:
        if self.type in ("slack", "webhook") and not self.url:
            raise ValueError(f"channels[].url is required for a {self.type} channel")
        if self.type == "email" and not self.to:
            raise ValueError("channels[].to (a list of addresses) is required for an email channel")
        if self.type == "pagerduty" and not self.routing_key:
            raise ValueError("channels[].routing_key is required for a pagerduty channel")
        if self.url and not is_sealed(self.url) and not self.url.startswith(("http://", "https://")):
            raise ValueError("channels[].url must be an http(s) URL")
        return self

    def __repr__(self) -> str:  # never print secrets (logs, tracebacks)
        return f"Channel(type={self.type!r}, name={self.name!r})"

    def sealed_fields(self) -> list[str]:
        """Secret fields still encrypted: the stored key could not be decrypted with this host's keys."""
        return [k for k in SECRET_FIELDS if is_sealed(getattr(self, k, None))]

    __str__ = __repr__


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    every: str | None = None
    cron: str | None = None
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _one(self) -> Schedule:
        if self.cron:
            from croniter import croniter

            if not croniter.is_valid(self.cron):
                raise ValueError(f"schedule.cron {self.cron!r} is not a valid cron expression")
        else:
            every = parse_duration(self.every or "1m", "schedule.every")
            if every < 1:
                raise ValueError("schedule.every must be at least 1s")
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(self.timezone)
        except Exception:
            raise ValueError(f"schedule.timezone {self.timezone!r} is not an IANA time zone") from None
        return self


class Rule(BaseModel):
    """One alert rule. ``id`` and ``tenant`` are set by the store, not by the author."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: str = Field(default_factory=lambda: uuid.uuid4().hex[:16], pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    tenant: str = "default"
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(default="", max_length=4000)
    condition: Condition = Field(default_factory=Condition)
    for_: str = Field(default="0s", alias="for")
    schedule: Schedule = Field(default_factory=Schedule)
    active: Any = "always"
    throttle: str = "0s"
    grace: str = "0s"
    # Re-notify a firing, unacknowledged group this often ("0s": never); acknowledging stops it.
    repeat: str = "0s"
    severity: Literal["info", "warning", "critical"] = "warning"
    channels: list[Channel] = Field(default_factory=list, max_length=20)
    enabled: bool = True
    summary_over: int = Field(default=10, ge=1, le=MAX_GROUPS)
    max_groups: int = Field(default=1000, ge=1, le=MAX_GROUPS)
    labels: dict[str, str] = Field(default_factory=dict)
    # Retention classes searched (default: every class but the DLQ; name "dlq" to watch it).
    classes: list[str] = Field(default_factory=list, max_length=20)
    builtin: str | None = None
    created_at: int | None = None
    updated_at: int | None = None

    @field_validator("for_", "throttle", "grace", "repeat")
    @classmethod
    def _durations(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("query")
    @classmethod
    def _query(cls, v: str) -> str:
        try:
            q = parse(v)
        except QuerySyntaxError as exc:
            raise ValueError(f"query: {exc}") from None
        if q.time_range is not None or q.calendar is not None:
            raise ValueError("query: leave time clauses out of an alert query; condition.window "
                             "sets the time range and `active` the hours")
        return v

    @field_validator("active")
    @classmethod
    def _active(cls, v: Any) -> Any:
        check_active(v)
        return v

    @property
    def for_s(self) -> float:
        return parse_duration(self.for_)

    @property
    def throttle_s(self) -> float:
        return parse_duration(self.throttle)

    @property
    def repeat_s(self) -> float:
        return parse_duration(self.repeat)

    @property
    def grace_s(self) -> float:
        return parse_duration(self.grace)

    @property
    def streaming(self) -> bool:
        return self.condition.type == "match"

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def mask_channel(ch: dict[str, Any]) -> dict[str, Any]:
    """A channel as shown to users: secrets replaced (webhook URLs keep only their host)."""
    out = dict(ch)
    for key in SECRET_FIELDS:
        if out.get(key):
            if key == "url":
                m = re.match(r"^(https?://[^/]+)", out[key])
                out[key] = (m.group(1) if m else "") + "/" + MASK
            else:
                out[key] = MASK
    return out


def public_rule(doc: dict[str, Any]) -> dict[str, Any]:
    """The rule as the API returns it: never a secret in clear."""
    out = dict(doc)
    out["channels"] = [mask_channel(c) for c in doc.get("channels", [])]
    return out


def seal_channels(doc: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """The rule document as stored: every channel secret encrypted."""
    out = dict(doc)
    out["channels"] = [{k: box.seal(v) if k in SECRET_FIELDS and isinstance(v, str) and v else v
                        for k, v in ch.items()} if isinstance(ch, dict) else ch
                       for ch in doc.get("channels", []) or []]
    return out


def open_channels(doc: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """The stored rule with its channel secrets decrypted. A value this host's keys cannot open
    stays sealed (the rule still evaluates; the sender reports the key problem per delivery)."""
    out = dict(doc)
    channels = []
    for ch in doc.get("channels", []) or []:
        ch = dict(ch)
        for key in SECRET_FIELDS:
            if is_sealed(ch.get(key)):
                try:
                    ch[key] = box.open(ch[key])
                except SecretKeyError:
                    pass
        channels.append(ch)
    out["channels"] = channels
    return out


def merge_secrets(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """On update, a masked value sent back means "keep the stored secret"."""
    old_channels = old.get("channels", [])
    for i, ch in enumerate(new.get("channels", []) or []):
        if not isinstance(ch, dict) or i >= len(old_channels):
            continue
        for key in SECRET_FIELDS:
            if isinstance(ch.get(key), str) and MASK in ch[key]:
                ch[key] = old_channels[i].get(key)
    return new


def window_delta(rule: Rule) -> timedelta:
    return timedelta(seconds=rule.condition.window_s)
