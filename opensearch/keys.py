"""API keys: creation, listing, revocation, rotation and verification, stored in ``.logharbor-keys``.

A key looks like ``lh_live_<id>_<secret>``. The id is public (it appears in listings, audit
records and Kafka envelopes); the secret is 256 random bits, shown once at creation and
stored only as its SHA-256. A slow password hash buys nothing for a secret with that much
entropy, and a fast one keeps verification off the gateway's hot path. Comparisons use
``hmac.compare_digest`` so timing says nothing about how much of a guess was right.

The gateway verifies ``ingest`` keys from a cache it refreshes every few seconds
(gateway/auth.py); the UI reuses :class:`KeyStore` for ``read`` and ``admin`` keys.

Why one module of ~420 lines: the key record, its hashing and every store operation (create,
verify, revoke, rotate with grace) must agree on one document shape; kept together on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import AsyncOpenSearch, NotFoundError

from logharbor import tenancy

KEYS_INDEX = ".logharbor-keys"
KEY_PREFIX = "lh_live_"
# ``operator`` is the cluster-wide scope (docs/SECURITY.md): cluster figures in status/metrics,
# cluster-wide retention defaults. Only the CLI (or another operator key) can grant it.
OPERATOR_SCOPE = "operator"
SCOPES: frozenset[str] = frozenset({"ingest", "read", "admin", OPERATOR_SCOPE})
NAME_RE = tenancy.TENANT_RE  # tenants and sources: the one rule in logharbor/tenancy.py
_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o/1/l: ids get read aloud
_ID_RE = re.compile(r"^[a-z0-9]{12}$")

_MAPPING = {
    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
    "mappings": {
        "dynamic": "strict",
        "properties": {
            "key_id": {"type": "keyword"},
            "secret_hash": {"type": "keyword", "index": False},
            "tenant": {"type": "keyword"},
            "source": {"type": "keyword"},
            "environment": {"type": "keyword"},
            "scopes": {"type": "keyword"},
            "created_at": {"type": "date"},
            "expires_at": {"type": "date"},
            "revoked_at": {"type": "date"},
            "rate": {"type": "float"},
            "burst": {"type": "float"},
            "description": {"type": "text"},
            "rotated_from": {"type": "keyword"},
            "replaced_by": {"type": "keyword"},
            "audit": {"type": "boolean"},
        },
    },
}


class KeyStoreError(ValueError):
    """A key operation cannot be done; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """Maximums on what a tenant admin may create over HTTP (issue 16 item 9): without them a key
    with a rate of 1e12 events/s or a lifetime to the year 3943 was accepted. The CLI (an
    operator's tool) is not bound by them. ``setting`` names the settings prefix in messages."""

    max_rate: float
    max_burst: float
    max_lifetime: timedelta
    require_expiry: bool = False
    setting: str = "ui"

    def check(self, rate: float | None, burst: float | None, expires_in: timedelta | None) -> None:
        """Raise :class:`KeyStoreError` naming the limit that a requested key exceeds."""
        if rate is not None and not 0 < rate <= self.max_rate:
            raise KeyStoreError(f"rate {rate:g} events/s is above the limit of {self.max_rate:g} "
                                f"({self.setting}.key_max_rate)")
        if burst is not None and not 0 < burst <= self.max_burst:
            raise KeyStoreError(f"burst {burst:g} is above the limit of {self.max_burst:g} "
                                f"({self.setting}.key_max_burst)")
        days = self.max_lifetime.days
        if expires_in is None and self.require_expiry:
            raise KeyStoreError(f"keys must expire: give expires_in of at most {days}d "
                                f"({self.setting}.key_require_expiry)")
        if expires_in is not None and expires_in > self.max_lifetime:
            raise KeyStoreError(f"lifetime {expires_in.days}d is above the limit of {days}d "
                                f"({self.setting}.key_max_lifetime_days)")


