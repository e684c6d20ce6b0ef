"""The audit log: who tried to use which key, from where, and what happened (``.logharbor-audit``).

Writes are buffered and bulk-flushed by a background task, because auditing must never put an
OpenSearch round trip on the ingest path. The buffer is bounded: if OpenSearch is down for
long, the oldest records are dropped and counted (``dropped``) rather than growing memory.
Records carry the key id, never the secret.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from datetime import UTC, datetime
from typing import Any

from opensearchpy import AsyncOpenSearch

from logharbor.tasks import stop_task

AUDIT_INDEX = ".logharbor-audit"
log = logging.getLogger(__name__)

_MAPPING = {
    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1", "hidden": True}},
    "mappings": {
        "properties": {
            "@timestamp": {"type": "date"},
            "component": {"type": "keyword"},
            "action": {"type": "keyword"},
            "key_id": {"type": "keyword"},
            "tenant": {"type": "keyword"},
            "client_ip": {"type": "keyword"},
            "outcome": {"type": "keyword"},
            "status": {"type": "short"},
            "path": {"type": "keyword"},
            "detail": {"type": "text"},
        }
    },
}


def audit_record(
    *,
    action: str,
    outcome: str,
    key_id: str | None,
    client_ip: str | None,
    tenant: str | None = None,
    status: int | None = None,
    path: str | None = None,
    component: str = "gateway",
    detail: str | None = None,
) -> dict[str, Any]:
    """One audit document; a plain dict so callers and tests need no OpenSearch."""
    doc: dict[str, Any] = {
        "@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "component": component,
        "action": action,
        "outcome": outcome,
        "key_id": key_id,
        "client_ip": client_ip,
        "tenant": tenant,
        "status": status,
        "path": path,
        "detail": detail,
    }
    return {k: v for k, v in doc.items() if v is not None}


class AuditWriter:
    """Buffered, asynchronous audit writes: ``record()`` never blocks, ``run()`` flushes."""

    def __init__(
        self,
        client: AsyncOpenSearch,
        *,
        index: str = AUDIT_INDEX,
        flush_s: float = 1.0,
        max_buffer: int = 10_000,
        batch: int = 2000,
    ) -> None:
        self.client = client
        self.index = index
        self.flush_s = flush_s
        self.batch = batch
        self._buf: deque[dict[str, Any]] = deque(maxlen=max_buffer)
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self._index_ready = False
        self._task: asyncio.Task[None] | None = None

    def record(self, doc: dict[str, Any]) -> None:
        if len(self._buf) == self._buf.maxlen:
            self.dropped += 1
        self._buf.append(doc)

    def pending(self) -> int:
        return len(self._buf)

    async def _ensure_index(self) -> None:
        if self._index_ready:
            return
        if not await self.client.indices.exists(index=self.index):
            try:
                await self.client.indices.create(index=self.index, body=_MAPPING)
            except Exception as exc:
                if "resource_already_exists" not in str(exc):
                    raise
        self._index_ready = True

    async def flush(self) -> int:
        """Write what is buffered; on failure the records go back to the front of the buffer."""
        written = 0
        while self._buf:
            docs = [self._buf.popleft() for _ in range(min(self.batch, len(self._buf)))]
            try:
                await self._ensure_index()
                body: list[dict[str, Any]] = []
                for d in docs:
                    body.append({"index": {"_index": self.index}})
                    body.append(d)
                resp = await self.client.bulk(body=body)
                if resp.get("errors"):
                    self.failures += sum(1 for i in resp["items"] if i["index"].get("error"))
            except Exception as exc:
                self.failures += 1
                log.warning("audit: flush to %s failed (%s); will retry", self.index, exc)
                for d in reversed(docs):
                    if len(self._buf) < (self._buf.maxlen or 0):
                        self._buf.appendleft(d)
                    else:
                        self.dropped += 1
                return written
            written += len(docs)
            self.written += len(docs)
        return written

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="audit-writer")

    async def close(self) -> None:
        """Stop the loop and make one last flush attempt."""
        await stop_task(self._task)
        self._task = None
        await self.flush()
