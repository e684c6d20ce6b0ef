"""Pure parts of produce.py: the lag arithmetic behind backpressure, and how records join Kafka batches."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError

from gateway.lag import LagMonitor, total_lag
from gateway.settings import GatewaySettings
from logharbor.config import KafkaSettings

T = "logharbor.raw"


def test_total_lag() -> None:
    end = {TopicPartition(T, 0): 100, TopicPartition(T, 1): 50, TopicPartition(T, 2): 10}
    committed = {TopicPartition(T, 0): 90, TopicPartition(T, 1): 50}
    assert total_lag(end, committed) == 10 + 0 + 10


def test_lag_monitor_over_bound() -> None:
    mon = LagMonitor(KafkaSettings(), GatewaySettings(max_consumer_lag=100))
    assert not mon.over  # unknown lag never refuses
    mon.lag = 100
    assert not mon.over
    mon.lag = 101
    assert mon.over
    off = LagMonitor(KafkaSettings(), GatewaySettings(max_consumer_lag=0))
    off.lag = 10**9
    assert not off.over


class FailingProducer:
    """Stands in for an AIOKafkaProducer stuck in a state it never leaves (every send fails)."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        self.client = SimpleNamespace(cluster=SimpleNamespace(available_partitions_for_topic=lambda t: {0}))
        self.stopped = False

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self):
        from aiokafka.producer.message_accumulator import BatchBuilder

        return BatchBuilder(16384, 0)

    async def send_batch(self, *args, **kwargs):
        raise KafkaConnectionError("broker gone")

    async def stop(self) -> None:
        self.stopped = True


async def test_a_producer_that_keeps_failing_is_replaced() -> None:
    import pytest

    from gateway.produce import EventProducer, KafkaUnavailable
    from logharbor.envelope import Envelope

    p = EventProducer(KafkaSettings(bootstrap="127.0.0.1:1"), GatewaySettings(produce_timeout_s=1))
    stuck = FailingProducer()
    p._producer = stuck  # type: ignore[assignment]
    env = Envelope(id="x" * 26, tenant="t", source="s", received_at="2026-01-01T00:00:00Z", message="m")
    try:
        for attempt in range(3):
            with pytest.raises(KafkaUnavailable, match="broker gone"):
                await p.send_all([env], b"s")
            assert p.ready is (attempt < 2)
        assert p._connect_task is not None  # reconnecting in the background, 503 meanwhile
        with pytest.raises(KafkaUnavailable, match="not reachable"):
            await p.send_all([env], b"s")
    finally:
        await p.stop()
    assert stuck.stopped


