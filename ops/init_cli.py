"""``logharbor init``: everything a fresh cluster needs before the first event (idempotent).

Creates the Kafka topics and applies index templates and lifecycle policies. ``logharbor run``
and the docker-compose ``init`` service both call it; running it again changes nothing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TypeVar

from logharbor.config import KafkaSettings, StorageSettings
from opensearch import lifecycle
from opensearch.bootstrap import bootstrap
from opensearch.client import sync_client
from ops.devstack.kafka_broker import ensure_topics

T = TypeVar("T")


def _wait_for(what: str, fix: str, attempt: Callable[[], T], deadline: float) -> T:
    """Retry ``attempt`` until it succeeds (compose starts the servers together) or time is up."""
    while True:
        try:
            return attempt()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"logharbor init: {what} is unreachable ({type(exc).__name__}); {fix}") from exc
            time.sleep(2)


def initialise(log=print, wait_s: float = 120.0) -> None:
    """Wait for both servers, then create topics and apply templates and policies."""
    kafka = KafkaSettings()
    deadline = time.monotonic() + wait_s
    created = _wait_for(f"Kafka at {kafka.bootstrap}",
                        "start it (`logharbor devstack up`) or set LOGHARBOR_KAFKA_BOOTSTRAP",
                        lambda: ensure_topics(kafka.bootstrap, kafka), deadline)
    log(f"kafka topics: {', '.join(created) + ' created' if created else 'present'}")
    client = sync_client()
    _wait_for("OpenSearch", "start it (`logharbor devstack up`) or set LOGHARBOR_OPENSEARCH_URL",
              lambda: client.transport.perform_request("GET", "/_cluster/health", params={"wait_for_status": "yellow"}),
              deadline)
    storage = StorageSettings()
    changes = bootstrap(client, storage)
    changed = [str(c) for c in changes if c.outcome != "unchanged"]
    driver = "ISM" if lifecycle.use_ism(client, storage) else "LogHarbor lifecycle runner"
    log(f"index templates and policies ({driver}): {len(changed)} changed, {len(changes) - len(changed)} unchanged")
    for line in changed:
        log(f"  {line}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="create Kafka topics and apply index templates/policies (idempotent)")
    p.set_defaults(handler=lambda args: initialise() or 0)
