"""One pipeline process: consume → process (the rules chain) → bulk index → DLQ → publish → commit.

Batches flow through in order: a batch is fully settled (every record indexed, duplicate,
dead-lettered or dropped on purpose) before its offsets are committed, so a crash at any point
replays at most the uncommitted records, and ``op_type=create`` with ``_id`` = event id turns
those replays into counted duplicates. While OpenSearch pushes back (429/5xx) the batch is
retried with exponential backoff and the consumer's partitions are paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError

from logharbor.config import KafkaSettings, OpenSearchSettings, StorageSettings, default_data_dir
from logharbor.ecs import data_stream_name
from logharbor.envelope import Envelope
from opensearch.client import async_client
from pipeline import metrics
from pipeline.crashguard import CrashGuard, Marker
from pipeline.dlq import DeadLetter, DeadLetterSink, safe_tenant
from pipeline.document import to_document
from pipeline.event import Event
from pipeline.indexer import BulkIndexer, IndexItem, Outcome, Stopping
from pipeline.offsets import OffsetTracker
from pipeline.publish import BatchPublisher
from pipeline.rules import RulesWatcher
from pipeline.server import start_server
from pipeline.settings import PipelineSettings
from pipeline.watermark import WatermarkReporter

log = logging.getLogger(__name__)
MAX_ID_BYTES = 512  # OpenSearch's limit for _id


@dataclass(slots=True)
class _Prepared:
    """A processed batch waiting for the sink: its records, documents and dead letters."""

    records: list[Any]
    items: list[IndexItem]
    letters: list[DeadLetter]


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, worker: PipelineWorker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Settle the batches in flight, commit, then let the partitions go. (A batch polled
        # meanwhile may still hold revoked records: they are indexed, not committed here, and the
        # new owner's replay of them is absorbed as 409 duplicates.)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.worker.drain(), timeout=120)
        await self.worker.commit()
        self.worker.tracker.forget(revoked)
        metrics.ASSIGNED_PARTITIONS.set(0)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        metrics.ASSIGNED_PARTITIONS.set(len(assigned))
        log.info("assigned partitions: %s", sorted(tp.partition for tp in assigned))


class PipelineWorker:
    """The consume/process/index loop of one process."""

    def __init__(
        self,
        settings: PipelineSettings,
        stop_event: asyncio.Event,
        kafka: KafkaSettings | None = None,
        opensearch: OpenSearchSettings | None = None,
    ) -> None:
        self.settings = settings
        self.stop_event = stop_event
        self.kafka = kafka or KafkaSettings()
        self.os_settings = opensearch or OpenSearchSettings()
        self.topic = settings.topic or self.kafka.raw_topic
        self.group = settings.consumer_group or self.kafka.consumer_group
        self.default_tenant = StorageSettings().default_tenant
        self.rules = RulesWatcher(settings)
        self.tracker = OffsetTracker()
        state_dir = settings.state_dir or default_data_dir() / "pipeline-state"
        self.guard = CrashGuard(
            state_dir / _safe_name(self.group) if settings.crash_guard else None, settings.max_record_attempts
        )
        self._queue: asyncio.Queue[_Prepared] | None = None
        self.ready = False
        self.paused = False
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.client = async_client(self.os_settings)
        self.indexer = BulkIndexer(
            self.client,
            max_docs=settings.bulk_max_docs,
            max_bytes=settings.bulk_max_bytes,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
            stop_event=stop_event,
            on_backpressure=self._backpressure,
        )
        self.dlq: DeadLetterSink | None = None
        self.watermark = WatermarkReporter(self.client, self.group)  # for the alert evaluator

    # -- lifecycle ---------------------------------------------------------------------------

    async def ensure_topics(self) -> None:
        """Create missing topics (raw, processed, DLQ) with the configured partition counts.

        Brokers often run with auto-creation off; creating here (idempotently, racing workers
        tolerated) means a fresh cluster works without a separate setup step.
        """
        wanted = {
            self.topic: self.kafka.raw_partitions,
            self.kafka.processed_topic: self.kafka.processed_partitions,
            self.kafka.dlq_topic: self.kafka.dlq_partitions,
        }
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka.bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [
                NewTopic(name, num_partitions=n, replication_factor=1)
                for name, n in wanted.items()
                if name not in existing
            ]
            if missing:
                try:
                    await admin.create_topics(missing)
                    log.info("created topics %s", [t.name for t in missing])
                except TopicAlreadyExistsError:
                    pass
        finally:
            await admin.close()

    async def check_templates(self) -> None:
        """Warn when the index templates are missing: writes would then create plain indices
        with guessed mappings instead of data streams with the ECS mapping."""
        try:
            present = await self.client.indices.exists_index_template(name="logharbor-logs-standard")
        except Exception as exc:  # OpenSearch down: the bulk path will back off and retry
            log.warning("could not check index templates: %s", exc)
            return
        if not present:
            log.warning(
                "index template logharbor-logs-standard is missing: run `logharbor indices bootstrap` "
                "before indexing, or documents land in plain indices with dynamic mappings"
            )

    async def start(self) -> None:
        await self.check_templates()
        await self.ensure_topics()
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.kafka.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            max_batch_size=1024 * 1024,
            max_request_size=8 * 1024 * 1024,
        )
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.max_poll_records,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
            max_poll_interval_ms=600_000,
            fetch_max_bytes=32 * 1024 * 1024,
        )
        self.consumer.subscribe([self.topic], listener=_Rebalance(self))
        await self.consumer.start()
        self.publisher = BatchPublisher(self.producer)
        self.dlq = DeadLetterSink(self.producer, self.client if self.settings.dlq_index else None, self.kafka.dlq_topic)
        self.ready = True
        log.info("pipeline consuming %s as group %s", self.topic, self.group)

    async def close(self) -> None:
        self.ready = False
        if self.consumer is not None:
            with contextlib.suppress(Exception):
                await self.commit()
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()
        await self.client.close()

    def ready_state(self) -> tuple[bool, dict[str, Any]]:
        return self.ready and not self.paused, {"paused": self.paused, "topic": self.topic}

    def _backpressure(self, paused: bool) -> None:
        if paused == self.paused or self.consumer is None:
            return
        self.paused = paused
        metrics.PAUSED.set(1 if paused else 0)
        assignment = list(self.consumer.assignment())
        if paused:
            self.consumer.pause(*assignment)
        else:
            self.consumer.resume(*assignment)

    # -- the loop ----------------------------------------------------------------------------
    #
    # Two stages joined by a small queue: the consumer stage polls and does the CPU work
    # (decode, rules chain, documents) while the sink stage waits on OpenSearch and Kafka for
    # the previous batch. The queue bound keeps memory flat and turns a slow sink into
    # backpressure on polling. Offsets are committed by the sink, after a batch is settled.

    async def run(self) -> None:
        assert self.consumer is not None
        queue: asyncio.Queue[_Prepared] = asyncio.Queue(maxsize=self.settings.inflight_batches)
        self._queue = queue
        sink = asyncio.create_task(self._sink(queue), name="pipeline-sink")
        try:
            while not self.stop_event.is_set():
                if sink.done():
                    break
                self.watermark.tick(self.consumer)
                batch = await self.consumer.getmany(
                    timeout_ms=self.settings.poll_timeout_ms, max_records=self.settings.max_poll_records
                )
                if not batch:
                    continue
                for tp, recs in batch.items():
                    if recs:
                        high = self.consumer.highwater(tp)
                        if high is not None:
                            metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(
                                max(0, high - recs[-1].offset - 1)
                            )
                prepared = self.prepare_batch(batch)
                put = asyncio.create_task(queue.put(prepared))
                await asyncio.wait({put, sink}, return_when=asyncio.FIRST_COMPLETED)
                if not put.done():
                    put.cancel()
                    break
            if not sink.done():
                # Settle what is queued (normal stop), unless the sink dies or stops in a backoff.
                joined = asyncio.create_task(queue.join())
                await asyncio.wait({joined, sink}, return_when=asyncio.FIRST_COMPLETED)
                joined.cancel()
        finally:
            sink.cancel()
            with contextlib.suppress(asyncio.CancelledError, Stopping):
                await sink
        if sink.done() and not sink.cancelled() and sink.exception() is not None:
            exc = sink.exception()
            if not isinstance(exc, Stopping):
                raise exc  # type: ignore[misc]
            log.info("stopped during backoff; unsettled batches will be redelivered")

    async def _sink(self, queue: asyncio.Queue[_Prepared]) -> None:
        while True:
            prepared = await queue.get()
            try:
                await self.settle(prepared)
                await self.commit()
            finally:
                queue.task_done()

    async def drain(self) -> None:
        """Wait until every batch handed to the sink is settled (used before a rebalance commit)."""
        if self._queue is not None:
            await self._queue.join()

    async def commit(self) -> None:
        if self.consumer is None:
            return
        positions = self.tracker.committable()
        if not positions:
            return
        try:
            await self.consumer.commit(positions)
            self.tracker.mark_committed(positions)
            metrics.COMMITS.inc()
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took the partitions: their records are redelivered, 409s absorb them.
            log.warning("offset commit failed (%s); records will be redelivered", exc)

    def prepare_batch(self, batch: dict[Any, list[Any]]) -> _Prepared:
        """Track a polled batch, announce it to the crash guard, and prepare it — record by
        record from where a predecessor died, if the guard says one did."""
        records: list[Any] = []
        suspects: dict[Any, Marker] = {}
        for tp, recs in batch.items():
            for rec in recs:
                self.tracker.track(tp, rec.offset)
                records.append(rec)
            if recs:
                marker = self.guard.begin_batch(tp.topic, tp.partition, recs[0].offset, recs[-1].offset)
                if marker is not None:
                    suspects[tp] = marker
        metrics.CONSUMED.inc(len(records))
        if not suspects:
            return self.prepare(records)
        normal: list[Any] = []
        parts: list[_Prepared] = []
        for tp, recs in batch.items():
            marker = suspects.get(tp)
            if marker is None:
                normal.extend(recs)
                continue
            log.warning(
                "a worker died processing %s[%d] from offset %d; going record by record",
                tp.topic,
                tp.partition,
                marker.offset,
            )
            for rec in recs:
                if rec.offset < marker.offset:
                    normal.append(rec)
                    continue
                attempts = self.guard.begin_record(tp.topic, tp.partition, rec.offset, marker)
                if attempts > self.guard.max_attempts:
                    reason = f"the worker process died {attempts - 1} times processing this record"
                    log.error("dead-lettering %s[%d]@%d: %s", tp.topic, tp.partition, rec.offset, reason)
                    parts.append(_Prepared([rec], [], [self._letter(rec, "poison", reason, None)]))
                    continue
                parts.append(self.prepare([rec]))
        if normal:
            parts.insert(0, self.prepare(normal))
        return _Prepared(
            [r for p in parts for r in p.records],
            [i for p in parts for i in p.items],
            [x for p in parts for x in p.letters],
        )

    def prepare(self, records: list[Any]) -> _Prepared:
        """The CPU part of a batch: envelopes → events → rules chain → documents."""
        letters: list[DeadLetter] = []
        events: list[Event] = []
        for rec in records:
            try:
                env = Envelope.from_bytes(rec.value)
            except (ValueError, TypeError) as exc:
                letters.append(self._letter(rec, "envelope", str(exc), None))
                continue
            event = Event.from_envelope(env)
            event.origin = rec
            events.append(event)
        kept = self.process(events, letters)
        items = []
        for event in kept:
            env = event.envelope
            index = data_stream_name(safe_tenant(env.tenant), event.retention_class or "standard")
            if len(env.id.encode()) > MAX_ID_BYTES:
                letters.append(
                    self._letter(event.origin, "processing", f"event id longer than {MAX_ID_BYTES} bytes", env)
                )
                continue
            try:
                item = IndexItem(index=index, id=env.id, doc=to_document(event), ref=event)
                item.body()  # serialise here, in the CPU stage, and catch what cannot be
            except (TypeError, ValueError) as exc:
                letters.append(self._letter(event.origin, "processing", f"document: {exc}", env))
                continue
            items.append(item)
        return _Prepared(records, items, letters)

    async def handle(self, records: list[Any]) -> None:
        """Settle every record of a batch in one go (prepare + settle; used by tests and tools)."""
        await self.settle(self.prepare(records))

    async def settle(self, prepared: _Prepared) -> None:
        """Index, dead-letter, publish; then mark every record of the batch done."""
        items, letters = prepared.items, prepared.letters
        if items:
            await self.indexer.index(items)
        publish: list[IndexItem] = []
        created: Counter[str] = Counter()
        now = time.time()
        received_cache: dict[str, float | None] = {}
        duplicates = 0
        for item in items:
            event = item.ref
            if item.outcome is Outcome.CREATED:
                created[event.retention_class or "standard"] += 1
                received_at = event.envelope.received_at
                received = received_cache.get(received_at, -1.0)
                if received == -1.0:
                    received = received_cache[received_at] = _epoch(received_at)
                if received is not None:
                    metrics.E2E_LATENCY.observe(max(0.0, now - received))
                publish.append(item)
            elif item.outcome is Outcome.DUPLICATE:
                duplicates += 1
                publish.append(item)  # at-least-once: the first publish may have died with us
            else:
                env = event.envelope
                letters.append(self._letter(event.origin, "indexing", item.reason or "unknown", env))
        for cls, n in created.items():
            metrics.INDEXED.labels(cls).inc(n)
        if duplicates:
            metrics.DUPLICATES.inc(duplicates)

        assert self.dlq is not None and self.producer is not None
        await self.dlq.send(letters)
        if self.settings.publish_processed and publish:
            # The stored JSON plus the data stream it went to (the UI's live tail reads it).
            messages = (
                (
                    item.ref.envelope.source.encode(),
                    item.doc_bytes()[:-1] + b',"data_stream":{"name":' + orjson.dumps(item.index) + b"}}",
                )
                for item in publish
            )
            metrics.PUBLISHED.inc(await self.publisher.publish(self.kafka.processed_topic, messages))
        done = self.tracker.done
        for rec in prepared.records:
            done(TopicPartition(rec.topic, rec.partition), rec.offset)
        self.watermark.settled(prepared.records)

    def process(self, events: list[Event], letters: list[DeadLetter]) -> list[Event]:
        """Run the chain; events whose steps raise are retried alone, then dead-lettered."""
        result = self.rules.current().run(events)
        kept = result.kept
        for event, exc in result.failed:
            attempt, error = 1, exc
            while attempt < self.settings.max_record_attempts:
                attempt += 1
                metrics.POISON_RETRIES.inc()
                retry = Event.from_envelope(event.envelope)
                retry.origin = event.origin
                again = self.rules.current().run([retry])
                if not again.failed:
                    kept.extend(again.kept)
                    break
                error = again.failed[0][1]
            else:
                log.error("record %s failed processing %d times: %r", event.envelope.id, attempt, error)
                letters.append(
                    self._letter(event.origin, "processing", f"{type(error).__name__}: {error}", event.envelope)
                )
        return kept

    def _letter(self, rec: Any, kind: str, reason: str, env: Envelope | None) -> DeadLetter:
        return DeadLetter(
            reason_kind=kind,
            reason=reason,
            original=rec.value or b"",
            event_id=env.id if env else None,
            tenant=env.tenant if env else self.default_tenant,
            source=env.source if env else (rec.key or b"unknown").decode("utf-8", "replace"),
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
        )


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "group"


def _epoch(value: str) -> float | None:
    try:
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


async def run_pipeline(
    settings: PipelineSettings,
    stop_event: asyncio.Event,
    *,
    kafka: KafkaSettings | None = None,
    opensearch: OpenSearchSettings | None = None,
    serve_http: bool = True,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run one pipeline process until ``stop_event`` is set (``logharbor run`` embeds this).

    With ``serve_http`` the /health, /ready, /metrics endpoint listens on ``http_port``.
    """
    worker = PipelineWorker(settings, stop_event, kafka, opensearch)
    runner = None
    if serve_http:
        runner = await start_server(settings.http_host, settings.http_port, worker.ready_state)
    try:
        await worker.start()
        if on_ready is not None:
            on_ready()
        loop_task = asyncio.create_task(worker.run())
        stop_task = asyncio.create_task(stop_event.wait())
        done, _ = await asyncio.wait({loop_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
        if loop_task in done:
            stop_task.cancel()
            loop_task.result()  # re-raise a crash
        else:
            # Let the batch in flight finish (it settles and commits) unless it is stuck in backoff.
            try:
                await asyncio.wait_for(loop_task, timeout=30)
            except TimeoutError:
                log.warning("batch still in flight after 30 s at shutdown; it will be redelivered")
    finally:
        await worker.close()
        if runner is not None:
            await runner.cleanup()


__all__ = ["PipelineWorker", "run_pipeline"]
