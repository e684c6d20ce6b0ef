"""Shared helpers for the query API integration tests (no tests here).

A realistic corpus indexed straight into ``logs-<tenant>-<class>`` data streams (the lead's
index templates via ``opensearch.bootstrap``), real API keys in the key store, and an
in-process ui app served on a real socket.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from opensearchpy import OpenSearch, helpers

from logharbor import ecs

SERVICES = ("api", "web", "worker", "billing", "auth")
HOSTS = ("node-1", "node-2", "node-3")
LEVEL_WEIGHTS = (("DEBUG", 10), ("INFO", 70), ("WARN", 12), ("ERROR", 7), ("FATAL", 1))
PATHS = ("/api/orders", "/api/users", "/login", "/checkout", "/health")
MESSAGES = {
    "DEBUG": "cache lookup key={key} hit={hit}",
    "INFO": "{method} {path} {status} in {ms}ms",
    "WARN": "slow query on table {table} took {ms}ms",
    "ERROR": "payment declined for order {order}: card expired",
    "FATAL": "database connection pool exhausted after {ms}ms",
}


def new_tenant() -> str:
    return "t" + uuid.uuid4().hex[:10]


def class_of(level: str) -> str:
    """Retention class the pipeline would route a level to."""
    return {"ERROR": "errors", "FATAL": "errors", "DEBUG": "debug"}.get(level, "standard")


def make_doc(rng: random.Random, tenant: str, ts: datetime, i: int, level: str | None = None) -> dict[str, Any]:
    levels, weights = zip(*LEVEL_WEIGHTS, strict=True)
    level = level or rng.choices(levels, weights)[0]
    service, host = rng.choice(SERVICES), rng.choice(HOSTS)
    ms = rng.randint(1, 3000)
    status = rng.choice((200, 200, 200, 201, 304, 404, 500))
    message = MESSAGES[level].format(key=f"k{i % 50}", hit=i % 2 == 0, method=rng.choice(("GET", "POST")),
                                     path=rng.choice(PATHS), status=status, ms=ms, table="orders",
                                     order=f"o-{i}")
    eid = f"{tenant}-{i:07d}"
    return {
        "@timestamp": iso(ts),
        "message": message,
        "log": {"level": level},
        "service": {"name": service},
        "host": {"name": host},
        "event": {"id": eid, "duration": ms * 1_000_000},
        "http": {"response": {"status_code": status}, "request": {"id": f"req-{i // 3}"}},
        "trace": {"id": f"trace-{i // 5}"},
        "user": {"id": f"user-{i % 17}"},
        "client": {"ip": f"10.0.{i % 200}.{i % 250 + 1}"},
        "labels": {"tenant": tenant, "env": "prod" if i % 4 else "staging"},
    }


def corpus(tenant: str, n: int, now: datetime, span: timedelta = timedelta(hours=48),
           seed: int = 7) -> Iterator[dict[str, Any]]:
    """``n`` events spread evenly over ``span`` before ``now`` (newest last)."""
    rng = random.Random(seed)
    step = span / max(n, 1)
    for i in range(n):
        yield make_doc(rng, tenant, now - span + step * (i + 1), i)


def index_docs(client: OpenSearch, tenant: str, docs: Iterator[dict[str, Any]] | list[dict[str, Any]],
               chunk_size: int = 5000) -> int:
    """Bulk-create into the class data streams with ``_id = event.id``, then refresh."""
    def actions() -> Iterator[dict[str, Any]]:
        for doc in docs:
            yield {"_op_type": "create", "_index": ecs_stream(tenant, doc), "_id": doc["event"]["id"],
                   "_source": doc}

    ok, errors = helpers.bulk(client, actions(), chunk_size=chunk_size, request_timeout=120,
                              raise_on_error=True, stats_only=True)
    client.indices.refresh(index=f"logs-{tenant}-*")
    assert not errors
    return ok


def ecs_stream(tenant: str, doc: dict[str, Any]) -> str:
    return ecs.data_stream_name(tenant, class_of(doc["log"]["level"]))


def ensure_templates(client: OpenSearch) -> None:
    """Apply the lead's index templates (idempotent)."""
    from opensearch.bootstrap import bootstrap

    bootstrap(client)


def delete_tenant(client: OpenSearch, tenant: str) -> None:
    client.indices.delete_data_stream(name=f"logs-{tenant}-*", ignore=[404])


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(t: datetime) -> str:
    """The corpus's timestamp format (UTC, ``Z``), so string comparison orders by time."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
