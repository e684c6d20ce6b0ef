"""Who sees what of ``/api/v1/status``, and the "OpenSearch answers without authentication" check.

Why (issue 16 items 11 and 13): the status used to show Kafka topic names, per-partition lag and
the gateway URL to any read key — cluster-wide facts about every tenant's traffic. Now a
tenant's key sees each component's health (``ok``, ``status``, ``latency_ms``); only a key with
the ``operator`` scope sees the cluster detail (topics, lag, node counts, URLs, errors).

The auth probe asks the cluster once, *without* LogHarbor's credentials, for ``/_cluster/health``:
if it answers 200, anyone who reaches its port can read the session secret and key hashes in
``.logharbor-*``, so the status carries a warning (to ``admin`` and ``operator`` keys).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from logharbor.config import OpenSearchSettings
from opensearch.client import ssl_context

# Component members every key may see; the rest is cluster detail for operators.
TENANT_VISIBLE = frozenset({"ok", "status", "latency_ms"})
OPEN_CLUSTER_WARNING = (
    "OpenSearch answers without authentication: anyone who reaches {url} can read LogHarbor's "
    "session secret and API key hashes. Enable the security plugin (TLS + a LogHarbor service user); "
    "see docs/SECURITY.md and docs/OPERATIONS.md.")


async def probe_authentication(settings: OpenSearchSettings, limit_s: float) -> dict[str, Any]:
    """``{"required": bool | None, ...}``: does the cluster refuse a request without credentials?"""
    url = settings.urls[0].rstrip("/") + "/_cluster/health"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit_s)) as session:
            async with session.get(url, ssl=ssl_context(settings)) as resp:
                status = resp.status
    except (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError):
        return {"required": True, "detail": "TLS handshake refused without a client certificate"}
    except (aiohttp.ClientError, TimeoutError) as exc:
        return {"required": None, "detail": f"cannot tell: {type(exc).__name__}"}
    if status in (401, 403):
        return {"required": True, "detail": f"HTTP {status} without credentials"}
    if status == 200:
        return {"required": False, "detail": "HTTP 200 without credentials",
                "warning": OPEN_CLUSTER_WARNING.format(url=settings.url)}
    return {"required": None, "detail": f"HTTP {status} without credentials"}


def status_for(full: dict[str, Any], *, operator: bool, admin: bool) -> dict[str, Any]:
    """The status document as the caller may see it (``full`` is never modified)."""
    security = full.get("security") or {}
    warnings = [security["warning"]] if security.get("warning") else []
    if operator:
        out = dict(full)
        out["warnings"] = warnings
        out["view"] = "operator"
        return out
    components = {name: {k: v for k, v in c.items() if k in TENANT_VISIBLE}
                  for name, c in (full.get("components") or {}).items()}
    out = {"status": full.get("status"), "components": components, "view": "tenant"}
    if admin:
        out["warnings"] = warnings
        out["security"] = {"opensearch_authentication": security.get("required")}
    return out
