"""Retention days per class: read and change them at run time (``/api/v1/retention``).

A change is stored in ``.logharbor-lifecycle`` (so it survives restarts and wins over the
configured defaults) and immediately re-renders and re-applies the class policies, which
also re-attaches indices already managed (see :mod:`opensearch.bootstrap`).
"""

from __future__ import annotations

from opensearchpy import OpenSearch

from logharbor.config import ConfigError, StorageSettings

from . import lifecycle, lifecycle_audit
from .bootstrap import Change, bootstrap
from .definitions import retention_classes

MAX_RETENTION_DAYS = 3650


def get_retention(client: OpenSearch, storage: StorageSettings | None = None,
                  tenant: str | None = None) -> dict[str, int]:
    """Effective days per class: settings, overridden by the stored cluster-wide days, then (for
    ``tenant``) by that tenant's own days."""
    days = retention_classes(storage or StorageSettings())
    days.update(lifecycle.stored_retention(client))
    if tenant is not None:
        days.update(lifecycle.stored_tenant_retention(client).get(tenant, {}))
    return days


def validate_retention(update: dict[str, object], known: dict[str, int]) -> dict[str, int]:
    """Check classes and day counts; raises ConfigError naming the class and the limit."""
    clean: dict[str, int] = {}
    for cls, value in update.items():
        if cls not in known:
            raise ConfigError(f"unknown retention class '{cls}': known classes are {', '.join(sorted(known))}")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RETENTION_DAYS:
            raise ConfigError(f"retention.{cls}: must be a whole number of days from 1 to {MAX_RETENTION_DAYS}")
        clean[cls] = value
    return clean


def set_retention(client: OpenSearch, update: dict[str, object],
                  storage: StorageSettings | None = None, *, tenant: str | None = None,
                  actor: str | None = None) -> tuple[dict[str, int], list[Change]]:
    """Store new days and re-apply the policies; returns (effective, changes).

    ``tenant=None`` changes the cluster-wide defaults (callers must hold the operator scope);
    a tenant changes only its own ``logs-<tenant>-<class>`` streams, through per-tenant policies.
    One lifecycle-audit record per changed class names the actor, the scope and old → new.
    """
    storage = storage or StorageSettings()
    current = get_retention(client, storage, tenant)
    clean = validate_retention(update, current)
    if tenant is None:
        stored = lifecycle.stored_retention(client)
        stored.update(clean)
        lifecycle.store_retention(client, stored)
    else:
        stored = lifecycle.stored_tenant_retention(client).get(tenant, {})
        stored.update(clean)
        lifecycle.store_tenant_retention(client, tenant, stored)
    for cls, days in clean.items():
        if current.get(cls) != days:
            lifecycle_audit.record(client, "retention_change", tenant=tenant, retention_class=cls, actor=actor,
                                   outcome="changed", reason="cluster default" if tenant is None else "tenant",
                                   detail=f"{cls}: {current.get(cls)} -> {days} days"
                                   f"{'' if tenant is None else f' for tenant {tenant}'}")
    current.update(clean)
    return current, bootstrap(client, storage)


def clear_tenant(client: OpenSearch, tenant: str, storage: StorageSettings | None = None,
                 actor: str | None = None) -> list[str]:
    """Drop a tenant's own retention (back to the defaults) and its per-tenant policies."""
    from .definitions import tenant_policy_name

    days = lifecycle.stored_tenant_retention(client).get(tenant, {})
    client.delete(index=lifecycle.LIFECYCLE_INDEX, id=f"{lifecycle.RETENTION_DOC}:tenant:{tenant}",
                  ignore=[404], refresh="wait_for")
    names = [tenant_policy_name(cls, tenant) for cls in days]
    ism = lifecycle.use_ism(client, storage or StorageSettings())
    for name in names:
        if ism:
            client.transport.perform_request("DELETE", f"/_plugins/_ism/policies/{name}", params={"ignore": 404})
        else:
            client.delete(index=lifecycle.LIFECYCLE_INDEX, id=f"policy:{name}", ignore=[404], refresh="wait_for")
    if days:
        lifecycle_audit.record(client, "retention_change", tenant=tenant, actor=actor, outcome="cleared",
                               reason="tenant", detail=f"tenant {tenant} back to the defaults")
    return names
