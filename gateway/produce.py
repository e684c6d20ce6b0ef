"""Kafka producing for the gateway: 202 only after Kafka acknowledged every accepted record.

The producer is idempotent with ``acks="all"`` (docs/ARCHITECTURE.md §3). A request's records are
appended to the open Kafka batch of their partition, shared with concurrent requests (``_Lane``),
and the request waits for the acknowledgement of each batch holding its records, so one request
costs one round of broker requests, not one per event. If Kafka is unreachable at
start the gateway still starts (answering 503) and keeps reconnecting in the background.

Backpressure (the pipeline group's lag) lives in :mod:`gateway.lag`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings
from logharbor.config import KafkaSettings
from logharbor.envelope import Envelope
from logharbor.tasks import stop_task
from logharbor.topics import ensure_topics

log = logging.getLogger(__name__)


_RECREATE_AFTER_FAILURES = 3
# Errors after which an idempotent producer's sequence numbers no longer match the broker's:
# every later send would fail too, so the producer is replaced at once, not after three.
_SEQUENCE_BREAKING = (
    OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch, InvalidProducerIdMapping, ProducerFenced,
    MessageSizeTooLargeError,
)


def _consume(fut: asyncio.Future[object]) -> None:
    if not fut.cancelled():
        fut.exception()


class KafkaUnavailable(Exception):
    """Kafka did not acknowledge in time or cannot be reached: answer 503, never 202.

    ``written`` is how many records of the batch Kafka did acknowledge before the failure.
    """

    def __init__(self, message: str, written: int = 0) -> None:
        super().__init__(message)
        self.written = written


class RecordError(Exception):
    """A record of the batch cannot be produced because of its content: a client error (400)."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position


def _record_size(key: bytes, value: bytes) -> int:
    return int(DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, []))


class _SealedOnDrain(BatchBuilder):
    """A ``BatchBuilder`` that takes no more records once aiokafka's sender has drained it.

    The sender fixes a batch's record count when it drains it (the idempotent producer's
    sequence numbers are assigned then, through ``_set_producer_state``) but encodes it only in
    the produce task it starts afterwards; a record appended in between would be sent beyond
    the sequence range and the broker answers OutOfOrderSequenceNumber. ``send()`` never meets
    this because a drained batch leaves the accumulator; a builder we keep a handle on must
    close itself. ``tests/unit/gateway/test_produce.py`` checks the hook against aiokafka's own
    accumulator, so a version that renames it fails there, not in production.
    """

    def _set_producer_state(self, producer_id: int, producer_epoch: int, base_sequence: int) -> None:
        self.close()
        super()._set_producer_state(producer_id, producer_epoch, base_sequence)

    def append_from(self, key: bytes, payloads: Sequence[bytes], start: int) -> int:
        """Append ``payloads[start:]`` until the batch is full or closed; the index of the first left out.

        ``BatchBuilder.append`` per record, minus its Python layers (keyword arguments, the
        serializer hooks this producer does not set, a check per call): the C record builder's
        ``append`` called in one loop, which then closes a full batch as ``append`` would.
        """
        if self._closed:
            return start
        add = self._builder.append
        offset = self._relative_offset
        i, n = start, len(payloads)
        while i < n:
            if add(offset, None, key=key, value=payloads[i], headers=_NO_HEADERS) is None:
                self.close()
                break
            offset += 1
            i += 1
        self._relative_offset = offset
        return i


_NO_HEADERS: list[Any] = []  # what BatchBuilder.append passes for no headers; never mutated


class _Batch:
    """One aiokafka batch (``BatchBuilder``) that requests append to, and its delivery."""

    __slots__ = ("builder", "delivered")

    def __init__(self, builder: Any, delivered: asyncio.Future[Any]) -> None:
        self.builder = builder
        self.delivered = delivered


