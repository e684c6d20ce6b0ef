"""Kafka producing for the gateway: 202 only after Kafka acknowledged every accepted record.

The producer is idempotent with ``acks="all"`` (docs/ARCHITECTURE.md §3). A batch is sent record by record
into aiokafka's accumulator and then all delivery futures are awaited together, so one
request costs one round of broker requests, not one per event. If Kafka is unreachable at
start the gateway still starts (answering 503) and keeps reconnecting in the background.

Backpressure (the pipeline group's lag) lives in :mod:`gateway.lag`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    KafkaError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.partitioner import DefaultPartitioner

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

    def _make(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.kafka.bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=self.settings.kafka_linger_ms,
            max_batch_size=self.settings.kafka_max_batch_bytes,
            max_request_size=max(self.settings.kafka_max_batch_bytes, 2 * self.settings.max_entry_bytes),
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
        for i, env in enumerate(envelopes):  # serialise all first: a bad record must not half-send a batch
            try:
                payloads.append(env.to_bytes())
            except (TypeError, ValueError) as exc:  # orjson.JSONEncodeError is a TypeError
                raise RecordError(i, f"entry: cannot be serialised ({exc})") from exc
        started = time.perf_counter()
        futures: list[asyncio.Future[object]] = []
        try:
            async with asyncio.timeout(self.settings.produce_timeout_s):
                # Every record of a request has the same key (the source), so hash it once: the
                # partitioner is the same one aiokafka would use, and murmur2 in pure Python was
                # a quarter of the per-event cost.
                partition = await self._partition(producer, key)
                topic = self.topic
                for payload in payloads:
                    futures.append(await producer.send(topic, payload, key=key, partition=partition))
                # Awaiting in order instead of gather(): records of one broker batch resolve
                # together, so most awaits find their future done and cost nothing, whereas
                # gather() schedules a callback per record (a tenth of the CPU per event).
                try:
                    for fut in futures:
                        await fut
                except BaseException:
                    for fut in futures:  # retrieve the rest so asyncio does not log them
                        fut.add_done_callback(_consume)
                    raise
        except (KafkaError, TimeoutError, OSError) as exc:
            written = sum(1 for f in futures if f.done() and not f.cancelled() and f.exception() is None)
            if self.metrics:
                self.metrics.produce_errors.inc()
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._failures += 1
            broken = isinstance(exc, _SEQUENCE_BREAKING) and written > 0
            if (broken or self._failures >= _RECREATE_AFTER_FAILURES) and self._producer is producer:
                self._recreate(producer)
            raise KafkaUnavailable(
                f"Kafka did not acknowledge the batch ({self.last_error})", written=written
            ) from exc
        self._failures = 0
        if self.metrics:
            self.metrics.produce_latency.observe(time.perf_counter() - started)
            self.metrics.kafka_up.set(1)

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
        partitions = sorted(await producer.partitions_for(self.topic))
        available = sorted(producer.client.cluster.available_partitions_for_topic(self.topic)) or partitions
        return int(self._partitioner(key, partitions, available))

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
