"""Pure parts of produce.py: the lag arithmetic behind backpressure."""

from __future__ import annotations

from aiokafka import TopicPartition

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

    async def send(self, *args, **kwargs):
        from aiokafka.errors import KafkaConnectionError

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
