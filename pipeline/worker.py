"""One pipeline process: consume → prepare (pure, :mod:`pipeline.prepare`) → bulk index → DLQ → publish → commit.

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
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from logharbor.config import KafkaSettings, OpenSearchSettings, StorageSettings, default_data_dir
from logharbor.consumer_group import pipeline_consumer_group
from logharbor.topics import ensure_topics, logharbor_topics
from opensearch.client import async_client
from pipeline import metrics
from pipeline.crashguard import CrashGuard, Marker
from pipeline.dlq import DeadLetterSink
from pipeline.indexer import BulkIndexer, OrjsonSerializer, Stopping
from pipeline.offsets import OffsetTracker
from pipeline.prepare import Prepared, dead_letter, prepare_records, processed_messages, settle_outcomes
from pipeline.publish import BatchPublisher
from pipeline.rules import RulesWatcher
from pipeline.server import start_server
from pipeline.settings import PipelineSettings
from pipeline.watermark import WatermarkReporter

log = logging.getLogger(__name__)


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
        self.group = pipeline_consumer_group(self.kafka, settings.consumer_group)
        self.default_tenant = StorageSettings().default_tenant
        self.rules = RulesWatcher(settings)
        self.tracker = OffsetTracker()
        state_dir = settings.state_dir or default_data_dir() / "pipeline-state"
        self.guard = CrashGuard(
            state_dir / _safe_name(self.group) if settings.crash_guard else None, settings.max_record_attempts
        )
        self._queue: asyncio.Queue[Prepared] | None = None
        self.ready = False
        self.paused = False
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.client = async_client(self.os_settings, serializer=OrjsonSerializer())
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
        self.aggregates = stream_aggregates(settings, self.client)

    # -- lifecycle ---------------------------------------------------------------------------

    async def ensure_topics(self) -> None:
        """Create missing topics (raw, processed, DLQ) with the configured partition counts.

        Brokers often run with auto-creation off; creating here (idempotently, racing workers
        tolerated) means a fresh cluster works without a separate setup step.
        """
        wanted = logharbor_topics(self.kafka)
        wanted[self.topic] = wanted.pop(self.kafka.raw_topic)  # the topic this worker reads (tests set their own)
        await ensure_topics(self.kafka.bootstrap, wanted, client_id="logharbor-pipeline")

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
            linger_ms=5,  # the batch's own publish is on the way to its commit
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
        queue: asyncio.Queue[Prepared] = asyncio.Queue(maxsize=self.settings.inflight_batches)
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

    async def _sink(self, queue: asyncio.Queue[Prepared]) -> None:
        """Bulk-index up to ``sink_concurrency`` batches at once; finish them strictly in order.

        One bulk at a time left OpenSearch idle while the previous batch was published to Kafka
        and committed, and each batch waited for the whole settle of the one before it (at
        5,000 events/s: bulks of ~80 ms in a ~130 ms cycle). Only the bulk request overlaps: the
        rest of a batch (outcomes, DLQ, publish, aggregates, marking records done, the watermark
        the alert evaluator reads, the commit) runs in queue order, so per-source order on the
        processed topic and "a batch is settled before its offsets are committed" still hold.
        """
        bulks = asyncio.Semaphore(self.settings.sink_concurrency)  # batches between bulk start and finish
        started: asyncio.Queue[tuple[Prepared, asyncio.Task[None]]] = asyncio.Queue()
        running: set[asyncio.Task[None]] = set()

        async def bulk(prepared: Prepared) -> None:
            if prepared.items:
                await self.indexer.index(prepared.items)

        async def start() -> None:
            while True:
                prepared = await queue.get()
                await bulks.acquire()
                task = asyncio.create_task(bulk(prepared), name="pipeline-bulk")
                running.add(task)
                task.add_done_callback(running.discard)
                started.put_nowait((prepared, task))

        async def finish() -> None:
            while True:
                prepared, task = await started.get()
                try:
                    await task
                    await self.finish(prepared)
                    await self.commit()
                finally:
                    bulks.release()  # a batch counts until it is finished: the slots bound memory and commit lag
                    queue.task_done()

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(start(), name="pipeline-sink-start")
                group.create_task(finish(), name="pipeline-sink-finish")
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        finally:
            for task in running:
                task.cancel()

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

    def prepare_batch(self, batch: dict[Any, list[Any]]) -> Prepared:
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
        parts: list[Prepared] = []
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
                    parts.append(Prepared([rec], [], [dead_letter(rec, "poison", reason, None, self.default_tenant)]))
                    continue
                parts.append(self.prepare([rec]))
        if normal:
            parts.insert(0, self.prepare(normal))
        return Prepared.join(parts)

    def prepare(self, records: list[Any]) -> Prepared:
        """The CPU part of a batch (:func:`pipeline.prepare.prepare_records` with this worker's rules)."""
        return prepare_records(records, self.rules.current, self.settings.max_record_attempts, self.default_tenant)

    async def handle(self, records: list[Any]) -> None:
        """Settle every record of a batch in one go (prepare + settle; used by tests and tools)."""
        await self.settle(self.prepare(records))

    async def settle(self, prepared: Prepared) -> None:
        """Index, dead-letter, publish; then mark every record of the batch done."""
        if prepared.items:
            await self.indexer.index(prepared.items)
        await self.finish(prepared)

    async def finish(self, prepared: Prepared) -> None:
        """Everything after the bulk: count outcomes, dead-letter, publish, mark the records done."""
        settled = settle_outcomes(prepared, time.time(), self.default_tenant)
        for seconds in settled.latencies:
            metrics.E2E_LATENCY.observe(seconds)
        for cls, n in settled.created.items():
            metrics.INDEXED.labels(cls).inc(n)
        if settled.duplicates:
            metrics.DUPLICATES.inc(settled.duplicates)

        assert self.dlq is not None and self.producer is not None
        await self.dlq.send(settled.letters)
        if self.settings.publish_processed and settled.publish:
            published = await self.publisher.publish(self.kafka.processed_topic, processed_messages(settled.publish))
            metrics.PUBLISHED.inc(published)
        if self.aggregates is not None:  # before the records are done: see pipeline/streamagg/rollup.py
            await self.aggregates.write(prepared)
        done = self.tracker.done
        for rec in prepared.records:
            done(TopicPartition(rec.topic, rec.partition), rec.offset)
        self.watermark.settled(prepared.records)


def stream_aggregates(settings: PipelineSettings, client: Any) -> Any:
    """The rollup-partial writer when ``pipeline.stream_aggregates`` is on, else None."""
    if not settings.stream_aggregates:
        return None
    from pipeline.streamagg.rollup import AggregationRules
    from pipeline.streamagg.sink import StreamAggregates

    path = settings.aggregation_rules_path
    return StreamAggregates(client, AggregationRules.from_yaml(path) if path else AggregationRules())


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "group"


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
