"""The pipeline consumer group's total lag on the raw topic, read from outside the group.

The autoscaling supervisor needs the same number the gateway's backpressure check reads
(gateway/lag.py: end offsets minus the group's committed offsets); the pipeline does not import
the gateway (components import downward only), so this is the pipeline's own small reader. It
also reports the topic's partition count: more workers than partitions would only idle.
"""

from __future__ import annotations

import contextlib
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

log = logging.getLogger(__name__)


def total_lag(end: dict[TopicPartition, int], committed: dict[TopicPartition, int]) -> int:
    """Sum of (end offset − committed offset); a partition never committed counts from 0."""
    return sum(max(0, off - max(committed.get(tp, 0), 0)) for tp, off in end.items())


class GroupLagReader:
    """``await read()`` → (lag or None when unknown, partitions or None); reconnects on error."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.bootstrap, self.group, self.topic = bootstrap, group, topic
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._failing = False  # warn once per outage, not on every reading

    async def read(self) -> tuple[int | None, int | None]:
        try:
            if self._admin is None:
                admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="logharbor-autoscale")
                await admin.start()
                self._admin = admin
            if self._consumer is None:
                consumer = AIOKafkaConsumer(
                    bootstrap_servers=self.bootstrap, enable_auto_commit=False, client_id="logharbor-autoscale"
                )
                await consumer.start()
                self._consumer = consumer
            await self._consumer._client.force_metadata_update()
            parts = self._consumer.partitions_for_topic(self.topic) or set()
            if not parts:
                return None, None
            tps = [TopicPartition(self.topic, p) for p in parts]
            end = await self._consumer.end_offsets(tps)
            committed_raw = await self._admin.list_consumer_group_offsets(self.group)
            committed = {tp: meta.offset for tp, meta in committed_raw.items() if tp.topic == self.topic}
            if self._failing:
                log.warning("group lag readable again")
                self._failing = False
            return total_lag(end, committed), len(parts)
        except Exception as exc:  # Kafka away: unknown lag, the autoscaler holds still
            (log.debug if self._failing else log.warning)("group lag unreadable (held still): %s", exc)
            self._failing = True
            await self.close()
            return None, None

    async def close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close() if isinstance(client, AIOKafkaAdminClient) else await client.stop()
        self._admin = None
        self._consumer = None
