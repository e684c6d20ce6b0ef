"""Built-in health rules, shipped with LogHarbor, enabled per tenant or disabled globally.

They are ordinary rules (same evaluator, channels, states, silences) over LogHarbor's own data,
installed for the default tenant with ids ``builtin-<name>`` and ``enabled: false`` until an
operator adds channels and enables them (``PUT /api/v1/alerts/builtin-<name>``); names listed in
``alerting.builtin_disabled`` are never installed. Rules whose signal LogHarbor does not index
yet are documented in docs/ALERTS.md instead of shipped half-working.
"""

from __future__ import annotations

from typing import Any

from alerting.evaluator import Context
from logharbor.config import StorageSettings

BUILTIN: dict[str, dict[str, Any]] = {
    # Error rate of what the gateways accepted, as stored: ERROR/FATAL over all events.
    "error-rate": {"name": "Error rate above 5 %", "query": "level:ERROR OR level:FATAL",
                   "condition": {"type": "rate", "op": ">", "threshold": 5, "window": "5m"}, "for": "5m",
                   "severity": "warning"},
    # Authentication failures logged by applications (spike against a fixed ceiling).
    "auth-failures": {"name": "Authentication failure spike",
                      "query": '"authentication failed" OR "login failed" OR "invalid password"',
                      "condition": {"type": "count", "op": ">", "threshold": 100, "window": "5m"},
                      "severity": "warning"},
    # Processing backlog: how far behind "now" the pipeline's ingestion watermark is.
    "pipeline-lag": {"name": "Pipeline lag (processing backlog) over 5 minutes", "query": "",
                     "condition": {"type": "lag", "op": ">", "threshold": 300, "window": "1m"}, "for": "2m",
                     "severity": "critical"},
    # Dead letters: events the pipeline could not store (the DLQ data stream).
    "dlq-growth": {"name": "Dead-letter queue growing", "query": "",
                   "condition": {"type": "count", "op": ">", "threshold": 0, "window": "5m"},
                   "classes": ["dlq"], "severity": "critical"},
    # Storage capacity (lifecycle disk facts): a node past the high/flood watermark, or ingest /
    # index creation blocked. Value 0 ok, 1 low, 2 high, 3 flood; low alone is handled by
    # emergency retention and does not page. See alerting/health_facts.py.
    "storage-capacity": {"name": "Storage capacity: disk past the high watermark or ingest blocked", "query": "",
                         "condition": {"type": "storage", "op": ">=", "threshold": 2, "window": "1m"},
                         "severity": "critical"},
    # Snapshots (issue 15): the last scheduled/manual snapshot run was not SUCCESS (PARTIAL,
    # FAILED, ERROR) or the last verify failed; resolves with the next good run/verify.
    "snapshot-failing": {"name": "Snapshot failed, partial or unverifiable", "query": "",
                         "condition": {"type": "snapshot", "op": ">", "threshold": 0, "window": "1m"},
                         "severity": "warning"},
}


def builtin_rules(tenant: str, disabled: list[str]) -> list[dict[str, Any]]:
    out = []
    for name, spec in BUILTIN.items():
        if name in disabled:
            continue
        rid = f"builtin-{name}" if tenant == StorageSettings().default_tenant else f"builtin-{name}-{tenant}"
        out.append({**spec, "id": rid[:64], "tenant": tenant, "builtin": name, "enabled": False,
                    "schedule": {"every": "1m"}, "channels": []})
    return out


async def install_builtin_rules(ctx: Context, tenant: str | None = None) -> int:
    """Create the missing built-in rules for ``tenant`` (never overwrites an operator's edits)."""
    from alerting.rules import Rule

    tenant = tenant or StorageSettings().default_tenant
    n = 0
    for doc in builtin_rules(tenant, ctx.settings.builtin_disabled):
        if await ctx.rules.get(None, doc["id"]) is not None:
            continue
        rule = Rule.model_validate(doc)
        try:
            await ctx.rules.put(rule.to_doc(), create=True)
            n += 1
        except Exception as exc:  # a concurrent installer won
            if "version_conflict" not in str(exc):
                raise
    return n
