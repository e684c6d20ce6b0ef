"""LogHarbor's Kafka topics: their names (from ``KafkaSettings``) and the one way they are created.

Why one function: topic creation existed in five copies with two replication rules (1, or
min(3, brokers)). :func:`ensure_topics` is used by the gateway, the pipeline, the devstack,
the benchmarks and the tests: missing topics are created with replication ``min(3, brokers)``
(a single broker gets 1, a cluster gets 3, as DESIGN's reliability invariants want), existing
ones are left alone, and a concurrent creator (gateway and pipeline starting together) is not
an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from logharbor.config import KafkaSettings

log = logging.getLogger(__name__)

MAX_REPLICATION = 3


def logharbor_topics(kafka: KafkaSettings) -> dict[str, int]:
    """Topic name → partitions for the raw, processed and dead-letter topics."""
    return {
        kafka.raw_topic: kafka.raw_partitions,
        kafka.processed_topic: kafka.processed_partitions,
        kafka.dlq_topic: kafka.dlq_partitions,
    }


async def ensure_topics(
    bootstrap: str,
    wanted: Mapping[str, int],
    *,
    replication: int | None = None,
    configs: Mapping[str, str] | None = None,
    client_id: str = "logharbor",
    timeout_ms: int = 15_000,
) -> list[str]:
    """Create the topics of ``wanted`` (name → partitions) that do not exist; the names created."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, request_timeout_ms=timeout_ms)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = {name: n for name, n in wanted.items() if name not in existing}
        if not missing:
            return []
        if replication is None:
            brokers = (await admin.describe_cluster()).get("brokers") or [None]
            replication = max(1, min(MAX_REPLICATION, len(brokers)))
        new = [NewTopic(name, num_partitions=n, replication_factor=replication, topic_configs=dict(configs or {}))
               for name, n in missing.items()]
        created: list[str] = []
        for topic in new:  # one by one: a topic another process just created must not fail the rest
            try:
                resp = await admin.create_topics([topic])
            except TopicAlreadyExistsError:
                continue
            # aiokafka reports per-topic outcomes in the response rather than raising: a topic
            # the (stale) metadata did not list yet answers TOPIC_ALREADY_EXISTS here.
            for entry in getattr(resp, "topic_errors", ()):
                name, code = entry[0], entry[1]
                if code == 0:
                    created.append(name)
                elif code != TopicAlreadyExistsError.errno:
                    message = entry[2] if len(entry) > 2 else ""
                    raise for_code(code)(f"kafka: could not create topic {name}: {message}")
        if created:
            log.info("kafka: created topics %s (replication %d)", created, replication)
        return created
    finally:
        await admin.close()


def ensure_topics_sync(bootstrap: str, wanted: Mapping[str, int], **kwargs: object) -> list[str]:
    """:func:`ensure_topics` from synchronous code (CLI, tests), in a private event loop."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(ensure_topics(bootstrap, wanted, **kwargs))  # type: ignore[arg-type]
    finally:
        loop.close()
