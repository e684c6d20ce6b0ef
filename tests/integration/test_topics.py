"""logharbor.topics.ensure_topics: the one way LogHarbor creates its Kafka topics (issue 11 item 6)."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import pytest

from logharbor.config import KafkaSettings
from logharbor.topics import ensure_topics_sync, logharbor_topics

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_creates_missing_topics_once_with_the_replication_rule(kafka_bootstrap: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    from gateway.testing import run_async

    suffix = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(raw_topic=f"lh-t-raw-{suffix}", processed_topic=f"lh-t-proc-{suffix}",
                          dlq_topic=f"lh-t-dlq-{suffix}", raw_partitions=3)
    wanted = logharbor_topics(kafka)
    assert sorted(ensure_topics_sync(kafka_bootstrap, wanted)) == sorted(wanted)
    assert ensure_topics_sync(kafka_bootstrap, wanted) == []  # idempotent

    async def describe() -> tuple[dict[str, int], int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            brokers = len((await admin.describe_cluster())["brokers"])
            topics = await admin.describe_topics(list(wanted))
            await admin.delete_topics(list(wanted))
            return {t["topic"]: len(t["partitions"]) for t in topics}, brokers
        finally:
            await admin.close()

    parts, brokers = run_async(describe())
    assert parts == wanted and brokers >= 1


def test_no_other_module_creates_topics() -> None:
    """Every caller goes through logharbor.topics (the gateway, pipeline, devstack, bench, ops)."""
    offenders = []
    for folder in ("gateway", "pipeline", "ops", "ui", "shipper", "opensearch", "logharbor"):
        for path in (REPO / folder).rglob("*.py"):
            if path == REPO / "logharbor/topics.py":
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr == "create_topics":
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, offenders
