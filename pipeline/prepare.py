"""A batch's CPU work as pure functions: Kafka records in, documents and dead letters out.

``prepare_records`` is the pipeline's per-batch preparation — decode the envelope → run the
rules chain (retrying an event whose step raised, alone, then dead-lettering it) → build the
ECS document → route it to its data stream. ``settle_outcomes`` is the judgement after the
bulk request: which items count as created or duplicate (and are published), which become dead
letters. Neither does I/O, so both are unit-tested with plain records
(tests/unit/pipeline/test_prepare.py); :mod:`pipeline.worker` only moves bytes between Kafka
and OpenSearch around them, tracks offsets and commits.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from logharbor.ecs import data_stream_name
from logharbor.envelope import Envelope
from pipeline import metrics
from pipeline.dlq import DeadLetter, safe_tenant
from pipeline.document import to_document
from pipeline.event import Event
from pipeline.indexer import IndexItem, Outcome
from pipeline.step import Chain

log = logging.getLogger(__name__)
MAX_ID_BYTES = 512  # OpenSearch's limit for _id


class Record(Protocol):
    """What the pipeline reads of a Kafka record (aiokafka's ConsumerRecord has these)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class Prepared:
    """A processed batch waiting for the sink: its records, documents and dead letters."""

    records: list[Any]
    items: list[IndexItem]
    letters: list[DeadLetter]

    @staticmethod
    def join(parts: list[Prepared]) -> Prepared:
        return Prepared([r for p in parts for r in p.records], [i for p in parts for i in p.items],
                        [x for p in parts for x in p.letters])


def dead_letter(rec: Record, kind: str, reason: str, env: Envelope | None, default_tenant: str) -> DeadLetter:
    """A record the pipeline cannot store, with why (``kind``: envelope | processing | indexing | poison)."""
    return DeadLetter(
        reason_kind=kind,
        reason=reason,
        original=rec.value or b"",
        event_id=env.id if env else None,
        tenant=env.tenant if env else default_tenant,
        source=env.source if env else (rec.key or b"unknown").decode("utf-8", "replace"),
        topic=rec.topic,
        partition=rec.partition,
        offset=rec.offset,
    )


def run_rules(chain: Callable[[], Chain], events: list[Event], letters: list[DeadLetter], max_attempts: int,
              default_tenant: str) -> list[Event]:
    """Run the chain; events whose steps raise are retried alone, then dead-lettered.

    ``chain`` is asked again for each retry, so a rules file fixed meanwhile is used.
    """
    result = chain().run(events)
    kept = result.kept
    for event, exc in result.failed:
        attempt, error = 1, exc
        while attempt < max_attempts:
            attempt += 1
            metrics.POISON_RETRIES.inc()
            retry = Event.from_envelope(event.envelope)
            retry.origin = event.origin
            again = chain().run([retry])
            if not again.failed:
                kept.extend(again.kept)
                break
            error = again.failed[0][1]
        else:
            log.error("record %s failed processing %d times: %r", event.envelope.id, attempt, error)
            letters.append(dead_letter(event.origin, "processing", f"{type(error).__name__}: {error}",
                                       event.envelope, default_tenant))
    return kept


def prepare_records(records: list[Any], chain: Callable[[], Chain], max_attempts: int,
                    default_tenant: str) -> Prepared:
    """decode → rules → documents → routing for one batch of records (in order)."""
    letters: list[DeadLetter] = []
    events: list[Event] = []
    for rec in records:
        try:
            env = Envelope.from_bytes(rec.value)
        except (ValueError, TypeError) as exc:
            letters.append(dead_letter(rec, "envelope", str(exc), None, default_tenant))
            continue
        event = Event.from_envelope(env)
        event.origin = rec
        events.append(event)
    kept = run_rules(chain, events, letters, max_attempts, default_tenant)
    items = []
    for event in kept:
        env = event.envelope
        index = data_stream_name(safe_tenant(env.tenant), event.retention_class or "standard")
        if len(env.id.encode()) > MAX_ID_BYTES:
            letters.append(dead_letter(event.origin, "processing", f"event id longer than {MAX_ID_BYTES} bytes",
                                       env, default_tenant))
            continue
        try:
            item = IndexItem(index=index, id=env.id, doc=to_document(event), ref=event)
            item.body()  # serialise here, in the CPU stage, and catch what cannot be
        except (TypeError, ValueError) as exc:
            letters.append(dead_letter(event.origin, "processing", f"document: {exc}", env, default_tenant))
            continue
        items.append(item)
    return Prepared(records, items, letters)


@dataclass(slots=True)
class Settled:
    """What the bulk outcomes of a batch mean: what to publish, what to dead-letter, what to count."""

    publish: list[IndexItem] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    created: Counter[str] = field(default_factory=Counter)  # per retention class
    duplicates: int = 0
    latencies: list[float] = field(default_factory=list)  # received → indexed, seconds


def settle_outcomes(prepared: Prepared, now: float, default_tenant: str) -> Settled:
    """Judge each indexed item: created and duplicate are published (at-least-once: the first
    publish of a duplicate may have died with its worker), anything else is a dead letter."""
    out = Settled(letters=list(prepared.letters))
    received_cache: dict[str, float | None] = {}
    for item in prepared.items:
        event = item.ref
        if item.outcome is Outcome.CREATED:
            out.created[event.retention_class or "standard"] += 1
            received_at = event.envelope.received_at
            received = received_cache.get(received_at, -1.0)
            if received == -1.0:
                received = received_cache[received_at] = epoch(received_at)
            if received is not None:
                out.latencies.append(max(0.0, now - received))
            out.publish.append(item)
        elif item.outcome is Outcome.DUPLICATE:
            out.duplicates += 1
            out.publish.append(item)
        else:
            out.letters.append(dead_letter(event.origin, "indexing", item.reason or "unknown", event.envelope,
                                           default_tenant))
    return out


def processed_messages(items: list[IndexItem]) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) for ``logharbor.processed``: the stored JSON plus the data stream it went to."""
    return (
        (item.ref.envelope.source.encode(),
         item.doc_bytes()[:-1] + b',"data_stream":{"name":' + orjson.dumps(item.index) + b"}}")
        for item in items
    )


def epoch(value: str) -> float | None:
    """An RFC 3339 timestamp as epoch seconds (naive = UTC); None when it is not one."""
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
