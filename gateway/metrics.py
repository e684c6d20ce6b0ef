"""Prometheus metrics for the gateway, in a registry per app (tests can run several apps).

Each worker process exposes its own numbers on ``/metrics``; with ``--workers N`` a scrape
reaches whichever worker the kernel picks, so scrape each worker's ``metrics_port`` offset or
sum over instances (docs/GATEWAY.md).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_SIZE_BUCKETS = (256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 104857600)


class GatewayMetrics:
    """Every gateway metric in one place; names start with ``logharbor_gateway_``."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = self.registry = registry or CollectorRegistry()
        p = "logharbor_gateway_"
        self.requests = Counter(
            p + "requests_total", "HTTP requests by route and status", ["route", "status"], registry=r
        )
        self.events_accepted = Counter(p + "events_accepted_total", "Events acknowledged by Kafka", registry=r)
        self.events_rejected = Counter(p + "events_rejected_total", "Entries rejected by validation", registry=r)
        self.auth_failures = Counter(
            p + "auth_failures_total", "Failed authentications by outcome", ["outcome"], registry=r
        )
        self.rate_limited = Counter(p + "rate_limited_total", "Requests refused by a limit", ["limit"], registry=r)
        self.bytes_in = Histogram(
            p + "payload_bytes_received",
            "Request body bytes as sent (compressed)",
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.bytes_decoded = Histogram(
            p + "payload_bytes_decompressed",
            "Request body bytes after decoding",
            buckets=_SIZE_BUCKETS,
            registry=r,
        )
        self.produce_latency = Histogram(
            p + "kafka_produce_seconds",
            "Time from first send to last Kafka ack",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.produce_errors = Counter(p + "kafka_produce_errors_total", "Batches that Kafka did not ack", registry=r)
        self.partial_writes = Counter(
            p + "kafka_partial_writes_total", "Batches Kafka acknowledged only in part (answered 503)", registry=r
        )
        self.in_flight = Gauge(p + "requests_in_flight", "Ingest requests being handled", registry=r)
        self.response_time = Histogram(
            p + "response_seconds",
            "Request handling time by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            p + "pipeline_consumer_lag",
            "Pipeline consumer-group lag on the raw topic (-1 unknown)",
            registry=r,
        )
        self.kafka_up = Gauge(p + "kafka_up", "1 when the producer can reach Kafka", registry=r)
        self.audit_dropped = Gauge(p + "audit_dropped", "Audit records dropped (buffer full)", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
