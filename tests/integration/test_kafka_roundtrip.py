"""A real aiokafka produce/consume round trip on the raw topic the devstack created."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from logharbor.config import KafkaSettings
from logharbor.envelope import Envelope
from logharbor.ids import new_ulid

pytestmark = pytest.mark.integration


async def test_produce_consume_roundtrip_on_raw_topic(kafka_bootstrap, unique_tenant):
    topic = KafkaSettings().raw_topic
    marker = uuid.uuid4().hex
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        assert topic in await consumer.topics()
        partitions = await producer.partitions_for(topic)
        assert partitions, f"topic {topic} does not exist: the devstack creates it on `up`"
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            consumer.seek(tp, ends[tp])
        sent = []
        for i in range(20):
            env = Envelope(id=new_ulid(), tenant=unique_tenant, source="roundtrip", received_at="2026-11-29T10:00:00Z",
                           message=f"{marker} {i}")
            await producer.send_and_wait(topic, env.to_bytes(), key=b"roundtrip")
            sent.append(env.id)
        got = []
        while len(got) < len(sent):
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, "no records arrived within 10 s"
            for records in batch.values():
                for rec in records:
                    env = Envelope.from_bytes(rec.value)
                    if env.message and env.message.startswith(marker):
                        got.append(env.id)
        assert got == sent  # one key → one partition → order kept
    finally:
        await producer.stop()
        await consumer.stop()
