"""Lifecycle audit and run history (``.logharbor-lifecycle-audit``): every deletion, snapshot,
verify, emergency retention and retention change leaves one record here.

Why a separate index from ``.logharbor-audit`` (key use at the gateway): these records carry
figures an operator searches and sums (docs, bytes freed, duration) with a strict mapping,
and they are written synchronously — a deletion without its audit record must not happen
silently, so :func:`record` raises if the write fails and callers record *before* deleting
where the order matters (see :mod:`opensearch.safe_delete`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opensearchpy import NotFoundError, OpenSearch, TransportError

AUDIT_INDEX = ".logharbor-lifecycle-audit"
KINDS = ("deletion", "snapshot", "snapshot_delete", "verify", "restore", "emergency", "retention_change",
         "legal_hold", "close", "reopen")

_MAPPING = {
    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
    "mappings": {"dynamic": False, "properties": {
        "@timestamp": {"type": "date"},
        "kind": {"type": "keyword"},
        "outcome": {"type": "keyword"},
        "index": {"type": "keyword"},
        "data_stream": {"type": "keyword"},
        "tenant": {"type": "keyword"},
        "retention_class": {"type": "keyword"},
        "docs": {"type": "long"},
        "bytes_freed": {"type": "long"},
        "reason": {"type": "keyword"},
        "policy": {"type": "keyword"},
        "snapshot": {"type": "keyword"},
        "repository": {"type": "keyword"},
        "actor": {"type": "keyword"},
        "duration_s": {"type": "double"},
        "detail": {"type": "text"},
    }},
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ensure_index(client: OpenSearch) -> None:
    if client.indices.exists(index=AUDIT_INDEX):
        return
    try:
        client.indices.create(index=AUDIT_INDEX, body=_MAPPING)
    except TransportError as exc:
        if "resource_already_exists" not in str(exc):
            raise


def tenant_of(data_stream: str | None) -> tuple[str | None, str | None]:
    """``logs-<tenant>-<class>`` → (tenant, class); tenants may contain dashes, classes not."""
    if not data_stream or not data_stream.startswith("logs-"):
        return None, None
    rest = data_stream[len("logs-"):]
    if "-" not in rest:
        return None, None
    tenant, cls = rest.rsplit("-", 1)
    return tenant, cls


def record(client: OpenSearch, kind: str, *, refresh: bool = True, **fields: Any) -> dict[str, Any]:
    """Write one record synchronously (raises on failure) and return it."""
    if kind not in KINDS:
        raise ValueError(f"unknown lifecycle audit kind '{kind}'")
    doc: dict[str, Any] = {"@timestamp": now_iso(), "kind": kind}
    if fields.get("data_stream") and "tenant" not in fields:
        tenant, cls = tenant_of(fields["data_stream"])
        fields.setdefault("tenant", tenant)
        fields.setdefault("retention_class", cls)
    doc.update({k: v for k, v in fields.items() if v is not None})
    ensure_index(client)
    client.index(index=AUDIT_INDEX, body=doc, refresh="wait_for" if refresh else "false")
    return doc


def search(client: OpenSearch, *, kind: str | None = None, tenant: str | None = None,
           data_stream: str | None = None, index: str | None = None, size: int = 100) -> list[dict[str, Any]]:
    """Newest first; filters are exact (keyword) matches."""
    filters = [{"term": {k: v}} for k, v in (("kind", kind), ("tenant", tenant), ("data_stream", data_stream),
                                              ("index", index)) if v]
    try:
        res = client.search(index=AUDIT_INDEX, body={
            "size": max(1, min(size, 1000)), "sort": [{"@timestamp": "desc"}],
            "query": {"bool": {"filter": filters}},
        })
    except NotFoundError:
        return []
    return [h["_source"] for h in res["hits"]["hits"]]
