"""Status probes: lag arithmetic and failure reporting without servers."""

from __future__ import annotations

from aiokafka import TopicPartition

from ui.status import consumer_lag, probe_gateway


def test_consumer_lag_counts_uncommitted_partitions_whole():
    tp0, tp1, tp2 = (TopicPartition("logharbor.raw", i) for i in range(3))
    lag = consumer_lag({tp0: 90, tp1: 10}, {tp0: 100, tp1: 10, tp2: 7})
    assert lag == {"total": 17, "partitions": {"logharbor.raw[0]": 10, "logharbor.raw[1]": 0,
                                                "logharbor.raw[2]": 7}}


async def test_unreachable_gateway_is_reported_not_raised():
    result = await probe_gateway("http://127.0.0.1:9/health", 1.0)
    assert result["ok"] is False and result["url"] == "http://127.0.0.1:9/health" and result["error"]
