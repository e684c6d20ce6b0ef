"""Dead letters: records the pipeline cannot store, kept with the reason, never dropped.

Each goes to the Kafka DLQ topic (``KafkaSettings.dlq_topic``; the durable copy, replayable) and
to the searchable data stream ``logs-<tenant>-dlq``. The Kafka write must succeed before the
record's offset may be committed; the index copy is best effort on top (counted when it fails).
Originals are passed through redaction first: a record that failed processing may still hold
a password, and the DLQ is storage too.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from opensearchpy import AsyncOpenSearch

from logharbor import ecs
from logharbor.ecs import data_stream_name
from pipeline import metrics
from pipeline.redact import RedactConfig, RedactStep
from pipeline.timeparse import format_timestamp

log = logging.getLogger(__name__)

_INVALID_INDEX_CHARS = re.compile(r"[^a-z0-9_.+-]")


@lru_cache(maxsize=4096)
def safe_tenant(tenant: str) -> str:
    """Tenants become part of index names: lowercase, no characters OpenSearch forbids.

    Cached: it runs for every stored event, and a worker sees few tenants.
    """
    cleaned = _INVALID_INDEX_CHARS.sub("_", tenant.lower()).lstrip("_.+-")
    return cleaned or "default"


@dataclass(slots=True)
class DeadLetter:
    reason_kind: str  # short label for metrics: envelope | processing | indexing
    reason: str
    original: bytes
    event_id: str | None
    tenant: str
    source: str
    topic: str
    partition: int
    offset: int


class DeadLetterSink:
    def __init__(self, producer: AIOKafkaProducer, client: AsyncOpenSearch | None, topic: str) -> None:
        self.producer = producer
        self.client = client
        self.topic = topic
        self.redactor = RedactStep(RedactConfig(type="redact"))

    def _record(self, letter: DeadLetter) -> dict[str, Any]:
        original = self.redactor.redact_text(letter.original.decode("utf-8", "replace"))
        return {
            "id": letter.event_id,
            "tenant": letter.tenant,
            "source": letter.source,
            "reason": letter.reason,
            "reason_kind": letter.reason_kind,
            "failed_at": format_timestamp(datetime.now(UTC)),
            "topic": letter.topic,
            "partition": letter.partition,
            "offset": letter.offset,
            "original": original,
        }

    async def send(self, letters: list[DeadLetter]) -> None:
        """Write every letter to Kafka (awaited: required for commit), then to the DLQ streams."""
        if not letters:
            return
        records = [self._record(letter) for letter in letters]
        futures = [
            await self.producer.send(self.topic, key=r["source"].encode(), value=orjson.dumps(r)) for r in records
        ]
        for fut in futures:
            await fut
        for letter in letters:
            metrics.DLQ.labels(letter.reason_kind).inc()
        if self.client is not None:
            await self._index(letters, records)

    async def _index(self, letters: list[DeadLetter], records: list[dict[str, Any]]) -> None:
        lines = []
        for letter, rec in zip(letters, records, strict=True):
            doc_id = letter.event_id or f"{letter.topic}-{letter.partition}-{letter.offset}"
            doc = {
                ecs.TIMESTAMP: rec["failed_at"],
                ecs.MESSAGE: letter.reason,
                "error": {"message": letter.reason, "type": letter.reason_kind},
                "event": {"id": doc_id, "original": rec["original"]},
                "service": {"name": letter.source},
                "labels": {
                    "tenant": letter.tenant,
                    "kafka_topic": letter.topic,
                    "kafka_partition": str(letter.partition),
                    "kafka_offset": str(letter.offset),
                },
            }
            index = data_stream_name(safe_tenant(letter.tenant), "dlq")
            lines.append(orjson.dumps({"create": {"_index": index, "_id": doc_id}}))
            lines.append(orjson.dumps(doc))
        try:
            resp = await self.client.bulk(body=b"\n".join(lines) + b"\n")
            failed = [
                i for i in resp.get("items", []) if next(iter(i.values())).get("status", 500) not in (200, 201, 409)
            ]
            if failed:
                metrics.DLQ.labels("index_write_failed").inc(len(failed))
                log.error("%d dead letters not indexed (they are in Kafka topic %s)", len(failed), self.topic)
        except Exception as exc:  # the Kafka copy is the durable one
            metrics.DLQ.labels("index_write_failed").inc(len(letters))
            log.error("dead-letter index write failed (%s); records are in Kafka topic %s", exc, self.topic)
