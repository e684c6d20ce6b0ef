"""Backpressure: the lag of the pipeline's consumer group on the raw topic.

When the group the pipeline actually consumes with (``logharbor.consumer_group.
pipeline_consumer_group``, the one answer the pipeline reads too) falls further behind than ``max_consumer_lag``,
new batches get 503 + Retry-After so shippers spool on their disks instead of growing Kafka
without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from gateway.metrics import GatewayMetrics
from gateway.settings import GatewaySettings
from logharbor.config import KafkaSettings
from logharbor.consumer_group import pipeline_consumer_group
from logharbor.tasks import stop_task

log = logging.getLogger(__name__)


def total_lag(end: dict[TopicPartition, int], committed: dict[TopicPartition, int]) -> int:
    """Sum of (end offset − committed offset); a partition never committed counts from 0."""
    return sum(max(0, off - max(committed.get(tp, 0), 0)) for tp, off in end.items())


class LagMonitor:
    """Polls the pipeline group's lag on the raw topic; ``over`` drives 503 backpressure.

    While the lag is unknown (group never committed, Kafka unreachable) it does not refuse:
    the Kafka-down case is caught by produce errors, and a pipeline that never ran would
    otherwise block first ingest forever.
    """

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
        self.group = pipeline_consumer_group(kafka)
        self.lag: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None

    @property
    def over(self) -> bool:
        bound = self.settings.max_consumer_lag
        return bool(bound) and self.lag is not None and self.lag > bound

    async def poll(self) -> int | None:
        try:
            if self._admin is None:
                admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka.bootstrap, client_id="logharbor-gw-lag")
                await admin.start()
                self._admin = admin
            if self._consumer is None:
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self.kafka.bootstrap,
                    enable_auto_commit=False,
                    client_id="logharbor-gw-lag",
                )
                await consumer.start()
                self._consumer = consumer
            committed_raw = await self._admin.list_consumer_group_offsets(self.group)
            committed = {tp: meta.offset for tp, meta in committed_raw.items() if tp.topic == self.topic}
            if not committed:
                self.lag = None
            else:
                parts = self._consumer.partitions_for_topic(self.topic)
                if not parts:
                    await self._consumer._client.force_metadata_update()
                    parts = self._consumer.partitions_for_topic(self.topic) or set()
                tps = [TopicPartition(self.topic, p) for p in parts]
                end = await self._consumer.end_offsets(tps) if tps else {}
                self.lag = total_lag(end, committed)
        except Exception as exc:
            log.debug("lag check failed: %s", exc)
            self.lag = None
            await self._close_clients()
        if self.metrics:
            self.metrics.consumer_lag.set(-1 if self.lag is None else self.lag)
        return self.lag

    async def run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(self.settings.lag_check_s)

    def start(self) -> None:
        if self.settings.max_consumer_lag and self._task is None:
            self._task = asyncio.create_task(self.run(), name="lag-monitor")

    async def _close_clients(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close() if isinstance(client, AIOKafkaAdminClient) else await client.stop()
        self._admin = None
        self._consumer = None

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        await self._close_clients()