@dataclass(slots=True)
class KeyRecord:
    """What is stored per key (never the secret itself)."""

    key_id: str
    secret_hash: str
    tenant: str
    source: str
    scopes: list[str]
    created_at: str
    environment: str | None = None
    expires_at: str | None = None
    revoked_at: str | None = None
    rate: float | None = None
    burst: float | None = None
    description: str | None = None
    rotated_from: str | None = None
    replaced_by: str | None = None
    audit: bool | None = None  # events from this key are audit logs (pipeline routes meta.audit)

    def to_doc(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> KeyRecord:
        known = {k: doc.get(k) for k in cls.__dataclass_fields__ if k in doc}
        return cls(**known)

    def expiry(self) -> datetime | None:
        return _parse_time(self.expires_at)

    def status(self, now: datetime | None = None) -> str:
        """active, expired or revoked — what ``keys list`` shows."""
        now = now or datetime.now(UTC)
        if self.revoked_at:
            return "revoked"
        exp = self.expiry()
        if exp is not None and exp <= now:
            return "expired"
        return "active"

    def public(self) -> dict[str, Any]:
        """Everything except the hash, for listings and JSON output."""
        doc = self.to_doc()
        doc.pop("secret_hash", None)
        doc["status"] = self.status()
        return doc


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking a presented key: ``outcome`` is what the audit log records."""

    outcome: str  # ok, malformed, unknown, expired, revoked, forbidden
    status: int  # HTTP status the gateway answers (200 when ok)
    message: str
    record: KeyRecord | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def hash_secret(secret: str) -> str:
    """SHA-256 hex of the secret part (high-entropy, so no slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def format_key(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}{key_id}_{secret}"


def split_key(token: str) -> tuple[str, str] | None:
    """``lh_live_<id>_<secret>`` → (id, secret), or None when it is not shaped like a key."""
    if not token.startswith(KEY_PREFIX):
        return None
    rest = token[len(KEY_PREFIX) :]
    key_id, sep, secret = rest.partition("_")
    if not sep or not _ID_RE.match(key_id) or len(secret) < 32 or len(secret) > 128:
        return None
    return key_id, secret


def key_id_of(key_or_id: str) -> str:
    """Accept either a full key or its id (CLI convenience: ``keys revoke lh_live_…``)."""
    parts = split_key(key_or_id.strip())
    if parts:
        return parts[0]
    value = key_or_id.strip()
    if value.startswith(KEY_PREFIX):
        value = value[len(KEY_PREFIX) :]
    if not _ID_RE.match(value):
        raise KeyStoreError(f"{key_or_id!r} is neither a key (lh_live_<id>_<secret>) nor a key id (12 characters)")
    return value


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` → timedelta (for --expires-in and --grace)."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text or "")
    if not m:
        raise KeyStoreError(f"duration {text!r}: use a number and a unit s, m, h, d or w (e.g. 30d)")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(seconds=n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit])


def check_name(kind: str, value: str) -> str:
    if not NAME_RE.match(value or ""):
        raise KeyStoreError(
            f"{kind} {value!r}: use 1-63 lower-case letters, digits, '_', '.' or '-', starting with a "
            "letter or digit (it becomes part of index names)"
        )
    return value


def judge(record: KeyRecord | None, secret: str, scope: str, now: datetime | None = None) -> Verdict:
    """Decide what a presented (id, secret) may do. Pure: the gateway calls it on cached records."""
    now = now or _now()
    if record is None:
        # still spend a comparison so unknown ids and wrong secrets take the same time
        hmac.compare_digest(hash_secret(secret), "0" * 64)
        return Verdict("unknown", 401, "unknown API key")
    if not hmac.compare_digest(hash_secret(secret), record.secret_hash):
        return Verdict("unknown", 401, "unknown API key")
    if record.revoked_at:
        return Verdict("revoked", 403, f"API key {record.key_id} was revoked at {record.revoked_at}", record)
    exp = record.expiry()
    if exp is not None and exp <= now:
        return Verdict(
            "expired",
            401,
            f"API key {record.key_id} expired at {record.expires_at}; renew it with "
            f"`logharbor keys rotate {record.key_id}` and deploy the new key",
            record,
        )
    if scope not in record.scopes:
        return Verdict(
            "forbidden",
            403,
            f"API key {record.key_id} lacks the {scope!r} scope (it has {', '.join(record.scopes) or 'none'})",
            record,
        )
    return Verdict("ok", 200, "ok", record)


class KeyStore:
    """Keys in OpenSearch. Async because the gateway and UI are; the CLI wraps it in asyncio.run."""

    def __init__(self, client: AsyncOpenSearch, index: str = KEYS_INDEX, limits: KeyLimits | None = None) -> None:
        self.client = client
        self.index = index
        # Maximums applied by the HTTP key API (ui/keys_api.py); None = that module's defaults.
        self.limits = limits

    async def ensure_index(self) -> None:
        """Create the index, or add fields newer versions know to an existing one (idempotent)."""
        if not await self.client.indices.exists(index=self.index):
            try:
                await self.client.indices.create(index=self.index, body=_MAPPING)
                return
            except Exception as exc:  # a concurrent creator won the race
                if "resource_already_exists" not in str(exc):
                    raise
        await self.client.indices.put_mapping(index=self.index, body={"properties": _MAPPING["mappings"]["properties"]})

    async def create(
        self,
        *,
        tenant: str,
        source: str,
        scopes: list[str],
        environment: str | None = None,
        expires_in: timedelta | None = None,
        rate: float | None = None,
        burst: float | None = None,
        description: str | None = None,
        rotated_from: str | None = None,
        audit: bool = False,
    ) -> tuple[str, KeyRecord]:
        """Create a key; returns (the full key — show it once, KeyRecord)."""
        check_name("tenant", tenant)
        check_name("source", source)
        if environment:
            check_name("environment", environment)
        bad = sorted(set(scopes) - SCOPES)
        if bad or not scopes:
            raise KeyStoreError(f"scope {bad or scopes!r}: choose from {', '.join(sorted(SCOPES))}")
        if (rate is not None and rate <= 0) or (burst is not None and burst <= 0):
            raise KeyStoreError("rate and burst must be positive")
        await self.ensure_index()
        key_id, secret = new_key_id(), secrets.token_urlsafe(32)
        now = _now()
        record = KeyRecord(
            key_id=key_id,
            secret_hash=hash_secret(secret),
            tenant=tenant,
            source=source,
            scopes=sorted(set(scopes)),
            created_at=_iso(now),
            environment=environment,
            expires_at=_iso(now + expires_in) if expires_in else None,
            rate=rate,
            burst=burst,
            description=description,
            rotated_from=rotated_from,
            audit=audit or None,
        )
        await self.client.index(index=self.index, id=key_id, body=record.to_doc(), op_type="create", refresh="wait_for")
        return format_key(key_id, secret), record

    async def get(self, key_id: str) -> KeyRecord | None:
        try:
            doc = await self.client.get(index=self.index, id=key_id)
        except NotFoundError:
            return None
        return KeyRecord.from_doc(doc["_source"])

    async def list(self, tenant: str | None = None) -> list[KeyRecord]:
        """Every key (optionally one tenant's), newest first. Scrolls, so thousands are fine."""
        if not await self.client.indices.exists(index=self.index):
            return []
        query: dict[str, Any] = {"term": {"tenant": tenant}} if tenant else {"match_all": {}}
        out: list[KeyRecord] = []
        resp = await self.client.search(
            index=self.index,
            body={"query": query, "size": 1000, "sort": [{"created_at": "desc"}]},
            params={"scroll": "30s"},
        )
        scroll_id = resp.get("_scroll_id")
        try:
            while resp["hits"]["hits"]:
                out.extend(KeyRecord.from_doc(h["_source"]) for h in resp["hits"]["hits"])
                if len(resp["hits"]["hits"]) < 1000:
                    break
                resp = await self.client.scroll(scroll_id=scroll_id, params={"scroll": "30s"})
                scroll_id = resp.get("_scroll_id")
        finally:
            if scroll_id:
                try:
                    await self.client.clear_scroll(scroll_id=scroll_id)
                except Exception:  # best effort: the scroll expires anyway
                    pass
        return out

    async def revoke(self, key_or_id: str) -> KeyRecord:
        """Mark revoked (kept for audit). Gateways stop accepting it within their refresh interval."""
        key_id = key_id_of(key_or_id)
        record = await self.get(key_id)
        if record is None:
            raise KeyStoreError(f"no key with id {key_id}")
        if not record.revoked_at:
            record.revoked_at = _iso(_now())
            body = {"doc": {"revoked_at": record.revoked_at}}
            await self.client.update(index=self.index, id=key_id, body=body, refresh="wait_for")
        return record

    async def rotate(
        self, key_or_id: str, grace: timedelta | None = None, expires_in: timedelta | None = None
    ) -> tuple[str, KeyRecord]:
        """New key with the same tenant, source, scopes and limits; the old one ends.

        With ``grace`` the old key keeps working until then (expiry), so shippers can be
        redeployed without a gap; without it the old key is revoked at once. An expired key
        can be rotated: that is how its owner renews it. The new key lives as long as the old
        one did (creation to expiry) unless ``expires_in`` says otherwise.
        """
        key_id = key_id_of(key_or_id)
        old = await self.get(key_id)
        if old is None:
            raise KeyStoreError(f"no key with id {key_id}")
        if old.revoked_at:
            raise KeyStoreError(f"key {key_id} is revoked; create a new one with `logharbor keys create`")
        lifetime = expires_in
        if lifetime is None and old.expires_at:
            lifetime = _parse_time(old.expires_at) - _parse_time(old.created_at)  # type: ignore[operator]
        token, new = await self.create(
            tenant=old.tenant,
            source=old.source,
            scopes=old.scopes,
            environment=old.environment,
            expires_in=lifetime,
            rate=old.rate,
            burst=old.burst,
            description=old.description,
            rotated_from=old.key_id,
            audit=bool(old.audit),
        )
        changes: dict[str, Any] = {"replaced_by": new.key_id}
        now = _now()
        if grace and grace.total_seconds() > 0:
            end = now + grace
            old_exp = old.expiry()
            changes["expires_at"] = _iso(min(end, old_exp) if old_exp else end)
        else:
            changes["revoked_at"] = _iso(now)
        await self.client.update(index=self.index, id=key_id, body={"doc": changes}, refresh="wait_for")
        return token, new

    async def verify(self, token: str, scope: str = "ingest") -> Verdict:
        """Check a presented key straight against OpenSearch (the UI's path; the gateway caches)."""
        parts = split_key(token)
        if parts is None:
            return Verdict("malformed", 401, "malformed API key: expected lh_live_<id>_<secret>")
        return judge(await self.get(parts[0]), parts[1], scope)

    async def all_by_id(self) -> dict[str, KeyRecord]:
        """Snapshot for caches: every key by id."""
        return {r.key_id: r for r in await self.list()}
