"""Live tail: ONE Kafka consumer per ui process fans ``logharbor.processed`` out to subscribers.

Why one consumer: every subscriber wants the same newest records; a consumer per browser tab
would multiply broker load and connections. The consumer has no group (nothing to commit,
every ui process sees every record) and starts at the latest offsets.

Each subscriber has a tenant (from its key), a parsed query (the same grammar as search,
evaluated in memory by ``opensearch.query.matches``) and a bounded buffer holding the newest
``tail_buffer`` events. A slow or paused client never slows the consumer: the oldest buffered
events are discarded and counted, and the client is told ``{"type": "dropped", "count": n}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from logharbor import ecs
from logharbor.config import KafkaSettings
from logharbor.tasks import stop_task
from opensearch.search import get_path
from ui.results import doc_result

log = logging.getLogger(__name__)


def tenant_of(doc: dict[str, Any]) -> str | None:
    """The tenant a processed document belongs to.

    The data stream it was stored in (``data_stream.name``, set by the pipeline when it
    publishes) decides, because that is whose searches can see it; ``labels.tenant`` is the
    fallback for documents without it.
    """
    stream = get_path(doc, "data_stream.name")
    if isinstance(stream, str) and stream.startswith("logs-") and stream.count("-") >= 2:
        return stream[5:].rsplit("-", 1)[0]
    tenant = get_path(doc, ecs.TENANT)
    return tenant if isinstance(tenant, str) else None


def tail_result(doc: dict[str, Any]) -> dict[str, Any]:
    """The same shape as a search result (one shaper, ``ui.results``), so a client renders both
    with one code path."""
    return doc_result(doc)


Matcher = Callable[[dict[str, Any]], bool]


def build_matcher(query: Any | None, levels: list[str], sources: list[str]) -> Matcher:
    """In-memory twin of the search filters: the parsed query plus level and source lists."""
    level_set, source_set = set(levels), set(sources)
    match_query: Callable[[Any, dict[str, Any]], bool] | None = None
    if query is not None:
        from opensearch.query import matches

        match_query = matches

    def match(doc: dict[str, Any]) -> bool:
        if level_set and get_path(doc, ecs.LEVEL) not in level_set:
            return False
        if source_set and get_path(doc, ecs.SERVICE) not in source_set:
            return False
        if match_query is None:
            return True
        try:
            return bool(match_query(query, doc))
        except Exception:  # a document the matcher cannot judge is simply not a match
            return False

    return match


class Subscriber:
    """One live-tail client: its filter and a bounded buffer of events not yet sent."""

    def __init__(self, tenant: str, match: Matcher, buffer_size: int) -> None:
        self.tenant = tenant
        self.match = match
        self.buffer: deque[dict[str, Any]] = deque(maxlen=buffer_size)
        self.dropped = 0
        self.paused = False
        self.wakeup = asyncio.Event()
        self.key_id: str | None = None

    def offer(self, doc: dict[str, Any]) -> None:
        """Called by the consumer loop; never blocks, discards the oldest when full."""
        if len(self.buffer) == self.buffer.maxlen:
            self.dropped += 1
        self.buffer.append(doc)
        if not self.paused:
            self.wakeup.set()

    def take(self) -> tuple[int, list[dict[str, Any]]]:
        """(dropped since last take, buffered events) and reset both."""
        dropped, self.dropped = self.dropped, 0
        items = list(self.buffer)
        self.buffer.clear()
        return dropped, items

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.wakeup.set()


async def pump(sub: Subscriber, send: Callable[[dict[str, Any]], Awaitable[None]],
               heartbeat_s: float, closed: asyncio.Event) -> None:
    """Move events from the buffer to the client; a heartbeat every ``heartbeat_s`` seconds.

    ``send`` awaits the transport, so while a slow client is being written to, the consumer
    keeps filling (and if need be overflowing) the buffer rather than waiting.
    """
    next_beat = time.monotonic() + heartbeat_s
    while not closed.is_set():
        timeout = max(0.0, next_beat - time.monotonic())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sub.wakeup.wait(), timeout)
        if time.monotonic() >= next_beat:
            await send({"type": "heartbeat"})
            next_beat = time.monotonic() + heartbeat_s
        if not sub.wakeup.is_set():
            continue
        sub.wakeup.clear()
        if sub.paused:
            continue
        dropped, items = sub.take()
        if dropped:
            await send({"type": "dropped", "count": dropped})
        for item in items:
            await send({"type": "log", "data": tail_result(item)})


class TailLimitError(RuntimeError):
    """One key holds as many live-tail streams as ``ui.max_streams_per_key`` allows (HTTP 429)."""


class TailHub:
    """Owns the shared consumer (started on the first subscriber) and the subscriber sets.

    The process-wide ``max_subscribers`` pool is shared by every tenant, so each key may hold
    at most ``max_per_key`` of it (issue 16): one key cannot take the live tail from the others.
    Counters are kept per tenant too, so ``/api/v1/metrics`` shows a tenant only its own figures.
    """

    def __init__(self, kafka: KafkaSettings, buffer_size: int = 1000, max_subscribers: int = 500,
                 max_per_key: int = 5) -> None:
        self.kafka = kafka
        self.buffer_size = buffer_size
        self.max_subscribers = max_subscribers
        self.max_per_key = max_per_key
        self._per_key: dict[str, int] = {}
        self._tenant_records: dict[str, int] = {}
        self._tenant_delivered: dict[str, int] = {}
        self._subs: dict[str, set[Subscriber]] = {}
        self._consumer: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.records = 0
        self.delivered = 0

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

    def tenant_stats(self, tenant: str) -> dict[str, int]:
        """The live-tail figures of one tenant (what a tenant's key may see)."""
        return {"subscribers": len(self._subs.get(tenant, ())),
                "records_seen": self._tenant_records.get(tenant, 0),
                "events_delivered": self._tenant_delivered.get(tenant, 0)}

    def cluster_stats(self) -> dict[str, int]:
        """Figures over every tenant of this process (operator scope only)."""
        return {"subscribers": self.subscriber_count, "records_seen": self.records,
                "events_delivered": self.delivered, "max_subscribers": self.max_subscribers,
                "tenants_streaming": len(self._subs)}

    async def _start(self) -> None:
        from aiokafka import AIOKafkaConsumer

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            client_id="logharbor-ui-tail",
        )
        await consumer.start()
        try:
            # No group: the consumer is assigned every partition of the topic. Wait for that and
            # resolve "latest" now, so a subscriber told it is ready misses nothing after.
            consumer.subscribe([self.kafka.processed_topic])
            deadline = time.monotonic() + 10
            while not consumer.assignment() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            for tp in consumer.assignment():
                await consumer.position(tp)
            # No assignment yet means the topic does not exist (ui started before the
            # pipeline): the subscription follows it once it is created.
        except BaseException:
            await consumer.stop()
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name="live-tail-consumer")

    async def _run(self) -> None:
        consumer = self._consumer
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live tail: Kafka read failed; retrying")
                await asyncio.sleep(1.0)
                continue
            for records in batches.values():
                for record in records:
                    self.records += 1
                    self.dispatch(record.value)

    def dispatch(self, value: bytes | None) -> None:
        """Parse one processed record and offer it to the subscribers of its tenant that match."""
        if not value or not self._subs:
            return
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            return
        if not isinstance(doc, dict):
            return
        tenant = tenant_of(doc) or ""
        subs = self._subs.get(tenant)
        if not subs:
            return
        # Counted only for tenants with subscribers: the dicts stay about as small as the audience.
        if len(self._tenant_records) > 10_000:
            self._tenant_records.clear()
            self._tenant_delivered.clear()
        self._tenant_records[tenant] = self._tenant_records.get(tenant, 0) + 1
        for sub in subs:
            if sub.match(doc):
                sub.offer(doc)
                self.delivered += 1
                self._tenant_delivered[tenant] = self._tenant_delivered.get(tenant, 0) + 1

    async def subscribe(self, tenant: str, match: Matcher, key_id: str | None = None,
                        factory: Callable[..., Subscriber] = Subscriber) -> Subscriber:
        """Register a subscriber (``factory(tenant, match, buffer_size)``: the live overview's
        counter is one); returns once the consumer is positioned (events after this are seen)."""
        if key_id is not None and self._per_key.get(key_id, 0) >= self.max_per_key:
            raise TailLimitError(f"key {key_id} already holds {self.max_per_key} live-tail streams "
                                 f"(limit ui.max_streams_per_key={self.max_per_key}); close one first")
        if self.subscriber_count >= self.max_subscribers:
            raise RuntimeError(f"too many live-tail subscribers (limit {self.max_subscribers})")
        if key_id is not None:  # reserved before the await, so concurrent upgrades count too
            self._per_key[key_id] = self._per_key.get(key_id, 0) + 1
        try:
            async with self._lock:
                if self._consumer is None:
                    await self._start()
        except BaseException:
            self._release_key(key_id)
            raise
        sub = factory(tenant, match, self.buffer_size)
        sub.key_id = key_id
        self._subs.setdefault(tenant, set()).add(sub)
        return sub

    def _release_key(self, key_id: str | None) -> None:
        if key_id is None:
            return
        left = self._per_key.get(key_id, 0) - 1
        if left > 0:
            self._per_key[key_id] = left
        else:
            self._per_key.pop(key_id, None)

    def unsubscribe(self, sub: Subscriber) -> None:
        if sub.key_id is not None and sub in self._subs.get(sub.tenant, ()):
            self._release_key(sub.key_id)
        subs = self._subs.get(sub.tenant)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.tenant]

    async def close(self) -> None:
        await stop_task(self._task)
        self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