class BatchingProducer:
    """Real aiokafka BatchBuilders and a hand-driven sender: ``drain()`` builds and acks (or fails) what
    was submitted, as aiokafka's sender does when it takes a batch."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        self.client = SimpleNamespace(cluster=SimpleNamespace(available_partitions_for_topic=lambda t: {0}))
        self.queued: list[tuple[object, object]] = []
        self.written: list[list[bytes]] = []  # one list of record values per acknowledged Kafka batch

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self):
        from aiokafka.producer.message_accumulator import BatchBuilder

        return BatchBuilder(1024, 0)

    async def send_batch(self, builder, topic, *, partition):
        import asyncio

        fut = asyncio.get_running_loop().create_future()
        self.queued.append((builder, fut))
        return fut

    def drain(self, fail: Exception | None = None) -> None:
        from aiokafka.record.default_records import DefaultRecordBatch

        queued, self.queued = self.queued, []
        for builder, fut in queued:
            values = [r.value for r in DefaultRecordBatch(bytes(builder._build()))]
            if fail is None:
                self.written.append(values)
                fut.set_result(None)
            else:
                fut.set_exception(fail)

    async def stop(self) -> None:
        pass


def _producer(fake: BatchingProducer):
    from gateway.produce import EventProducer

    p = EventProducer(KafkaSettings(bootstrap="127.0.0.1:1"), GatewaySettings(produce_timeout_s=2))
    p._producer = fake  # type: ignore[assignment]
    return p


def _envs(n: int, tag: str, size: int = 10):
    from logharbor.envelope import Envelope

    return [Envelope(id=f"{tag}{i:025d}", tenant="t", source="s", received_at="2026-01-01T00:00:00Z",
                     message=f"{tag}{i} " + "x" * size) for i in range(n)]


async def _until_queued(fake: BatchingProducer, n: int) -> None:
    import asyncio

    for _ in range(100):
        if len(fake.queued) >= n:
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{len(fake.queued)} batches submitted, expected {n}")


async def test_concurrent_requests_share_the_open_kafka_batch_and_one_ack() -> None:
    import asyncio

    fake = BatchingProducer()
    p = _producer(fake)
    a, b = _envs(3, "a"), _envs(2, "b")
    ta = asyncio.create_task(p.send_all(a, b"s"))
    tb = asyncio.create_task(p.send_all(b, b"s"))
    await _until_queued(fake, 1)
    await asyncio.sleep(0)
    assert not ta.done() and not tb.done()  # 202 only after Kafka acknowledged
    fake.drain()
    await asyncio.gather(ta, tb)
    assert fake.written == [[e.to_bytes() for e in a + b]]  # one batch, in order, the envelopes' bytes
    c = _envs(1, "c")
    tc = asyncio.create_task(p.send_all(c, b"s"))  # the drained batch takes no more: a new one
    await _until_queued(fake, 1)
    fake.drain()
    await tc
    assert fake.written[1] == [c[0].to_bytes()]


async def test_a_batch_spilling_over_counts_what_kafka_acknowledged() -> None:
    import asyncio

    import pytest

    from gateway.produce import KafkaUnavailable

    fake = BatchingProducer()
    p = _producer(fake)
    envs = _envs(12, "a", size=200)  # ~300 B records, 1024 B batches: several Kafka batches
    task = asyncio.create_task(p.send_all(envs, b"s"))
    await _until_queued(fake, 2)
    first, rest = fake.queued[0], fake.queued[1:]
    fake.queued = [first]
    fake.drain()
    fake.queued = rest
    fake.drain(fail=KafkaConnectionError("broker gone"))
    with pytest.raises(KafkaUnavailable, match="broker gone") as caught:
        await task
    assert 0 < caught.value.written == len(fake.written[0]) < len(envs)



async def test_a_batch_takes_no_records_once_aiokafkas_sender_drained_it() -> None:
    """The coupling to aiokafka internals the lanes rely on, checked against aiokafka itself: the
    idempotent producer fixes a batch's sequence range at the drain, so a record appended after
    it would make the broker answer OutOfOrderSequenceNumber."""
    from aiokafka import AIOKafkaProducer

    from gateway.produce import _SealedOnDrain

    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", enable_idempotence=True, acks="all")
    try:
        producer._txn_manager.set_pid_and_epoch(7, 0)
        acc, tp = producer._message_accumulator, TopicPartition(T, 0)
        builder = producer.create_batch()
        builder.__class__ = _SealedOnDrain
        for i in range(3):
            assert builder.append(timestamp=None, key=b"k", value=b"v%d" % i) is not None
        await acc.add_batch(builder, tp, 1.0)
        assert builder.append(timestamp=None, key=b"k", value=b"queued, not drained") is not None
        acc._pop_batch(tp)  # what the sender's drain_by_nodes does
        assert builder.append(timestamp=None, key=b"k", value=b"too late") is None
        assert builder.append_from(b"k", [b"too late"], 0) == 0
        assert producer._txn_manager.sequence_number(tp) == builder.record_count() == 4
    finally:
        await producer.stop()


def test_append_from_fills_a_batch_as_append_does() -> None:
    """The lanes' bulk append (the C builder called directly) takes the records ``append`` would, in
    order, and closes a full batch the same way."""
    from aiokafka.producer.message_accumulator import BatchBuilder
    from aiokafka.record.default_records import DefaultRecordBatch

    from gateway.produce import _SealedOnDrain

    values = [b"value %d " % i * (i % 7 + 1) for i in range(200)]
    one, bulk = BatchBuilder(2048, 0), BatchBuilder(2048, 0)
    bulk.__class__ = _SealedOnDrain
    taken = 0
    while taken < len(values) and one.append(timestamp=None, key=b"k", value=values[taken]) is not None:
        taken += 1
    assert 0 < taken < len(values) and one.closed()
    assert bulk.append_from(b"k", values, 0) == taken and bulk.closed()
    assert bulk.append_from(b"k", values, taken) == taken  # closed: takes nothing more
    assert bulk.record_count() == one.record_count() == taken

    def records(builder: BatchBuilder) -> list[tuple[int, bytes | None, bytes | None]]:
        return [(r.offset, r.key, r.value) for r in DefaultRecordBatch(bytes(builder._build()))]

    assert records(bulk) == records(one) == [(i, b"k", v) for i, v in enumerate(values[:taken])]
