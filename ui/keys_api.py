"""API-key management over HTTP (``admin`` scope), confined to the caller's own tenant.

Thin over :class:`opensearch.keys.KeyStore` (the same code as ``logharbor keys``): a tenant
admin can list, create, revoke and rotate only keys of its tenant; a key id of another tenant
answers 404, exactly like an id that does not exist, so ids cannot be probed across tenants.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from opensearch.keys import KeyLimits, KeyRecord, KeyStore, KeyStoreError, key_id_of, parse_duration
from ui.auth import Principal, check_grant
from ui.errors import ApiError, bad_request
from ui.settings import UISettings

CREATE_FIELDS = frozenset({"source", "scopes", "environment", "expires_in", "rate", "burst", "description"})


def key_limits(settings: UISettings | None = None) -> KeyLimits:
    """The configured key maximums (``ui.key_max_*``); defaults when no settings are given."""
    if settings is None:
        f = UISettings.model_fields
        return KeyLimits(f["key_max_rate"].default, f["key_max_burst"].default,
                         timedelta(days=f["key_max_lifetime_days"].default), f["key_require_expiry"].default)
    return KeyLimits(settings.key_max_rate, settings.key_max_burst,
                     timedelta(days=settings.key_max_lifetime_days), settings.key_require_expiry)


def _limits(store: KeyStore) -> KeyLimits:
    limits = getattr(store, "limits", None)
    return limits if isinstance(limits, KeyLimits) else key_limits()


def parse_create(body: Any) -> dict[str, Any]:
    """Validate a create request: ``{"source", "scopes", ["environment", "expires_in", "rate", "burst",
    "description"]}``; the tenant is never taken from the body."""
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    unknown = sorted(set(body) - CREATE_FIELDS)
    if unknown:
        raise bad_request(f"unknown member(s) {', '.join(unknown)}; allowed: {', '.join(sorted(CREATE_FIELDS))}")
    if not isinstance(body.get("source"), str):
        raise bad_request("'source' (string) is required", param="source")
    scopes = body.get("scopes")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise bad_request("'scopes' must be a list such as [\"ingest\"]", param="scopes")
    out: dict[str, Any] = {"source": body["source"], "scopes": scopes}
    for name in ("environment", "description"):
        if body.get(name) is not None:
            if not isinstance(body[name], str):
                raise bad_request(f"'{name}' must be a string", param=name)
            out[name] = body[name]
    for name in ("rate", "burst"):
        if body.get(name) is not None:
            if not isinstance(body[name], int | float) or isinstance(body[name], bool):
                raise bad_request(f"'{name}' must be a number", param=name)
            out[name] = float(body[name])
    if body.get("expires_in") is not None:
        out["expires_in"] = _duration(body["expires_in"], "expires_in")
    return out


def _duration(value: Any, name: str) -> Any:
    try:
        return parse_duration(str(value))
    except KeyStoreError as exc:
        raise bad_request(str(exc), param=name) from None
    except OverflowError:
        raise bad_request(f"'{name}' {value!r} is out of range", param=name) from None


async def _own(store: KeyStore, principal: Principal, key_id: str) -> KeyRecord:
    try:
        kid = key_id_of(key_id)
    except KeyStoreError:
        raise ApiError(404, f"no key {key_id!r}") from None
    record = await store.get(kid)
    if record is None or record.tenant != principal.tenant:
        raise ApiError(404, f"no key {key_id!r}")
    return record


async def list_keys(store: KeyStore, principal: Principal) -> dict[str, Any]:
    return {"keys": [r.public() for r in await store.list(tenant=principal.tenant)]}


async def create_key(store: KeyStore, principal: Principal, body: Any) -> dict[str, Any]:
    args = parse_create(body)
    check_grant(principal, args["scopes"])
    try:
        _limits(store).check(args.get("rate"), args.get("burst"), args.get("expires_in"))
        token, record = await store.create(tenant=principal.tenant, **args)
    except KeyStoreError as exc:
        raise bad_request(str(exc)) from None
    return {"key": token, "record": record.public()}


async def revoke_key(store: KeyStore, principal: Principal, key_id: str) -> dict[str, Any]:
    record = await _own(store, principal, key_id)
    return {"record": (await store.revoke(record.key_id)).public()}


async def rotate_key(store: KeyStore, principal: Principal, key_id: str, body: Any) -> dict[str, Any]:
    record = await _own(store, principal, key_id)
    grace = None
    if isinstance(body, dict) and body.get("grace") is not None:
        grace = _duration(body["grace"], "grace")
        limits = _limits(store)
        if grace > limits.max_lifetime:
            raise bad_request(f"grace {grace.days}d is above the key lifetime limit of {limits.max_lifetime.days}d "
                              f"({limits.setting}.key_max_lifetime_days)", param="grace")
    try:
        token, new = await store.rotate(record.key_id, grace=grace)
    except KeyStoreError as exc:
        raise bad_request(str(exc)) from None
    return {"key": token, "record": new.public()}