class _Lane:
    """The open batch of one partition, shared by every request that produces to it.

    Why not ``producer.send()`` per record: each call is a coroutine, a metadata lookup that
    copies the partition set, a future and, on the ack, a ``RecordMetadata`` and a callback per
    record — 17 % of the gateway's CPU in a profile of the saturated bench. Here a request appends its
    records to the partition's open ``BatchBuilder`` (the same C record builder ``send()``
    fills) and awaits one future per batch. Concurrent requests join the open batch until
    aiokafka's sender drains it, exactly as they joined the accumulator's batch before: a
    batch is submitted with ``send_batch`` as soon as it is opened and stays open until the
    sender drains it (:class:`_SealedOnDrain`), so under load one Kafka request still carries
    many HTTP requests and an idle gateway adds no wait. Sequence numbers of the idempotent
    producer are assigned at the drain, as for ``send()``.
    """

    def __init__(self, producer: AIOKafkaProducer, topic: str, partition: int) -> None:
        self.producer = producer
        self.topic = topic
        self.partition = partition
        self.open: _Batch | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def append_all(self, key: bytes, payloads: Sequence[bytes], parts: list[list[Any]]) -> None:
        """Add every record, in order, to the open batch and new ones when it is full or drained;
        ``parts`` gets [batch, how many of these records it holds] per batch used, in order."""
        batch = self.open
        i, n = 0, len(payloads)
        while i < n:
            fresh = batch is None
            if batch is None:
                batch = self._start()
            j = batch.builder.append_from(key, payloads, i)
            if j > i:
                parts.append([batch, j - i])
                i = j
            elif fresh:  # pragma: no cover - send_all refused records larger than a batch
                raise MessageSizeTooLargeError("record does not fit an empty batch")
            batch = None

    def _start(self) -> _Batch:
        loop = asyncio.get_running_loop()
        builder = self.producer.create_batch()
        builder.__class__ = _SealedOnDrain  # the accumulator's own settings, closing at drain
        batch = _Batch(builder, loop.create_future())
        batch.delivered.add_done_callback(_consume)
        self.open = batch
        task = loop.create_task(self._submit(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return batch

    async def _submit(self, batch: _Batch) -> None:
        try:
            sent = await self.producer.send_batch(batch.builder, self.topic, partition=self.partition)
        except BaseException as exc:
            batch.builder.close()  # nothing more may join a batch that will never be sent
            if self.open is batch:
                self.open = None
            if not batch.delivered.done():
                batch.delivered.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        sent.add_done_callback(lambda fut: _settle(fut, batch.delivered))


def _settle(source: asyncio.Future[Any], target: asyncio.Future[Any]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.set_exception(KafkaTimeoutError("the batch was cancelled before Kafka acknowledged it"))
    elif source.exception() is not None:
        target.set_exception(source.exception())  # type: ignore[arg-type]
    else:
        target.set_result(None)


class EventProducer:
    """Owns one AIOKafkaProducer; ``send_all`` returns only when every record is acked."""

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: GatewaySettings,
        metrics: GatewayMetrics | None = None,
        topic: str | None = None,
    ) -> None:
        self.kafka = kafka
        self.settings = settings
        self.metrics = metrics
        self.topic = topic or kafka.raw_topic
        self._producer: AIOKafkaProducer | None = None
        self._connect_task: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        self._stopping = False
        self._partitioner = DefaultPartitioner()
        self._failures = 0
        self._retired: list[AIOKafkaProducer] = []
        self._lanes: dict[int, _Lane] = {}
        self._partition_memo: dict[tuple[bytes, tuple[int, ...], tuple[int, ...]], int] = {}
        self._max_record = max(settings.kafka_max_batch_bytes, 2 * settings.max_entry_bytes)

    def _make(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.kafka.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=self.settings.kafka_linger_ms,
            max_batch_size=self.settings.kafka_max_batch_bytes,
            max_request_size=self._max_record,
            compression_type=self.settings.kafka_compression,
            request_timeout_ms=int(self.settings.produce_timeout_s * 1000),
            client_id="logharbor-gateway",
        )

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def _ensure_topic(self) -> None:
        """Create the raw topic if missing: brokers often run with auto-creation off, and a fresh
        single node should work whether the gateway or the pipeline starts first."""
        wanted = {self.topic: self.kafka.raw_partitions}
        await ensure_topics(self.kafka.bootstrap, wanted, client_id="logharbor-gateway")

    async def _connect_once(self) -> bool:
        try:
            await asyncio.wait_for(self._ensure_topic(), self.settings.produce_timeout_s)
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        producer = self._make()
        try:
            await producer.start()
            await asyncio.wait_for(producer.partitions_for(self.topic), self.settings.produce_timeout_s)
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                await producer.stop()
            return False
        self._producer = producer
        self.last_error = None
        if self.metrics:
            self.metrics.kafka_up.set(1)
        return True

    async def _connect_loop(self) -> None:
        delay = 0.5
        while not self._stopping and not await self._connect_once():
            log.warning(
                "kafka: cannot connect to %s (%s); retrying in %.1fs",
                self.kafka.bootstrap,
                self.last_error,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def start(self) -> None:
        """Connect now if possible, else keep trying in the background."""
        if self.metrics:
            self.metrics.kafka_up.set(0)
        if not await self._connect_once():
            log.warning(
                "kafka: %s unreachable at start (%s); will keep retrying",
                self.kafka.bootstrap,
                self.last_error,
            )
            self._connect_task = asyncio.create_task(self._connect_loop(), name="kafka-connect")

    async def send_all(self, envelopes: Sequence[Envelope], key: bytes) -> None:
        """Produce every envelope and wait for all acks.

        Raises :class:`RecordError` (a client error: nothing was produced, the producer is
        untouched) when a record cannot be serialised, and :class:`KafkaUnavailable` (with
        ``written``: how many records Kafka acknowledged) when the broker did not take them.
        Only the second counts towards recreating the producer.
        """
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable(f"Kafka at {self.kafka.bootstrap} is not reachable ({self.last_error})")
        payloads = []
        too_large = None
        limit = self._max_record - len(key) - 128  # a record's own overhead is < 128 bytes
        for i, env in enumerate(envelopes):  # serialise all first: a bad record must not half-send a batch
            try:
                payload = env.to_bytes()
            except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
                raise RecordError(i, f"entry: cannot be serialised ({exc})") from exc
            if len(payload) > limit and too_large is None and _record_size(key, payload) > self._max_record:
                too_large = i
            payloads.append(payload)
        if too_large is not None:  # what aiokafka's send() refused with; now before anything is appended
            size = _record_size(key, payloads[too_large])
            exc = MessageSizeTooLargeError(
                f"record {too_large} is {size} bytes when serialized, larger than max_request_size {self._max_record}"
            )
            raise self._failure(producer, exc, 0)
        started = time.perf_counter()
        parts: list[list[Any]] = []  # [Kafka batch, how many of this request's records it holds], in order
        try:
            async with asyncio.timeout(self.settings.produce_timeout_s):
                # Every record of a request has the same key (the source), so hash it once: the
                # partitioner is the same one aiokafka would use, and murmur2 in pure Python was
                # a quarter of the per-event cost.
                partition = await self._partition(producer, key)
                self._lane(producer, partition).append_all(key, payloads, parts)
                for b, _ in parts:  # shielded: the future is shared by every request in that batch
                    await asyncio.shield(b.delivered)
        except (KafkaError, TimeoutError, OSError) as exc:
            written = sum(n for b, n in parts if b.delivered.done() and not b.delivered.cancelled()
                          and b.delivered.exception() is None)
            raise self._failure(producer, exc, written) from exc
        self._failures = 0
        if self.metrics:
            self.metrics.produce_latency.observe(time.perf_counter() - started)
            self.metrics.kafka_up.set(1)

    def _failure(self, producer: AIOKafkaProducer, exc: BaseException, written: int) -> KafkaUnavailable:
        """Count a broker failure (recreating a producer that keeps failing); the 503 to raise."""
        if self.metrics:
            self.metrics.produce_errors.inc()
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._failures += 1
        broken = isinstance(exc, _SEQUENCE_BREAKING) and written > 0
        if (broken or self._failures >= _RECREATE_AFTER_FAILURES) and self._producer is producer:
            self._recreate(producer)
        return KafkaUnavailable(f"Kafka did not acknowledge the batch ({self.last_error})", written=written)

    def _lane(self, producer: AIOKafkaProducer, partition: int) -> _Lane:
        lane = self._lanes.get(partition)
        if lane is None or lane.producer is not producer:
            lane = self._lanes[partition] = _Lane(producer, self.topic, partition)
        return lane

    def _recreate(self, old: AIOKafkaProducer) -> None:
        """Replace a producer that keeps failing: an idempotent producer can end up in a state
        (fatal sequence or producer-id errors) it never leaves, and aiokafka's own reconnects
        do not cover that. Requests get 503 until the new one is connected."""
        log.warning(
            "kafka: %d produce failures in a row (%s); recreating the producer", self._failures, self.last_error
        )
        self._producer = None
        self._failures = 0
        if self.metrics:
            self.metrics.kafka_up.set(0)

        self._retired.append(old)

        async def replace() -> None:
            await self._stop_retired()
            await self._connect_loop()

        self._connect_task = asyncio.create_task(replace(), name="kafka-reconnect")

    async def _stop_retired(self) -> None:
        while self._retired:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._retired.pop().stop(), 5)

    async def _partition(self, producer: AIOKafkaProducer, key: bytes) -> int:
        partitions = tuple(sorted(await producer.partitions_for(self.topic)))
        available = tuple(sorted(producer.client.cluster.available_partitions_for_topic(self.topic))) or partitions
        # the partitioner's answer for a key and these partition lists (murmur2 in pure Python, per request)
        memo = (key, partitions, available)
        partition = self._partition_memo.get(memo)
        if partition is None:
            if len(self._partition_memo) >= 10_000:
                self._partition_memo.clear()
            partition = self._partition_memo[memo] = int(self._partitioner(key, list(partitions), list(available)))
        return partition

    async def check(self, timeout_s: float = 2.0) -> bool:
        """Kafka reachable: a metadata round trip succeeds (for /ready)."""
        producer = self._producer
        if producer is None:
            return False
        try:
            ok = await asyncio.wait_for(producer.client.force_metadata_update(), timeout_s)
        except Exception:
            ok = False
        if self.metrics:
            self.metrics.kafka_up.set(1 if ok else 0)
        return bool(ok)

    async def stop(self) -> None:
        """Flush what is queued and close; called after in-flight requests finished."""
        self._stopping = True
        await stop_task(self._connect_task)
        await self._stop_retired()
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.flush(), self.settings.shutdown_timeout_s)
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None
