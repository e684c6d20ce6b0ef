"""Pure parts of produce.py: the lag arithmetic behind backpressure."""

from __future__ import annotations

from aiokafka import TopicPartition

from gateway.produce import LagMonitor, total_lag
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
